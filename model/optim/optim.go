// Package optim updates a network's parameters from their gradients: SGD
// (momentum, Nesterov, weight decay), Adam and AdamW with PyTorch's exact
// update rules, and the Keras notebook's max-norm kernel constraint.
//
// State (momentum buffers, Adam moments) lives in slabs laid out like the
// network's parameter slab, so checkpoints and the browser's all-reduce can
// treat it as flat vectors. Frozen parameters are skipped.
package optim

import (
	"fmt"
	"math"
	"strings"

	"github.com/goresnet/goresnet/model/kernels"
	"github.com/goresnet/goresnet/model/resnet"
)

// Config holds the hyperparameters; zero values take PyTorch's defaults
// where PyTorch has them (betas 0.9/0.999, eps 1e-8).
type Config struct {
	Kind        string  // "sgd", "adam" or "adamw"
	Momentum    float32 // SGD
	Dampening   float32 // SGD
	Nesterov    bool    // SGD; needs Momentum > 0 and Dampening 0, as in PyTorch
	WeightDecay float32 // L2 added to the gradient (SGD, Adam); decoupled for AdamW
	Beta1       float32
	Beta2       float32
	Eps         float32
	// MaxNorm, when positive, rescales every convolution filter whose L2
	// norm exceeds it after each step: Keras' max_norm kernel constraint.
	MaxNorm float32
}

// Kinds lists the optimizers.
var Kinds = []string{"sgd", "adam", "adamw"}

// Optimizer updates a network's trainable parameters.
type Optimizer struct {
	Config Config
	net    *resnet.Net
	// M is SGD's momentum buffer or Adam's first moment; V is Adam's second
	// moment. Both are indexed like net.ParamData.
	M, V []float32
	// Steps counts the updates taken (Adam's bias correction uses it).
	Steps int
	// started[i] marks a parameter whose momentum buffer exists (PyTorch
	// initialises it with the first gradient, not with zero).
	started []bool
	// convs are the convolution kernels max-norm applies to (listed at the
	// first step that needs them, so that later steps allocate nothing).
	convs []*resnet.Param
}

// New checks the config and makes an optimizer for net.
func New(cfg Config, net *resnet.Net) (*Optimizer, error) {
	cfg.Kind = strings.ToLower(cfg.Kind)
	switch cfg.Kind {
	case "sgd":
		if cfg.Nesterov && (cfg.Momentum <= 0 || cfg.Dampening != 0) {
			return nil, fmt.Errorf("optimizer: Nesterov momentum needs momentum > 0 and dampening 0")
		}
	case "adam", "adamw":
		if cfg.Beta1 == 0 {
			cfg.Beta1 = 0.9
		}
		if cfg.Beta2 == 0 {
			cfg.Beta2 = 0.999
		}
		if cfg.Eps == 0 {
			cfg.Eps = 1e-8
		}
		if cfg.Beta1 < 0 || cfg.Beta1 >= 1 || cfg.Beta2 < 0 || cfg.Beta2 >= 1 {
			return nil, fmt.Errorf("optimizer: betas (%v, %v) must be in [0, 1)", cfg.Beta1, cfg.Beta2)
		}
	default:
		return nil, fmt.Errorf("optimizer: unknown kind %q (have %s)", cfg.Kind, strings.Join(Kinds, ", "))
	}
	if cfg.Momentum < 0 || cfg.WeightDecay < 0 || cfg.MaxNorm < 0 {
		return nil, fmt.Errorf("optimizer: momentum, weight decay and max-norm must not be negative")
	}
	o := &Optimizer{Config: cfg, net: net, started: make([]bool, len(net.Params()))}
	if cfg.Kind != "sgd" || cfg.Momentum != 0 {
		o.M = make([]float32, len(net.ParamData))
	}
	if cfg.Kind != "sgd" {
		o.V = make([]float32, len(net.ParamData))
	}
	return o, nil
}

