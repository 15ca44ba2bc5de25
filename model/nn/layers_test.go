package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestConv2DGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 1))
	cases := []Conv2D{
		NewConv2D(2, 3, 7, 5, 7, 3, 1, 1), // 3x3, odd sizes, padding
		NewConv2D(1, 3, 7, 7, 3, 3, 2, 1), // 3x3 stride 2
		NewConv2D(2, 7, 5, 3, 3, 1, 1, 0), // pointwise: the GEMM-only path
		NewConv2D(2, 3, 7, 7, 1, 1, 2, 0), // 1x1 stride 2 (downsample)
		NewConv2D(1, 3, 9, 9, 3, 7, 2, 3), // the 7x7/2 stem
		NewConv2D(1, 1, 1, 1, 3, 1, 1, 0), // 1x1 spatial
	}
	for _, g := range cases {
		t.Run(fmt.Sprintf("n%d_c%d_%dx%d_oc%d_k%d_s%d_p%d", g.N, g.C, g.H, g.W, g.OC, g.KH, g.Stride, g.PadH), func(t *testing.T) {
			x, w := randn(r, g.InSize()), randn(r, g.WeightSize())
			rproj := randn(r, g.OutSize())
			y := make([]float32, g.OutSize())
			col := make([]float32, g.ColSize())
			loss := func() float64 { g.Forward(y, x, w, col); return project(y, rproj) }
			dx, dw := make([]float32, len(x)), make([]float32, len(w))
			g.Backward(dx, dw, rproj, x, w, col, false)
			checkGrad(t, "dx", x, dx, loss, 1e-2, 2e-3, nil)
			checkGrad(t, "dw", w, dw, loss, 1e-2, 2e-3, nil)

			// accumDX adds onto what is there; dw accumulates across calls.
			dx2 := make([]float32, len(x))
			for i := range dx2 {
				dx2[i] = 1
			}
			dw2 := append([]float32(nil), dw...)
			g.Backward(dx2, dw2, rproj, x, w, col, true)
			for i := range dx2 {
				if math.Abs(float64(dx2[i]-1-dx[i])) > 1e-5 {
					t.Fatalf("accumulated dx[%d] = %v, want 1 + %v", i, dx2[i], dx[i])
				}
			}
			for i := range dw2 {
				if math.Abs(float64(dw2[i]-2*dw[i])) > 1e-4*math.Max(1, math.Abs(float64(dw[i]))) {
					t.Fatalf("dw did not accumulate at %d: %v vs 2*%v", i, dw2[i], dw[i])
				}
			}
			// nil buffers skip the work and touch nothing.
			g.Backward(nil, nil, rproj, x, w, col, false)
		})
	}
}

func TestBatchNormGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 1))
	for _, shape := range [][3]int{{2, 3, 7}, {1, 7, 15}, {3, 1, 1}, {2, 3, 1}} {
		for _, train := range []bool{true, false} {
			for _, relu := range []bool{false, true} {
				g := NewBatchNorm(shape[0], shape[1], shape[2])
				t.Run(fmt.Sprintf("%v_train%v_relu%v", shape, train, relu), func(t *testing.T) {
					x := randn(r, g.N*g.C*g.HW)
					for i := range x {
						x[i] = x[i]*2 + 0.5
					}
					weight, bias := randn(r, g.C), randn(r, g.C)
					rm, rv := randn(r, g.C), make([]float32, g.C)
					for i := range rv {
						rv[i] = 0.5 + r.Float32()
					}
					y := make([]float32, len(x))
					sm, si := make([]float32, g.C), make([]float32, g.C)
					rproj := randn(r, len(x))
					fwd := func() {
						if train {
							rm2, rv2 := append([]float32(nil), rm...), append([]float32(nil), rv...)
							g.ForwardTrain(y, x, weight, bias, rm2, rv2, sm, si, relu)
						} else {
							g.ForwardEval(y, x, weight, bias, rm, rv, sm, si, relu)
						}
					}
					loss := func() float64 { fwd(); return project(y, rproj) }
					fwd()
					dx, dwt, db := make([]float32, len(x)), make([]float32, g.C), make([]float32, g.C)
					g.Backward(dx, dwt, db, rproj, x, y, weight, sm, si, train, relu)
					// Avoid the ReLU kink: skip inputs whose output is near 0.
					yref := append([]float32(nil), y...)
					var skip func(int) bool
					if relu {
						pre := make([]float32, len(x))
						if train {
							g.ForwardTrain(pre, x, weight, bias, append([]float32(nil), rm...), append([]float32(nil), rv...), sm, si, false)
						} else {
							g.ForwardEval(pre, x, weight, bias, rm, rv, sm, si, false)
						}
						near := false
						for _, v := range pre {
							if math.Abs(float64(v)) < 0.05 {
								near = true
							}
						}
						// In train mode every input moves every output of its
						// channel, so any output near 0 makes any FD unsafe.
						skip = func(i int) bool {
							if train {
								return near
							}
							return math.Abs(float64(pre[i])) < 0.05
						}
						_ = yref
					}
					if !(train && g.Count() < 2) {
						checkGradMaybe(t, "dx", x, dx, loss, skip)
						checkGradMaybe(t, "dweight", weight, dwt, loss, skip)
						checkGradMaybe(t, "dbias", bias, db, loss, skip)
					}
				})
			}
		}
	}
}

// checkGradMaybe runs checkGrad unless every element would be skipped.
func checkGradMaybe(t *testing.T, name string, x, an []float32, loss func() float64, skip func(int) bool) {
	t.Helper()
	if skip != nil {
		all := true
		for i := range x {
			if !skip(i) {
				all = false
			}
		}
		if all {
			t.Logf("%s: skipped (inputs too close to the ReLU kink)", name)
			return
		}
	}
	checkGrad(t, name, x, an, loss, 1e-2, 5e-3, skip)
}

func TestBatchNormRunningStatistics(t *testing.T) {
	g := NewBatchNorm(2, 1, 2)
	x := []float32{1, 2, 3, 6} // mean 3, biased var 3.5, unbiased 14/3
	y := make([]float32, 4)
	rm, rv := []float32{1}, []float32{2}
	sm, si := make([]float32, 1), make([]float32, 1)
	g.ForwardTrain(y, x, []float32{1}, []float32{0}, rm, rv, sm, si, false)
	if want := float32(0.9*1 + 0.1*3); math.Abs(float64(rm[0]-want)) > 1e-6 {
		t.Errorf("running mean %v, want %v", rm[0], want)
	}
	if want := float32(0.9*2 + 0.1*14.0/3); math.Abs(float64(rv[0]-want)) > 1e-6 {
		t.Errorf("running var %v, want %v (unbiased, momentum 0.1)", rv[0], want)
	}
	if want := float32(1 / math.Sqrt(3.5+1e-5)); math.Abs(float64(si[0]-want)) > 1e-6 {
		t.Errorf("invstd %v, want %v (biased variance)", si[0], want)
	}
}

func TestReLUAndAddGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 1))
	x := randn(r, 37)
	y := make([]float32, len(x))
	rproj := randn(r, len(x))
	loss := func() float64 { ReLUForward(y, x); return project(y, rproj) }
	loss()
	dx := make([]float32, len(x))
	ReLUBackward(dx, rproj, y)
	skip := func(i int) bool { return math.Abs(float64(x[i])) < 0.05 }
	checkGrad(t, "relu dx", x, dx, loss, 1e-2, 1e-3, skip)

	a, b := randn(r, 37), randn(r, 37)
	loss2 := func() float64 { AddReLUForward(y, a, b); return project(y, rproj) }
	loss2()
	ReLUBackward(dx, rproj, y)
	skip2 := func(i int) bool { return math.Abs(float64(a[i]+b[i])) < 0.05 }
	checkGrad(t, "add+relu da", a, dx, loss2, 1e-2, 1e-3, skip2)
	checkGrad(t, "add+relu db", b, dx, loss2, 1e-2, 1e-3, skip2)

	if ReLUForward(y[:1], []float32{float32(math.NaN())}); y[0] == y[0] {
		t.Error("ReLU(NaN) should stay NaN, as in PyTorch")
	}
}

