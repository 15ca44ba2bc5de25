package kernels

// Elementwise and reduction kernels for the layers (batch norm, ReLU,
// residual add, pooling) and the optimizers.
//
// Each kernel below runs a vector loop over as many whole vectors as its
// slices hold (Float32x8 with FMA on amd64 CPUs that have AVX2 and FMA,
// Float32x4 in wasm; see elementwise_f32x8_amd64.go and
// elementwise_f32x4_wasm.go) and hands the rest (the tail, or everything
// when no vector path is usable, as without GOEXPERIMENT=simd) to the plain
// reference beside it in elementwise_ref.go.
//
// Precision. Reductions add float32 vector lanes over blocks of at most
// sumBlock elements and fold each block's partial sum into a float64 total:
// each lane sums a handful of values before the fold, so the relative
// error stays near 1e-7 however long the input (the float64 references are
// what the tests compare with). The batch-norm and max-norm statistics need
// that: a float32 running sum over a 56x56 plane loses 3-4 digits.
// Elementwise kernels round like their references except ScaleShift (the
// amd64 code fuses the multiply-add: one rounding fewer) and BNBackwardDx
// (float32 arithmetic where the reference uses float64: within a few
// float32 roundings of its largest term). The optimizer updates do no
// fusing and give bit-identical results to the references on amd64 and
// wasm.
//
// NaN: the ReLU kernels pass NaN through (max(NaN, 0) is NaN, as in PyTorch)
// and masks by y > 0 treat a NaN y as not positive, exactly as the
// references do.

// sumBlock is how many elements a reduction adds in float32 lanes before
// folding the partial sum into float64: 256 elements are 8 per lane with
// the four 8-lane accumulators of the amd64 loop, 16 per lane in wasm.
const sumBlock = 256

// ElementwisePath names the vector path the elementwise kernels take in
// this build on this CPU: "f32x8_avx2_fma", "f32x4_wasmsimd" or "scalar".
func ElementwisePath() string { return vecPath() }

// Sum returns Σx.
func Sum(x []float32) float64 {
	s, n := sumVec(x)
	return s + SumRef(x[n:])
}

// SumSqDev returns Σ(x-a)², the sum of squared deviations from a (a = 0:
// the sum of squares).
func SumSqDev(x []float32, a float32) float64 {
	s, n := sumSqDevVec(x, a)
	return s + SumSqDevRef(x[n:], a)
}

// BNGradSums returns Σg and Σg·(x-mean) over a batch-norm plane, where g is
// dy masked by y > 0 (a fused ReLU's backward) when y is not nil: the two
// reductions of the batch-norm backward pass.
func BNGradSums(dy, x, y []float32, mean float32) (sumG, sumGX float64) {
	x = x[:len(dy)]
	if y != nil {
		y = y[:len(dy)]
	}
	sumG, sumGX, n := bnGradSumsVec(dy, x, y, mean)
	var tg, tgx float64
	if y != nil {
		tg, tgx = BNGradSumsRef(dy[n:], x[n:], y[n:], mean)
	} else {
		tg, tgx = BNGradSumsRef(dy[n:], x[n:], nil, mean)
	}
	return sumG + tg, sumGX + tgx
}

// ScaleShift computes y = x*scale + shift, then max(y, 0) when relu is set
// (NaN passes): batch norm's normalisation with its affine transform folded
// into one scale and shift per channel, and the fused ReLU. y may alias x.
func ScaleShift(y, x []float32, scale, shift float32, relu bool) {
	y = y[:len(x)]
	n := scaleShiftVec(y, x, scale, shift, relu)
	ScaleShiftRef(y[n:], x[n:], scale, shift, relu)
}

// BNBackwardDx writes the training-mode batch-norm input gradient
// dx = k·(g - meanG - (x-mean)·proj), where g is dy masked by y > 0 when y
// is not nil. dx may alias dy.
func BNBackwardDx(dx, dy, x, y []float32, mean, k, meanG, proj float64) {
	dx, x = dx[:len(dy)], x[:len(dy)]
	if y != nil {
		y = y[:len(dy)]
	}
	n := bnBackwardDxVec(dx, dy, x, y, mean, k, meanG, proj)
	if y != nil {
		BNBackwardDxRef(dx[n:], dy[n:], x[n:], y[n:], mean, k, meanG, proj)
	} else {
		BNBackwardDxRef(dx[n:], dy[n:], x[n:], nil, mean, k, meanG, proj)
	}
}

// MaskScale writes dx = g·k, where g is dy masked by y > 0 when y is not
// nil: the eval-mode batch-norm input gradient. dx may alias dy.
func MaskScale(dx, dy, y []float32, k float32) {
	dx = dx[:len(dy)]
	if y != nil {
		y = y[:len(dy)]
	}
	n := maskScaleVec(dx, dy, y, k)
	if y != nil {
		MaskScaleRef(dx[n:], dy[n:], y[n:], k)
	} else {
		MaskScaleRef(dx[n:], dy[n:], nil, k)
	}
}

// ReLU computes y = max(x, 0); NaN passes. y may alias x.
func ReLU(y, x []float32) {
	y = y[:len(x)]
	n := reluVec(y, x)
	ReLURef(y[n:], x[n:])
}

// ReLUBackward computes dx = dy where y > 0, else 0 (also where y is
// NaN). dx may alias dy.
func ReLUBackward(dx, dy, y []float32) {
	dx, y = dx[:len(dy)], y[:len(dy)]
	n := reluBackwardVec(dx, dy, y)
	ReLUBackwardRef(dx[n:], dy[n:], y[n:])
}

// AddReLU computes y = max(a+b, 0), the end of a residual block; NaN
// passes. y may alias a or b.
func AddReLU(y, a, b []float32) {
	y, b = y[:len(a)], b[:len(a)]
	n := addReLUVec(y, a, b)
	AddReLURef(y[n:], a[n:], b[n:])
}

// Add computes y = a + b. y may alias a or b.
func Add(y, a, b []float32) {
	y, b = y[:len(a)], b[:len(a)]
	n := addVec(y, a, b)
	AddRef(y[n:], a[n:], b[n:])
}

// Scale computes x *= s.
func Scale(x []float32, s float32) {
	n := scaleVec(x, s)
	ScaleRef(x[n:], s)
}

// Fill sets every element of x to v.
func Fill(x []float32, v float32) {
	n := fillVec(x, v)
	FillRef(x[n:], v)
}

// SGD is torch.optim.SGD's update of one tensor (see SGDRef).
func SGD(w, g, buf []float32, p SGDParams, first bool) {
	g = g[:len(w)]
	if buf != nil {
		buf = buf[:len(w)]
	}
	n := sgdVec(w, g, buf, p, first)
	if buf != nil {
		SGDRef(w[n:], g[n:], buf[n:], p, first)
	} else {
		SGDRef(w[n:], g[n:], nil, p, first)
	}
}

// Adam is torch.optim.Adam's or AdamW's update of one tensor (see AdamRef).
func Adam(w, g, m, v []float32, p AdamParams) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	n := adamVec(w, g, m, v, p)
	AdamRef(w[n:], g[n:], m[n:], v[n:], p)
}
