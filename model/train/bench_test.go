package train

import (
	"context"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/kernels"
	"github.com/goresnet/goresnet/model/optim"
	"github.com/goresnet/goresnet/model/resnet"
)

// synthetic yields n batches of random 224x224 images.
type synthetic struct {
	b    *data.Batch
	left int
}

func (s *synthetic) Next() (*data.Batch, error) {
	if s.left == 0 {
		return nil, io.EOF
	}
	s.left--
	return s.b, nil
}

// BenchmarkTrainThroughput measures training images/s of ResNet-50 at 224,
// batch 8, with the GEMM on 2 threads, for the fine-tuning choices of the
// train command: every layer (--full), conv1..layer3 frozen, the head only
// (the backbone still runs forward every batch), and the head only on
// cached features: an epoch over 12,000 images (Stanford Dogs' training
// split, 120 classes), which must take under 2 seconds.
func BenchmarkTrainThroughput(b *testing.B) {
	prev := kernels.SetThreads(2)
	defer kernels.SetThreads(prev)
	const batch, classes = 8, 120
	newTrainer := func(b *testing.B, freeze []string) *Trainer {
		net, err := resnet.New(resnet.Config{Arch: "resnet50", Classes: classes, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		if err := net.SetTrainable(freeze); err != nil {
			b.Fatal(err)
		}
		opt, _ := optim.New(optim.Config{Kind: "sgd", Momentum: 0.9}, net)
		tr, err := NewTrainer(net, opt, Config{Epochs: 1, Schedule: Schedule{BaseLR: 1e-3}, Monitor: "loss"}, 224, 224)
		if err != nil {
			b.Fatal(err)
		}
		return tr
	}
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, batch*3*224*224)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = i % classes
	}
	for _, c := range []struct {
		name   string
		freeze []string
	}{
		{"full", nil},
		{"freeze-layer1..3", []string{"conv1", "layer1", "layer2", "layer3"}},
		{"head-only", []string{"conv1", "layer1", "layer2", "layer3", "layer4"}},
	} {
		b.Run(c.name+"/224/b8", func(b *testing.B) {
			tr := newTrainer(b, c.freeze)
			tr.TrainBatch(&data.Batch{X: x, Labels: labels, N: batch}) // warm up
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := tr.TrainBatch(&data.Batch{X: x, Labels: labels, N: batch}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
	b.Run("head-only-cached/epoch-of-12000", func(b *testing.B) {
		tr := newTrainer(b, []string{"conv1", "layer1", "layer2", "layer3", "layer4"})
		if err := tr.EnableFeatureCache(); err != nil {
			b.Fatal(err)
		}
		const n = 12000
		order := make([]int, n)
		for i := range order {
			f := make([]float32, 2048)
			for j := range f {
				f[j] = r.Float32()
			}
			tr.cache[i], tr.cacheLbl[i] = f, i%classes
			order[i] = i
		}
		r.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := tr.RunCachedEpoch(context.Background(), order, batch); err != nil {
				b.Fatal(err)
			}
		}
		sec := b.Elapsed().Seconds() / float64(b.N)
		b.ReportMetric(sec, "s/epoch")
		b.ReportMetric(n/sec, "img/s")
	})
}
