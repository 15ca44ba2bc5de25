package train

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/optim"
	"github.com/goresnet/goresnet/model/resnet"
)

// badTrainer is a small ResNet-18 and a trainer for 32x32 inputs.
func badTrainer(t *testing.T, opt optim.Config, lr float64, accumulate int) *Trainer {
	t.Helper()
	net, err := resnet.New(resnet.Config{Arch: "resnet18", Classes: 3, WidthDiv: 16, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	o, err := optim.New(opt, net)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(net, o, Config{Epochs: 1, Accumulate: accumulate, Schedule: Schedule{BaseLR: lr}, Monitor: "loss"}, 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func batchOf(seed uint64, scale float32) *data.Batch {
	r := rand.New(rand.NewPCG(seed, 1))
	b := &data.Batch{X: make([]float32, 4*3*32*32), Labels: []int{0, 1, 2, 1}, Index: []int{0, 1, 2, 3}, N: 4, H: 32, W: 32}
	for i := range b.X {
		b.X[i] = scale * float32(r.NormFloat64())
	}
	return b
}

// state is everything a step may change.
type state struct {
	params, buffers, m, v []float32
	counters              []int64
	step                  int
}

func snapshot(tr *Trainer) state {
	s := state{params: slices.Clone(tr.Net.ParamData), buffers: slices.Clone(tr.Net.BufferData),
		m: slices.Clone(tr.Opt.M), v: slices.Clone(tr.Opt.V), step: tr.Step}
	for _, e := range tr.Net.State() {
		if e.Counter != nil {
			s.counters = append(s.counters, *e.Counter)
		}
	}
	return s
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func (s state) equal(o state) bool {
	return sameBits(s.params, o.params) && sameBits(s.buffers, o.buffers) && sameBits(s.m, o.m) && sameBits(s.v, o.v) &&
		slices.Equal(s.counters, o.counters) && s.step == o.step
}

// TestBadNumbersLeaveNoTrace: a NaN in the input, a forward pass that
// overflows, a running variance that overflows while the loss stays
// finite, and a batch of an accumulated step that goes bad each stop the
// step with a NonFiniteError that names it, and leave the network (its
// running statistics and counters included), the optimizer and the step
// count exactly as before the step; the input's error blames the data,
// the others the learning rate.
func TestBadNumbersLeaveNoTrace(t *testing.T) {
	cases := []struct {
		name       string
		accumulate int
		prepare    func(tr *Trainer) // a good batch already went through
		batch      *data.Batch
		want       string
		input      bool
	}{
		{"NaN in the input", 1, nil, func() *data.Batch { b := batchOf(1, 1); b.X[777] = float32(math.NaN()); return b }(),
			"input values hold NaN or Inf", true},
		{"Inf in the input", 1, nil, func() *data.Batch { b := batchOf(1, 1); b.X[5] = float32(math.Inf(-1)); return b }(),
			"input values hold NaN or Inf", true},
		{"overflow inside the forward pass", 1, func(tr *Trainer) {
			// fc weights so large that the logits overflow.
			for i := range tr.Net.Param("fc.weight").Data {
				tr.Net.Param("fc.weight").Data[i] = 3e38
			}
		}, batchOf(2, 1), "the loss is", false},
		{"running variance overflow", 1, nil, batchOf(3, 1e20), "not finite", false},
		{"bad batch in an accumulated step", 2, nil, func() *data.Batch { b := batchOf(4, 1); b.X[0] = float32(math.NaN()); return b }(),
			"input values hold NaN or Inf", true},
	}
	for _, c := range cases {
		tr := badTrainer(t, optim.Config{Kind: "adamw", WeightDecay: 0.01}, 1e-3, c.accumulate)
		// One good step first, so that there is a state to keep.
		for range c.accumulate {
			if _, _, err := tr.TrainBatch(batchOf(7, 1)); err != nil {
				t.Fatal(err)
			}
		}
		if c.prepare != nil {
			c.prepare(tr)
		}
		if c.accumulate > 1 {
			// The bad batch is the second of a step: the first one's
			// running statistics must be undone too.
			before := snapshot(tr)
			if _, _, err := tr.TrainBatch(batchOf(8, 1)); err != nil {
				t.Fatal(err)
			}
			if _, _, err := tr.TrainBatch(c.batch); err == nil {
				t.Fatalf("%s: no error", c.name)
			} else if after := snapshot(tr); !after.equal(before) || tr.pending != 0 {
				t.Errorf("%s: the step left a trace (pending %d)", c.name, tr.pending)
			}
			continue
		}
		before := snapshot(tr)
		_, _, err := tr.TrainBatch(c.batch)
		var nf *NonFiniteError
		if !errors.As(err, &nf) {
			t.Fatalf("%s: error %v, want a NonFiniteError", c.name, err)
		}
		t.Logf("%s: %v", c.name, err)
		if !strings.Contains(err.Error(), c.want) || nf.Input != c.input || nf.Updated || nf.Step != 1 ||
			!strings.Contains(err.Error(), "at step 2 (epoch 1, batch 1)") || !strings.Contains(err.Error(), "nothing from this step was applied") {
			t.Errorf("%s: %v (input %v, updated %v)", c.name, err, nf.Input, nf.Updated)
		}
		if c.input == strings.Contains(err.Error(), "lower learning rate") {
			t.Errorf("%s: the message blames the wrong thing: %v", c.name, err)
		}
		if after := snapshot(tr); !after.equal(before) {
			t.Errorf("%s: the bad step changed the network or the optimizer", c.name)
		}
		// The trainer goes on with good data as if the bad step had not
		// happened (the input and running-stat cases: the weights are good).
		if c.prepare == nil {
			if _, _, err := tr.TrainBatch(batchOf(9, 1)); err != nil {
				t.Errorf("%s: a good batch after the bad one: %v", c.name, err)
			}
		}
	}
}

// TestUpdateOverflow: finite gradients times a huge learning rate
// overflow the weights; the error says the update did it (the weights in
// memory are unusable) and suggests a lower rate, and SaveCheckpoint
// refuses to save such a state.
func TestUpdateOverflow(t *testing.T) {
	tr := badTrainer(t, optim.Config{Kind: "sgd"}, 1e38, 1)
	var err error
	for i := 0; i < 5 && err == nil; i++ {
		_, _, err = tr.TrainBatch(batchOf(uint64(i), 1))
	}
	var nf *NonFiniteError
	if !errors.As(err, &nf) {
		t.Fatalf("error %v", err)
	}
	t.Log(err)
	if nf.Updated {
		if !strings.Contains(err.Error(), "the weights in memory are unusable") || !strings.Contains(err.Error(), "lower learning rate") {
			t.Errorf("message %v", err)
		}
		p := filepath.Join(t.TempDir(), "c.safetensors")
		if err := SaveCheckpoint(p, tr.Net, tr.Opt, Meta{}); err == nil || !strings.Contains(err.Error(), "NaN or Inf") {
			t.Errorf("a diverged state was saved: %v", err)
		}
	}
	// However it diverged, a NaN in the weights is never saved.
	tr.Net.ParamData[3] = float32(math.NaN())
	if err := SaveCheckpoint(filepath.Join(t.TempDir(), "d.safetensors"), tr.Net, tr.Opt, Meta{}); err == nil {
		t.Error("a NaN weight was saved")
	}
}
