package optim

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/weights"
)

// TestMatchesTorchOptim replays testdata/optim_parity.safetensors (from
// make_optim.py): the same gradients fed to torch.optim and to our update
// rules must give the same weights.
func TestMatchesTorchOptim(t *testing.T) {
	f, err := weights.Open("testdata/optim_parity.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	w0, _, _ := f.Float32("w0")
	grads, gs, _ := f.Float32("grads")
	steps, n := gs[0], gs[1]
	for name, js := range f.Metadata {
		if name == "torch" {
			continue
		}
		var kw struct {
			Kind        string    `json:"kind"`
			LR          float32   `json:"lr"`
			Momentum    float32   `json:"momentum"`
			Dampening   float32   `json:"dampening"`
			Nesterov    bool      `json:"nesterov"`
			WeightDecay float32   `json:"weight_decay"`
			Betas       []float32 `json:"betas"`
			Eps         float32   `json:"eps"`
		}
		if err := json.Unmarshal([]byte(js), &kw); err != nil {
			t.Fatal(err)
		}
		c := Config{Kind: kw.Kind, Momentum: kw.Momentum, Dampening: kw.Dampening, Nesterov: kw.Nesterov,
			WeightDecay: kw.WeightDecay, Eps: kw.Eps, Beta1: 0.9, Beta2: 0.999}
		if c.Kind == "adamw" && kw.WeightDecay == 0 {
			c.WeightDecay = 1e-2 // torch's AdamW default
		}
		if len(kw.Betas) == 2 {
			c.Beta1, c.Beta2 = kw.Betas[0], kw.Betas[1]
		}
		if c.Eps == 0 {
			c.Eps = 1e-8
		}
		w := append([]float32(nil), w0...)
		m, v := make([]float32, n), make([]float32, n)
		for s := 0; s < steps; s++ {
			g := grads[s*n : (s+1)*n]
			if c.Kind == "sgd" {
				var buf []float32
				if c.Momentum != 0 {
					buf = m
				}
				sgdUpdate(&c, w, g, buf, kw.LR, s == 0)
			} else {
				adamUpdate(&c, s+1, w, g, m, v, kw.LR)
			}
		}
		want, _, _ := f.Float32(name)
		var worst float64
		for i := range w {
			worst = math.Max(worst, math.Abs(float64(w[i]-want[i])))
		}
		if worst > 1e-6 {
			t.Errorf("%s: weights differ from torch.optim by up to %.3g", name, worst)
		} else {
			t.Logf("%s: max difference from torch.optim %.2g", name, worst)
		}
	}
}

func TestStepSkipsFrozenAndAppliesMaxNorm(t *testing.T) {
	net, err := resnet.New(resnet.Config{Arch: "resnet18", Classes: 3, WidthDiv: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := net.SetTrainable([]string{"layer1"}); err != nil {
		t.Fatal(err)
	}
	for i := range net.GradData {
		net.GradData[i] = 1
	}
	before := append([]float32(nil), net.ParamData...)
	o, err := New(Config{Kind: "sgd", Momentum: 0.9, MaxNorm: 0.5}, net)
	if err != nil {
		t.Fatal(err)
	}
	o.Step(0.01)
	for _, p := range net.Params() {
		changed := false
		for i, v := range p.Data {
			if v != before[p.Offset+i] {
				changed = true
			}
		}
		if changed != p.Trainable {
			t.Errorf("%s: trainable %v but changed %v", p.Name, p.Trainable, changed)
		}
	}
	for _, p := range net.ConvWeights() {
		if !p.Trainable {
			continue
		}
		per := p.Size() / p.Shape[0]
		for r := 0; r < p.Shape[0]; r++ {
			var ss float64
			for _, v := range p.Data[r*per : (r+1)*per] {
				ss += float64(v) * float64(v)
			}
			if math.Sqrt(ss) > 0.5+1e-5 {
				t.Fatalf("%s filter %d has norm %v after max-norm 0.5", p.Name, r, math.Sqrt(ss))
			}
		}
	}
}

func TestMaxNormKerasFormula(t *testing.T) {
	w := []float32{3, 4, 0.3, 0.4} // two filters, norms 5 and 0.5
	MaxNorm(w, 2, 2)
	if math.Abs(float64(w[0])-3*2/(5+1e-7)) > 1e-6 || math.Abs(float64(w[1])-4*2/(5+1e-7)) > 1e-6 {
		t.Errorf("filter above the max: %v", w[:2])
	}
	if math.Abs(float64(w[2])-0.3) > 1e-6 || math.Abs(float64(w[3])-0.4) > 1e-6 {
		t.Errorf("filter below the max changed: %v", w[2:])
	}
}

func TestBadConfig(t *testing.T) {
	net, _ := resnet.New(resnet.Config{Arch: "resnet18", Classes: 3, WidthDiv: 64})
	for _, c := range []Config{{Kind: "rmsprop"}, {Kind: "sgd", Nesterov: true}, {Kind: "adam", Beta1: 1}, {Kind: "sgd", WeightDecay: -1}} {
		if _, err := New(c, net); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

// TestStepAllocatesNothing: after the first step (which lists the
// convolutions for max-norm), an optimizer step allocates no memory.
func TestStepAllocatesNothing(t *testing.T) {
	net, err := resnet.New(resnet.Config{Arch: "resnet18", Classes: 3, WidthDiv: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{{Kind: "sgd", Momentum: 0.9, MaxNorm: 2}, {Kind: "adamw", WeightDecay: 1e-2}} {
		o, err := New(c, net)
		if err != nil {
			t.Fatal(err)
		}
		o.Step(1e-3)
		if a := testing.AllocsPerRun(3, func() { o.Step(1e-3) }); a != 0 {
			t.Errorf("%s: a step allocates %v times", c.Kind, a)
		}
	}
}
