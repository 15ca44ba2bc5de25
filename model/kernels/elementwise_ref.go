package kernels

import "math"

// The plain reference implementations of the elementwise and reduction
// kernels (elementwise.go). They define what each kernel computes; the SIMD
// versions are tested against them, and every build also uses them for
// the tails the vector loops leave and wherever no SIMD path is usable.

// SumRef is Σx, accumulated in float64.
func SumRef(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}

// SumSqDevRef is Σ(x-a)², accumulated in float64.
func SumSqDevRef(x []float32, a float32) float64 {
	var s float64
	for _, v := range x {
		d := float64(v) - float64(a)
		s += d * d
	}
	return s
}

// BNGradSumsRef returns Σg and Σg·(x-mean) over a batch-norm plane, where g
// is dy masked by y > 0 (the fused ReLU's backward) when y is not nil.
func BNGradSumsRef(dy, x, y []float32, mean float32) (sumG, sumGX float64) {
	x = x[:len(dy)]
	if y != nil {
		y = y[:len(dy)]
	}
	m := float64(mean)
	for i, d := range dy {
		if y != nil && !(y[i] > 0) {
			continue
		}
		sumG += float64(d)
		sumGX += float64(d) * (float64(x[i]) - m)
	}
	return sumG, sumGX
}

// ScaleShiftRef computes y = x*scale + shift, then max(y, 0) when relu is
// set (NaN passes, as in PyTorch). y may alias x.
func ScaleShiftRef(y, x []float32, scale, shift float32, relu bool) {
	y = y[:len(x)]
	for i, v := range x {
		o := v*scale + shift
		if relu && o < 0 {
			o = 0
		}
		y[i] = o
	}
}

// BNBackwardDxRef is the training-mode batch-norm input gradient
// dx = k·(g - meanG - (x-mean)·proj), where g is dy masked by y > 0 when y
// is not nil. dx may alias dy.
func BNBackwardDxRef(dx, dy, x, y []float32, mean, k, meanG, proj float64) {
	dx, x = dx[:len(dy)], x[:len(dy)]
	if y != nil {
		y = y[:len(dy)]
	}
	for i, d := range dy {
		if y != nil && !(y[i] > 0) {
			d = 0
		}
		dx[i] = float32(k * (float64(d) - meanG - (float64(x[i])-mean)*proj))
	}
}

// MaskScaleRef computes dx = g·k, where g is dy masked by y > 0 when y is
// not nil (the eval-mode batch-norm input gradient). dx may alias dy.
func MaskScaleRef(dx, dy, y []float32, k float32) {
	dx = dx[:len(dy)]
	if y != nil {
		y = y[:len(dy)]
	}
	for i, d := range dy {
		if y != nil && !(y[i] > 0) {
			d = 0
		}
		dx[i] = d * k
	}
}

// ReLURef computes y = max(x, 0); NaN passes. y may alias x.
func ReLURef(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		if v < 0 {
			v = 0
		}
		y[i] = v
	}
}

// ReLUBackwardRef computes dx = dy where y > 0, else 0 (also where y is
// NaN). dx may alias dy.
func ReLUBackwardRef(dx, dy, y []float32) {
	dx, y = dx[:len(dy)], y[:len(dy)]
	for i, d := range dy {
		if !(y[i] > 0) {
			d = 0
		}
		dx[i] = d
	}
}

// AddReLURef computes y = max(a+b, 0); NaN passes. y may alias a or b.
func AddReLURef(y, a, b []float32) {
	y, b = y[:len(a)], b[:len(a)]
	for i, v := range a {
		s := v + b[i]
		if s < 0 {
			s = 0
		}
		y[i] = s
	}
}

// AddRef computes y = a + b. y may alias a or b.
func AddRef(y, a, b []float32) {
	y, b = y[:len(a)], b[:len(a)]
	for i, v := range a {
		y[i] = v + b[i]
	}
}

// ScaleRef computes x *= s.
func ScaleRef(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// FillRef sets every element of x to v.
func FillRef(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}

// SGDParams are one torch.optim.SGD update's hyperparameters.
type SGDParams struct {
	LR, Momentum, Dampening, WeightDecay float32
	Nesterov                             bool
}

// SGDRef is torch.optim.SGD's update of one tensor: w, its gradient g and
// its momentum buffer buf (nil without momentum); first marks the step that
// creates the buffer (PyTorch initialises it with the first gradient).
func SGDRef(w, g, buf []float32, p SGDParams, first bool) {
	g = g[:len(w)]
	if buf != nil {
		buf = buf[:len(w)]
	}
	for i := range w {
		d := g[i]
		if p.WeightDecay != 0 {
			d += p.WeightDecay * w[i]
		}
		if buf != nil {
			if first {
				buf[i] = d
			} else {
				buf[i] = p.Momentum*buf[i] + (1-p.Dampening)*d
			}
			if p.Nesterov {
				d += p.Momentum * buf[i]
			} else {
				d = buf[i]
			}
		}
		w[i] -= p.LR * d
	}
}

// AdamParams are one torch.optim.Adam/AdamW update's hyperparameters, with
// the step's bias corrections already folded in: StepSize = lr/(1-β1^t),
// SqrtBC2 = sqrt(1-β2^t).
type AdamParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
	Decoupled                          bool // AdamW: decay the weights, not the gradient
	StepSize, SqrtBC2                  float32
}

// NewAdamParams folds step t's (from 1) bias corrections into p.
func NewAdamParams(lr, beta1, beta2, eps, weightDecay float32, decoupled bool, t int) AdamParams {
	bc1 := 1 - math.Pow(float64(beta1), float64(t))
	bc2 := 1 - math.Pow(float64(beta2), float64(t))
	return AdamParams{LR: lr, Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay, Decoupled: decoupled,
		StepSize: float32(float64(lr) / bc1), SqrtBC2: float32(math.Sqrt(bc2))}
}

// AdamRef is torch.optim.Adam's (L2 weight decay) or AdamW's (decoupled
// weight decay) update of one tensor w with gradient g and moments m, v.
func AdamRef(w, g, m, v []float32, p AdamParams) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i := range w {
		d := g[i]
		if p.WeightDecay != 0 {
			if p.Decoupled {
				w[i] *= 1 - p.LR*p.WeightDecay
			} else {
				d += p.WeightDecay * w[i]
			}
		}
		m[i] = p.Beta1*m[i] + (1-p.Beta1)*d
		v[i] = p.Beta2*v[i] + (1-p.Beta2)*d*d
		denom := float32(math.Sqrt(float64(v[i])))/p.SqrtBC2 + p.Eps
		w[i] -= p.StepSize * m[i] / denom
	}
}
