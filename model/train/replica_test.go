package train

import (
	"context"
	"errors"
	"fmt"
	"github.com/goresnet/goresnet/model/runspec"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/datatest"
	"github.com/goresnet/goresnet/model/optim"
	"github.com/goresnet/goresnet/model/resnet"
)

// localGroup is an in-process all-reduce for replicas running as
// goroutines: the last to arrive sums everyone's buffers in rank order,
// and everyone copies the sum back.
type localGroup struct {
	k       int
	mu      sync.Mutex
	cond    *sync.Cond
	gen     int
	arrived int
	bufs    [][][]float32 // per rank, its buffers of this round
	sum     [][]float32
	calls   int
}

func newLocalGroup(k int) *localGroup {
	g := &localGroup{k: k, bufs: make([][][]float32, k)}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *localGroup) replica(rank, capacity int) *Replica {
	return &Replica{Rank: rank, Size: g.k, Capacity: capacity, AllReduce: func(bufs ...[]float32) error {
		g.mu.Lock()
		defer g.mu.Unlock()
		gen := g.gen
		g.bufs[rank] = bufs
		g.arrived++
		if g.arrived == g.k {
			g.sum = make([][]float32, len(bufs))
			for i := range bufs {
				s := make([]float32, len(bufs[i]))
				for r := 0; r < g.k; r++ {
					if len(g.bufs[r][i]) != len(s) {
						panic(fmt.Sprintf("rank %d buffer %d: %d floats, rank 0 has %d", r, i, len(g.bufs[r][i]), len(s)))
					}
					for j, v := range g.bufs[r][i] {
						s[j] += v
					}
				}
				g.sum[i] = s
			}
			g.arrived = 0
			g.gen++
			g.calls++
			g.cond.Broadcast()
		}
		for g.gen == gen {
			g.cond.Wait()
		}
		for i := range bufs {
			copy(bufs[i], g.sum[i])
		}
		return nil
	}}
}

// replicaRun builds a run of the digits as a data-parallel replica (rank
// of parts; parts 1 is a plain trainer).
func replicaRun(t *testing.T, dir string, cfg Config, rank, parts, batch int, freezeBN bool, headOnly bool) (*Trainer, FitHooks) {
	t.Helper()
	ds, err := data.OpenPath(context.Background(), dir, data.NewMemoryCache(1<<30))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := data.NewLoader(ds, data.LoaderConfig{Split: "train", BatchSize: batch, Shuffle: true, Seed: 3, DropRemainder: true, Part: rank, Parts: parts})
	if err != nil {
		t.Fatal(err)
	}
	te, err := data.NewLoader(ds, data.LoaderConfig{Split: "test", BatchSize: batch, Part: rank, Parts: parts})
	if err != nil {
		t.Fatal(err)
	}
	net, err := resnet.New(resnet.Config{Arch: "resnet18", Classes: 10, WidthDiv: 8, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if headOnly {
		if err := net.FreezeBelow("fc"); err != nil {
			t.Fatal(err)
		}
	}
	if freezeBN {
		for _, p := range net.Params() {
			if strings.Contains(p.Name, "bn") || strings.Contains(p.Name, "downsample.1") {
				p.Trainable = false
			}
		}
	}
	opt, err := optim.New(optim.Config{Kind: "sgd", Momentum: 0.9, WeightDecay: 1e-4}, net)
	if err != nil {
		t.Fatal(err)
	}
	trn, err := NewTrainer(net, opt, cfg, 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	if headOnly {
		if err := trn.EnableFeatureCache(); err != nil {
			t.Fatal(err)
		}
	}
	h := FitHooks{
		Train: func(ctx context.Context, epoch int) (Iterator, int, error) {
			return tr.Epoch(ctx, epoch), tr.Batches(), nil
		},
		Val:       func(ctx context.Context) (Iterator, error) { return te.Epoch(ctx, 0), nil },
		Examples:  tr.Len(),
		BatchSize: batch,
	}
	if headOnly {
		h.Order = tr.EpochIndex
	}
	return trn, h
}

// fitReplicas trains parts replicas together and returns their trainers.
func fitReplicas(t *testing.T, dir string, cfg Config, parts, batch, capacity int, freezeBN, headOnly bool) []*Trainer {
	t.Helper()
	g := newLocalGroup(parts)
	trainers := make([]*Trainer, parts)
	hooks := make([]FitHooks, parts)
	for r := range parts {
		trainers[r], hooks[r] = replicaRun(t, dir, cfg, r, parts, batch, freezeBN, headOnly)
		if parts > 1 {
			trainers[r].Replica = g.replica(r, capacity)
		}
	}
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for r := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[r] = trainers[r].Fit(context.Background(), hooks[r])
		}()
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", r, err)
		}
	}
	return trainers
}

