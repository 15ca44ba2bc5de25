package resnet

import (
	"fmt"
	"testing"

	"github.com/goresnet/goresnet/model/kernels"
)

// TestTrainingStepAllocatesNothing: once the workspace is planned, a
// forward, loss and backward pass allocate no memory (the benchmark shows
// the same as allocs/op).
func TestTrainingStepAllocatesNothing(t *testing.T) {
	for _, head := range []Head{HeadStandard, HeadNotebook} {
		n := smallNet(t, "resnet50", head, 5, 64)
		n.Config.Dropout = 0.5
		ws, err := n.NewWorkspace(2, 64, 64)
		if err != nil {
			t.Fatal(err)
		}
		x := randInput(1, ws.InputSize())
		labels := []int{1, 4}
		step := func() {
			if _, err := ws.Forward(x, true); err != nil {
				t.Fatal(err)
			}
			if _, err := ws.Loss(labels, 0.1); err != nil {
				t.Fatal(err)
			}
			if err := ws.Backward(); err != nil {
				t.Fatal(err)
			}
		}
		step()
		if a := testing.AllocsPerRun(3, step); a != 0 {
			t.Errorf("%s head: a training step allocates %v times", head, a)
		}
	}
}

// BenchmarkResNet50 measures full-size ResNet-50 at 224x224: forward
// (eval mode) and a training step (forward, loss, backward), at batch 1 and
// 8. It reports ms/img, GFLOP/s (a training step counted as 3x the forward
// FLOPs, the usual convention), activation memory per image and allocs/op.
func BenchmarkResNet50(b *testing.B) {
	cfg := DefaultConfig()
	net, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"forward", "train"} {
		for _, batch := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/224/b%d", mode, batch), func(b *testing.B) {
				benchStep(b, net, mode == "train", batch)
			})
		}
	}
}

// BenchmarkResNet50Threads is BenchmarkResNet50 at 1 and 2 GEMM threads,
// forward at batch 1 and 8, training at batch 1, 4 and 8 (the comparison
// points with PyTorch: make bench runs b1 and b8, make bench-kernels the
// forward at b1 and training at b1 and b4).
func BenchmarkResNet50Threads(b *testing.B) {
	net, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	for _, threads := range []int{1, 2} {
		for _, c := range []struct {
			mode  string
			batch int
		}{{"forward", 1}, {"forward", 8}, {"train", 1}, {"train", 4}, {"train", 8}} {
			b.Run(fmt.Sprintf("t%d/%s/224/b%d", threads, c.mode, c.batch), func(b *testing.B) {
				prev := kernels.SetThreads(threads)
				defer kernels.SetThreads(prev)
				benchStep(b, net, c.mode == "train", c.batch)
			})
		}
	}
}

// benchStep times forward (eval mode) or a training step (forward, loss,
// backward) at 224x224 and reports ms/img, GFLOP/s (a training step counted
// as 3x the forward FLOPs, the usual convention), activation memory per
// image and allocs/op.
func benchStep(b *testing.B, net *Net, train bool, batch int) {
	ws, err := net.NewWorkspace(batch, 224, 224)
	if err != nil {
		b.Fatal(err)
	}
	x := randInput(1, ws.InputSize())
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = i * 7 % net.Config.Classes
	}
	step := func() {
		if _, err := ws.Forward(x, train); err != nil {
			b.Fatal(err)
		}
		if train {
			if _, err := ws.Loss(labels, 0); err != nil {
				b.Fatal(err)
			}
			if err := ws.Backward(); err != nil {
				b.Fatal(err)
			}
		}
	}
	step() // warm up (and fault in the workspace)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.StopTimer()
	flops := float64(ws.ForwardFLOPs())
	if train {
		flops *= 3
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec*1e3/float64(batch), "ms/img")
	b.ReportMetric(flops/sec/1e9, "GFLOP/s")
	b.ReportMetric(float64(ws.ActivationBytesPerImage())/(1<<20), "act-MiB/img")
}
