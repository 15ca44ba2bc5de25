package train

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/datatest"
	"github.com/goresnet/goresnet/model/optim"
	"github.com/goresnet/goresnet/model/resnet"
)

// run is a small training setup on a slice of MNIST at 32x32.
type run struct {
	ds      *data.Dataset
	train   *data.Loader
	test    *data.Loader
	trainer *Trainer
}

func newRun(t *testing.T, dir string, cfg Config, optCfg optim.Config, arch string, batch int) *run {
	t.Helper()
	ctx := context.Background()
	ds, err := data.OpenPath(ctx, dir, data.NewMemoryCache(1<<30))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := data.NewLoader(ds, data.LoaderConfig{Split: "train", BatchSize: batch, Shuffle: true, Seed: 11, DropRemainder: true})
	if err != nil {
		t.Fatal(err)
	}
	te, err := data.NewLoader(ds, data.LoaderConfig{Split: "test", BatchSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	net, err := resnet.New(resnet.Config{Arch: arch, Classes: len(ds.Manifest.Classes), WidthDiv: 8, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optim.New(optCfg, net)
	if err != nil {
		t.Fatal(err)
	}
	trn, err := NewTrainer(net, opt, cfg, 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	return &run{ds: ds, train: tr, test: te, trainer: trn}
}

func (r *run) hooks(t *testing.T) FitHooks {
	return FitHooks{
		Train: func(ctx context.Context, epoch int) (Iterator, int, error) {
			return r.train.Epoch(ctx, epoch), r.train.Batches(), nil
		},
		Val: func(ctx context.Context) (Iterator, error) { return r.test.Epoch(ctx, 0), nil },
	}
}

// TestTrainingLearnsDigits: a 1/8-width ResNet-50 learns MNIST digits in a
// few hundred steps: the training loss falls and test accuracy passes 90%.
func TestTrainingLearnsDigits(t *testing.T) {
	if testing.Short() || runtime.GOOS == "js" {
		// Under node the same loop (tested by the other tests here) would
		// take minutes; natively this runs in about 20 s.
		t.Skip("trains for a few hundred steps: native, non-short runs only")
	}
	dir := datatest.Digits(t, 4000, 500, 32)
	cfg := Config{Epochs: 4, Schedule: Schedule{Kind: "cosine", BaseLR: 0.05, Warmup: 20, Total: 4 * 4000 / 32}, Monitor: "val_accuracy"}
	r := newRun(t, dir, cfg, optim.Config{Kind: "sgd", Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4}, "resnet50", 32)
	res, err := r.trainer.Fit(context.Background(), r.hooks(t))
	if err != nil {
		t.Fatal(err)
	}
	h := r.trainer.History.Epochs
	for _, e := range h {
		t.Logf("epoch %d: loss %.4f acc %.3f val_loss %.4f val_acc %.3f (%.1fs)", e.Epoch, e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy, e.Seconds)
	}
	if res.EarlyStopped || len(h) != 4 {
		t.Fatalf("ran %d epochs (early stop %v)", len(h), res.EarlyStopped)
	}
	last := h[len(h)-1]
	if !(last.Loss < h[0].Loss*0.5) {
		t.Errorf("training loss did not fall: %.3f -> %.3f", h[0].Loss, last.Loss)
	}
	if last.ValAccuracy < 0.9 {
		t.Errorf("test accuracy %.3f after %d steps, want >= 0.9", last.ValAccuracy, r.trainer.Step)
	}
	if r.trainer.Best == nil || r.trainer.Best.Monitor != "val_accuracy" {
		t.Errorf("best %+v", r.trainer.Best)
	}
}

// TestResumeIsExact: stopping mid-epoch, saving a checkpoint, and resuming
// from it gives the same weights as an uninterrupted run.
func TestResumeIsExact(t *testing.T) {
	dir := datatest.Digits(t, 256, 64, 32)
	cfg := Config{Epochs: 2, Accumulate: 2, Schedule: Schedule{Kind: "step", BaseLR: 0.02, StepEvery: 4, Gamma: 0.5}}
	oc := optim.Config{Kind: "adamw", WeightDecay: 0.01}

	full := newRun(t, dir, cfg, oc, "resnet18", 32)
	if _, err := full.trainer.Fit(context.Background(), full.hooks(t)); err != nil {
		t.Fatal(err)
	}

	part := newRun(t, dir, cfg, oc, "resnet18", 32)
	ckpt := filepath.Join(t.TempDir(), "stop.safetensors")
	batches := 0
	part.trainer.OnBatch = func(b BatchInfo) {
		batches++
		if batches == 11 { // in the middle of epoch 2
			part.trainer.Stop()
		}
	}
	hooks := part.hooks(t)
	hooks.Interrupted = func() error {
		meta, err := part.trainer.CheckpointMeta(Meta{Preprocess: Preprocess{Size: 32, Norm: "imagenet"}})
		if err != nil {
			return err
		}
		return SaveCheckpoint(ckpt, part.trainer.Net, part.trainer.Opt, meta)
	}
	if _, err := part.trainer.Fit(context.Background(), hooks); !errors.Is(err, ErrStopped) {
		t.Fatalf("stopped run: %v", err)
	}
	ck, err := OpenCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Meta.Epoch != 1 || ck.Meta.BatchInEpoch == 0 {
		t.Fatalf("checkpoint at epoch %d batch %d, want a mid-epoch one", ck.Meta.Epoch, ck.Meta.BatchInEpoch)
	}

	resumed := newRun(t, dir, cfg, oc, "resnet18", 32)
	if err := resumed.trainer.Resume(ck); err != nil {
		t.Fatal(err)
	}
	if _, err := resumed.trainer.Fit(context.Background(), resumed.hooks(t)); err != nil {
		t.Fatal(err)
	}
	a, b := full.trainer.Net.ParamData, resumed.trainer.Net.ParamData
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("resumed weights differ from an uninterrupted run's at %d: %v vs %v", i, b[i], a[i])
		}
	}
	if full.trainer.Step != resumed.trainer.Step {
		t.Fatalf("steps %d vs %d", full.trainer.Step, resumed.trainer.Step)
	}
	// The resumed epoch reports the whole epoch's loss and accuracy.
	fe, re := full.trainer.History.Epochs[1], resumed.trainer.History.Epochs[1]
	if fe.Loss != re.Loss || fe.Accuracy != re.Accuracy || fe.Images != re.Images {
		t.Fatalf("epoch 2 stats: uninterrupted %+v, resumed %+v", fe, re)
	}
}

// TestEarlyStoppingAndNonFinite: a learning rate large enough to make the
// loss overflow stops training with a NonFiniteError naming the step,
// before the step is applied; early stopping ends a run without
// improvement.
func TestEarlyStoppingAndNonFinite(t *testing.T) {
	dir := datatest.Digits(t, 128, 64, 32)
	cfg := Config{Epochs: 3, Schedule: Schedule{BaseLR: 1e30}}
	r := newRun(t, dir, cfg, optim.Config{Kind: "sgd"}, "resnet18", 32)
	before := append([]float32(nil), r.trainer.Net.ParamData...)
	var nf *NonFiniteError
	_, err := r.trainer.Fit(context.Background(), r.hooks(t))
	if !errors.As(err, &nf) {
		t.Fatalf("a diverging run ended with %v", err)
	}
	t.Log(err)
	if nf.Step < 1 {
		t.Fatalf("diverged at step %d: the first step should still be finite", nf.Step)
	}
	changed := false
	for i, v := range r.trainer.Net.ParamData {
		if v != before[i] {
			changed = true
		}
	}
	if !changed {
		t.Fatal("no step was applied before the divergence")
	}

	// Early stopping: monitor training loss with a zero learning rate
	// after warm-up... simplest: a MinDelta nothing can beat.
	cfg = Config{Epochs: 5, Schedule: Schedule{BaseLR: 1e-4}, Monitor: "loss", Patience: 2, MinDelta: 1e9}
	r = newRun(t, dir, cfg, optim.Config{Kind: "sgd"}, "resnet18", 32)
	res, err := r.trainer.Fit(context.Background(), r.hooks(t))
	if err != nil {
		t.Fatal(err)
	}
	if !res.EarlyStopped || len(r.trainer.History.Epochs) != 3 {
		t.Fatalf("early stop %v after %d epochs, want after 3", res.EarlyStopped, len(r.trainer.History.Epochs))
	}
}

// TestFeatureCache: head-only training on cached features gives the same
// weights as head-only training that recomputes the backbone every epoch.
func TestFeatureCache(t *testing.T) {
	dir := datatest.Digits(t, 128, 32, 32)
	cfg := Config{Epochs: 3, Schedule: Schedule{BaseLR: 0.05}, Monitor: "loss"}
	mk := func(cache bool) *run {
		r := newRun(t, dir, cfg, optim.Config{Kind: "sgd", Momentum: 0.9}, "resnet18", 32)
		if err := r.trainer.Net.FreezeBelow("fc"); err != nil {
			t.Fatal(err)
		}
		if cache {
			if err := r.trainer.EnableFeatureCache(); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	plain, cached := mk(false), mk(true)
	if _, err := plain.trainer.Fit(context.Background(), plain.hooks(t)); err != nil {
		t.Fatal(err)
	}
	h := cached.hooks(t)
	trainCalls := 0
	inner := h.Train
	h.Train = func(ctx context.Context, epoch int) (Iterator, int, error) {
		trainCalls++
		return inner(ctx, epoch)
	}
	h.Order, h.Examples, h.BatchSize = cached.train.OrderIndex, cached.train.Len(), 32
	if _, err := cached.trainer.Fit(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	if trainCalls != 1 {
		t.Errorf("the image pipeline ran %d epochs, want 1 (then the cache)", trainCalls)
	}
	a, b := plain.trainer.Net.ParamData, cached.trainer.Net.ParamData
	var worst float32
	for i := range a {
		worst = max(worst, abs32(a[i]-b[i]))
	}
	if worst > 1e-5 {
		t.Errorf("cached head-only training differs by %v", worst)
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