// relDiff is max |a-b| over max |a|.
func relDiff(a, b []float32) float64 {
	var d, m float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		m = math.Max(m, math.Abs(float64(a[i])))
	}
	return d / m
}

// TestReplicasMatchOneTrainer: with batch norms frozen, K replicas that
// each train on their part of every batch and sum gradients take the
// same steps as one trainer on whole batches (within 1e-5 relative), the
// replicas stay bit-identical, and the history (losses, accuracies,
// validation) is the same.
func TestReplicasMatchOneTrainer(t *testing.T) {
	dir := datatest.Digits(t, 96, 40, 32)
	cfg := Config{Epochs: 2, Accumulate: 2, Schedule: Schedule{Kind: "cosine", BaseLR: 0.05, Warmup: 2, Total: 12}, Monitor: "val_loss"}
	one := fitReplicas(t, dir, cfg, 1, 16, 0, true, false)[0]
	for _, k := range []int{2, 3} {
		reps := fitReplicas(t, dir, cfg, k, 16, 0, true, false)
		for r := 1; r < k; r++ {
			if !sameBits(reps[0].Net.ParamData, reps[r].Net.ParamData) || !sameBits(reps[0].Net.BufferData, reps[r].Net.BufferData) {
				t.Errorf("K=%d: replica %d differs from replica 0", k, r)
			}
		}
		d := relDiff(one.Net.ParamData, reps[0].Net.ParamData)
		t.Logf("K=%d: weights differ from one trainer's by %.2g relative (max |diff| / max |w|)", k, d)
		if d > 1e-5 {
			t.Errorf("K=%d: weights differ from one trainer's by %.3g relative, want <= 1e-5", k, d)
		}
		if one.Step != reps[0].Step || one.Step != 6 {
			t.Errorf("K=%d: %d steps, one trainer %d (want 6)", k, reps[0].Step, one.Step)
		}
		h1, hk := one.History.Epochs, reps[0].History.Epochs
		for e := range h1 {
			a, b := h1[e], hk[e]
			if math.Abs(a.Loss-b.Loss) > 1e-5*a.Loss || a.Accuracy != b.Accuracy || a.Images != b.Images ||
				math.Abs(a.ValLoss-b.ValLoss) > 1e-5*a.ValLoss || a.ValAccuracy != b.ValAccuracy || a.ValTop5 != b.ValTop5 {
				t.Errorf("K=%d epoch %d: history %+v, one trainer %+v", k, e+1, b, a)
			}
		}
	}
}

// TestReplicasWithBatchNormLearning: batch norms in training mode use
// each replica's own statistics (the update differs from one trainer's),
// the averaged running statistics keep the replicas identical, and the
// loss falls.
func TestReplicasWithBatchNormLearning(t *testing.T) {
	dir := datatest.Digits(t, 128, 32, 32)
	cfg := Config{Epochs: 3, Schedule: Schedule{BaseLR: 0.05}, Monitor: "loss"}
	reps := fitReplicas(t, dir, cfg, 2, 16, 0, false, false)
	if !sameBits(reps[0].Net.ParamData, reps[1].Net.ParamData) || !sameBits(reps[0].Net.BufferData, reps[1].Net.BufferData) {
		t.Error("the replicas differ")
	}
	h := reps[0].History.Epochs
	if !(h[2].Loss < h[0].Loss) {
		t.Errorf("the loss did not fall: %+v", h)
	}
}