// State is what a checkpoint keeps of an optimizer to resume it exactly.
type State struct {
	M, V    []float32 // nil when the optimizer has none
	Steps   int
	Started []bool // per parameter: its momentum buffer exists
}

// State returns the optimizer's state (sharing its slices).
func (o *Optimizer) State() State {
	return State{M: o.M, V: o.V, Steps: o.Steps, Started: o.started}
}

// SetState restores a state saved by State for the same network and
// optimizer kind; mismatched sizes are an error.
func (o *Optimizer) SetState(s State) error {
	if len(s.M) != len(o.M) || len(s.V) != len(o.V) || len(s.Started) != len(o.started) {
		return fmt.Errorf("optimizer state does not fit: %d/%d/%d values where %s needs %d/%d/%d",
			len(s.M), len(s.V), len(s.Started), o.Config.Kind, len(o.M), len(o.V), len(o.started))
	}
	copy(o.M, s.M)
	copy(o.V, s.V)
	copy(o.started, s.Started)
	o.Steps = s.Steps
	return nil
}

// Step applies one update with learning rate lr to every trainable
// parameter, then the max-norm constraint if configured. It does not clear
// the gradients.
func (o *Optimizer) Step(lr float32) {
	o.Steps++
	for i, p := range o.net.Params() {
		if !p.Trainable {
			continue
		}
		off, n := p.Offset, p.Size()
		switch o.Config.Kind {
		case "sgd":
			sgdUpdate(&o.Config, p.Data, p.Grad, o.slab(o.M, off, n), lr, !o.started[i])
		default:
			adamUpdate(&o.Config, o.Steps, p.Data, p.Grad, o.M[off:off+n], o.V[off:off+n], lr)
		}
		o.started[i] = true
	}
	if o.Config.MaxNorm > 0 {
		if o.convs == nil {
			o.convs = o.net.ConvWeights()
		}
		for _, p := range o.convs {
			if p.Trainable {
				MaxNorm(p.Data, p.Shape[0], o.Config.MaxNorm)
			}
		}
	}
}

func (o *Optimizer) slab(s []float32, off, n int) []float32 {
	if s == nil {
		return nil
	}
	return s[off : off+n]
}

// sgdUpdate is torch.optim.SGD's update for one tensor; buf is nil
// without momentum, and first marks the step that creates the buffer. It
// runs on kernels.SGD (bit-identical to its plain reference, SGDRef).
func sgdUpdate(c *Config, w, g, buf []float32, lr float32, first bool) {
	kernels.SGD(w, g, buf, kernels.SGDParams{LR: lr, Momentum: c.Momentum, Dampening: c.Dampening,
		WeightDecay: c.WeightDecay, Nesterov: c.Nesterov}, first)
}

// adamUpdate is torch.optim.Adam's (L2 weight decay) or AdamW's
// (decoupled weight decay) update for one tensor at step t (from 1). It
// runs on kernels.Adam (bit-identical to its plain reference, AdamRef).
func adamUpdate(c *Config, step int, w, g, m, v []float32, lr float32) {
	kernels.Adam(w, g, m, v, kernels.NewAdamParams(lr, c.Beta1, c.Beta2, c.Eps, c.WeightDecay, c.Kind == "adamw", step))
}

// MaxNorm rescales each of the rows filters of w (laid out filter by
// filter, as OIHW is) whose L2 norm exceeds max down to norm max, exactly as
// Keras' MaxNorm(max, axis=[0,1,2]) does on its HWIO kernels:
// w * clip(norm, 0, max) / (1e-7 + norm). The squared norm is summed in
// float32 vector lanes folded into float64 (kernels.SumSqDev).
func MaxNorm(w []float32, rows int, max float32) {
	n := len(w) / rows
	for r := 0; r < rows; r++ {
		f := w[r*n : (r+1)*n]
		norm := math.Sqrt(kernels.SumSqDev(f, 0))
		desired := math.Min(norm, float64(max))
		kernels.Scale(f, float32(desired/(1e-7+norm)))
	}
}