// distinct returns n values spaced at least 0.1 apart in random order, so
// that a max never has near-ties for finite differences to trip on.
func distinct(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i, p := range r.Perm(n) {
		s[i] = float32(p)*0.1 - float32(n)*0.05
	}
	return s
}

func TestPoolGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 1))
	for _, g := range []Pool2D{
		NewPool2D(2, 3, 7, 7, 3, 2, 1), // the stem's max pool on an odd size
		NewPool2D(1, 1, 8, 5, 3, 2, 1),
		NewPool2D(1, 2, 1, 1, 3, 2, 1), // a 1x1 input: every window is mostly padding
		NewSamePool2D(2, 3, 7, 7, 2, 2),
		NewSamePool2D(1, 2, 4, 5, 2, 2),
		NewSamePool2D(1, 1, 1, 1, 2, 2),
	} {
		t.Run(fmt.Sprintf("%+v", g), func(t *testing.T) {
			x := distinct(r, g.InSize())
			y := make([]float32, g.OutSize())
			arg := make([]int32, g.OutSize())
			rproj := randn(r, len(y))
			dx := make([]float32, len(x))

			lossMax := func() float64 { g.MaxForward(y, x, arg); return project(y, rproj) }
			lossMax()
			g.MaxBackward(dx, rproj, arg)
			checkGrad(t, "max dx", x, dx, lossMax, 1e-2, 1e-3, nil)

			lossAvg := func() float64 { g.AvgForward(y, x); return project(y, rproj) }
			lossAvg()
			g.AvgBackward(dx, rproj)
			checkGrad(t, "avg dx", x, dx, lossAvg, 1e-2, 1e-3, nil)
		})
	}
}

func TestPoolShapesAndValues(t *testing.T) {
	// Keras 'same', 2x2 stride 2 on 7x7 -> 4x4; the last row/column windows
	// see one input row/column and average only over what they see.
	g := NewSamePool2D(1, 1, 7, 7, 2, 2)
	if g.OH != 4 || g.OW != 4 || g.PadT != 0 || g.PadL != 0 {
		t.Fatalf("same pool geometry %+v", g)
	}
	x := make([]float32, 49)
	for i := range x {
		x[i] = float32(i)
	}
	y := make([]float32, 16)
	g.AvgForward(y, x)
	if y[0] != (0+1+7+8)/4.0 || y[15] != 48 || y[3] != (6+13)/2.0 {
		t.Fatalf("same avg pool values %v", y)
	}
	// PyTorch's max pool 3x3/2 pad 1 on 112 gives 56.
	if p := NewPool2D(1, 1, 112, 112, 3, 2, 1); p.OH != 56 || p.OW != 56 {
		t.Fatalf("max pool on 112 gives %dx%d", p.OH, p.OW)
	}
	// PyTorch's AvgPool2d(3, 2, 1) counts the padding (count_include_pad).
	p := NewPool2D(1, 1, 2, 2, 3, 2, 1)
	y = make([]float32, 1)
	p.AvgForward(y, []float32{9, 9, 9, 9})
	if y[0] != 4 {
		t.Fatalf("count_include_pad average %v, want 36/9", y[0])
	}
}

func TestGlobalAvgPoolGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 1))
	nc, hw := 6, 9
	x, rproj := randn(r, nc*hw), randn(r, nc)
	y := make([]float32, nc)
	loss := func() float64 { GlobalAvgPoolForward(y, x, nc, hw); return project(y, rproj) }
	dx := make([]float32, len(x))
	GlobalAvgPoolBackward(dx, rproj, nc, hw)
	checkGrad(t, "gap dx", x, dx, loss, 1e-2, 1e-3, nil)
}

func TestLinearGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 1))
	for _, g := range []Linear{{N: 3, In: 7, Out: 5}, {N: 1, In: 1, Out: 3}, {N: 4, In: 17, Out: 1}} {
		x, w, b := randn(r, g.N*g.In), randn(r, g.Out*g.In), randn(r, g.Out)
		y, rproj := make([]float32, g.N*g.Out), randn(r, g.N*g.Out)
		loss := func() float64 { g.Forward(y, x, w, b); return project(y, rproj) }
		dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))
		g.Backward(dx, dw, db, rproj, x, w)
		checkGrad(t, "linear dx", x, dx, loss, 1e-2, 1e-3, nil)
		checkGrad(t, "linear dw", w, dw, loss, 1e-2, 1e-3, nil)
		checkGrad(t, "linear db", b, db, loss, 1e-2, 1e-3, nil)
	}
}

func TestDropout(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 1))
	x := randn(r, 10000)
	y, mask := make([]float32, len(x)), make([]float32, len(x))
	DropoutForward(y, x, mask, 0.5, rand.New(rand.NewPCG(1, 1)))
	zeros := 0
	for i := range x {
		switch mask[i] {
		case 0:
			zeros++
		case 2:
		default:
			t.Fatalf("mask[%d] = %v, want 0 or 1/(1-p)", i, mask[i])
		}
		if y[i] != x[i]*mask[i] {
			t.Fatalf("y[%d] = %v, want x*mask", i, y[i])
		}
	}
	if zeros < 4800 || zeros > 5200 {
		t.Fatalf("%d of 10000 dropped at p=0.5", zeros)
	}
	rproj := randn(r, len(x))
	dx := make([]float32, len(x))
	DropoutBackward(dx, rproj, mask)
	fixed := func() float64 {
		for i := range x {
			y[i] = x[i] * mask[i]
		}
		return project(y, rproj)
	}
	checkGrad(t, "dropout dx", x, dx, fixed, 1e-2, 1e-3, nil)
	// Same seed, same mask.
	mask2 := make([]float32, len(x))
	DropoutForward(y, x, mask2, 0.5, rand.New(rand.NewPCG(1, 1)))
	for i := range mask {
		if mask[i] != mask2[i] {
			t.Fatal("dropout is not reproducible from its seed")
		}
	}
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 1))
	n, c := 3, 5
	labels := []int{4, 0, 2}
	for _, s := range []float32{0, 0.1} {
		logits := randn(r, n*c)
		d := make([]float32, len(logits))
		if _, err := SoftmaxCrossEntropy(d, logits, labels, n, c, s); err != nil {
			t.Fatal(err)
		}
		loss := func() float64 {
			l, _ := SoftmaxCrossEntropy(nil, logits, labels, n, c, s)
			return l
		}
		checkGrad(t, fmt.Sprintf("ce dlogits (smoothing %v)", s), logits, d, loss, 1e-2, 1e-3, nil)
	}
	// Uniform logits: the loss is log(C) whatever the smoothing.
	l, _ := SoftmaxCrossEntropy(nil, make([]float32, n*c), labels, n, c, 0.3)
	if math.Abs(l-math.Log(float64(c))) > 1e-6 {
		t.Errorf("loss of uniform logits %v, want log %d", l, c)
	}
	// A known value: logits (0, ln 3) label 1 -> -log(3/4).
	l, _ = SoftmaxCrossEntropy(nil, []float32{0, float32(math.Log(3))}, []int{1}, 1, 2, 0)
	if math.Abs(l-math.Log(4.0/3)) > 1e-6 {
		t.Errorf("loss %v, want %v", l, math.Log(4.0/3))
	}
	if _, err := SoftmaxCrossEntropy(nil, make([]float32, 2), []int{2}, 1, 2, 0); err == nil {
		t.Error("label 2 of 2 classes accepted")
	}
	l, err := SoftmaxCrossEntropy(nil, []float32{float32(math.NaN()), 0}, []int{1}, 1, 2, 0)
	if err != nil || !math.IsNaN(l) {
		t.Errorf("NaN logits: loss %v err %v, want NaN and no error", l, err)
	}
}