// TestReplicasShareCachedFeatures: head-only training with the feature
// cache on 2 replicas (which exchange the features each computed, in
// chunks smaller than the table) gives one trainer's weights.
func TestReplicasShareCachedFeatures(t *testing.T) {
	dir := datatest.Digits(t, 100, 20, 32) // 6 batches of 16, 4 examples dropped each epoch
	cfg := Config{Epochs: 3, Schedule: Schedule{BaseLR: 0.05}, Monitor: "loss"}
	one := fitReplicas(t, dir, cfg, 1, 16, 0, false, true)[0]
	reps := fitReplicas(t, dir, cfg, 2, 16, 1000, false, true)
	if !sameBits(reps[0].Net.ParamData, reps[1].Net.ParamData) {
		t.Error("the replicas differ")
	}
	if d := relDiff(one.Net.ParamData, reps[0].Net.ParamData); d > 1e-5 {
		t.Errorf("weights differ from one trainer's by %.3g relative", d)
	}
	if len(reps[0].cache) != len(one.cache) {
		t.Errorf("replica 0 caches %d examples, one trainer %d", len(reps[0].cache), len(one.cache))
	}
}

// TestMemoryEstimate: the estimate counts the parts, grows with the batch
// and refuses a batch that does not fit with the largest that does.
func TestMemoryEstimate(t *testing.T) {
	net, err := resnet.New(resnet.Config{Arch: "resnet50", Classes: 120, InputSize: 224})
	if err != nil {
		t.Fatal(err)
	}
	s := DefaultTestSettings()
	s.Batch = 8
	in := MemoryInput{Settings: s, Size: 224, Parts: 1, TrainBytes: 600 << 20, ShardBytes: 48 << 20}
	m, err := EstimateMemory(net, in)
	if err != nil {
		t.Fatal(err)
	}
	ws, _ := net.WorkspaceBytes(8, 224, 224)
	if m.Workspace != ws || m.Params < 90<<20 || m.Optimizer != m.Grads || m.Total < m.Params+m.Grads+m.Optimizer+ws {
		t.Errorf("estimate %+v (workspace %d)", m, ws)
	}
	t.Logf("ResNet-50 224 b8 on one worker: %s (%.0f MiB per image)", mib(m.Total), float64(m.PerImage)/(1<<20))
	if _, err := CheckMemory(net, in, WasmBudget); err != nil {
		t.Errorf("b8 does not fit: %v", err)
	}
	in.Settings.Batch = 64
	_, err = CheckMemory(net, in, WasmBudget)
	var big *BatchTooLargeError
	if !asBatchTooLarge(err, &big) || big.Largest < 8 || big.Largest >= 64 {
		t.Fatalf("b64: %v", err)
	}
	in.Settings.Batch = big.Largest
	if _, err := CheckMemory(net, in, WasmBudget); err != nil {
		t.Errorf("the largest batch %d does not fit: %v", big.Largest, err)
	}
	in.Settings.Batch = big.Largest + 1
	if _, err := CheckMemory(net, in, WasmBudget); err == nil {
		t.Errorf("batch %d fits, but %d was said to be the largest", big.Largest+1, big.Largest)
	}
	t.Logf("b64: %v", big)
	// Two workers each hold half the batch.
	in.Settings.Batch, in.Parts = 64, 2
	m2, err := EstimateMemory(net, in)
	if err != nil {
		t.Fatal(err)
	}
	ws32, _ := net.WorkspaceBytes(32, 224, 224)
	if m2.Workspace != ws32 {
		t.Errorf("2 parts of 64: workspace %d, want %d", m2.Workspace, ws32)
	}
}

func DefaultTestSettings() runspec.Settings { return runspec.DefaultSettings() }

func asBatchTooLarge(err error, target **BatchTooLargeError) bool { return errors.As(err, target) }
