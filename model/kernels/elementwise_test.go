package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// The elementwise kernels against their references, on lengths that leave
// every kind of tail (odd, one short of and one past a vector, a reduction
// block, a few thousand) and on slices that start off a vector boundary.
// In a build without a vector path the kernels are their references and
// these tests check the plumbing (tails, aliasing, nil masks).

var ewLengths = []int{0, 1, 3, 7, 8, 17, 49, 63, 64, 65, 255, 256, 257, 513, 3136, 4099}

// ewOffsets: where the data starts in its backing array (1 is misaligned
// for every vector width).
var ewOffsets = []int{0, 1}

func TestElementwisePath(t *testing.T) {
	p := ElementwisePath()
	t.Logf("elementwise path: %s (GOARCH %s)", p, runtime.GOARCH)
	switch runtime.GOARCH {
	case "wasm":
		if p != "f32x4_wasmsimd" && p != "scalar" {
			t.Errorf("path %q in wasm", p)
		}
	case "amd64":
		if p != "f32x8_avx2_fma" && p != "scalar" {
			t.Errorf("path %q on amd64", p)
		}
	default:
		if p != "scalar" {
			t.Errorf("path %q on %s", p, runtime.GOARCH)
		}
	}
}

// ewData is n normal values (times scale) at offset off in a fresh slice.
func ewData(r *rand.Rand, n, off int, scale float32) []float32 {
	s := make([]float32, n+off)[off:]
	for i := range s {
		s[i] = float32(r.NormFloat64()) * scale
	}
	return s
}

// ewSpecials sprinkles NaN, ±Inf, ±0 and exact negatives over x.
func ewSpecials(r *rand.Rand, x []float32) {
	sp := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), -1}
	for k := 0; k < len(x)/11+1 && len(x) > 0; k++ {
		x[r.IntN(len(x))] = sp[r.IntN(len(sp))]
	}
}

func ewClone(x []float32) []float32 { return append([]float32(nil), x...) }

// same: equal, or both NaN (NaN payloads and the sign of a NaN may differ).
func same(a, b float32) bool { return a == b || (a != a && b != b) }

func ewExact(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if !same(got[i], want[i]) {
			t.Fatalf("%s: [%d] = %v, reference %v", what, i, got[i], want[i])
		}
	}
}

// ewClose: |got-want| <= tol[i] elementwise; NaN and ±Inf must match.
func ewClose(t *testing.T, what string, got, want, tol []float32) {
	t.Helper()
	for i := range want {
		g, w := got[i], want[i]
		if same(g, w) {
			continue
		}
		if math.IsInf(float64(w), 0) || w != w || !(math.Abs(float64(g-w)) <= float64(tol[i])) {
			t.Fatalf("%s: [%d] = %v, reference %v (tolerance %v)", what, i, g, w, tol[i])
		}
	}
}

func ewCloseSum(t *testing.T, what string, got, want, scale float64) {
	t.Helper()
	if got == want || (math.IsNaN(got) && math.IsNaN(want)) {
		return
	}
	if !(math.Abs(got-want) <= 1e-6*scale+1e-30) {
		t.Fatalf("%s: %v, reference %v (|diff| %.3g, scale %.3g)", what, got, want, math.Abs(got-want), scale)
	}
}

func ewEach(t *testing.T, f func(t *testing.T, r *rand.Rand, n, off int)) {
	for _, n := range ewLengths {
		for _, off := range ewOffsets {
			t.Run(fmt.Sprintf("n%d_off%d", n, off), func(t *testing.T) {
				f(t, rand.New(rand.NewPCG(uint64(n), uint64(off))), n, off)
			})
		}
	}
}

func TestSumMatchesReference(t *testing.T) {
	ewEach(t, func(t *testing.T, r *rand.Rand, n, off int) {
		x := ewData(r, n, off, 3)
		for i := range x {
			x[i] += 2 // a mean far from 0, as after a convolution
		}
		var abs float64
		for _, v := range x {
			abs += math.Abs(float64(v))
		}
		ewCloseSum(t, "Sum", Sum(x), SumRef(x), abs)
		a := float32(SumRef(x) / float64(max(n, 1)))
		ewCloseSum(t, "SumSqDev", SumSqDev(x, a), SumSqDevRef(x, a), SumSqDevRef(x, a))
		ewCloseSum(t, "SumSqDev(0)", SumSqDev(x, 0), SumSqDevRef(x, 0), SumSqDevRef(x, 0))
	})
}

func TestSumPropagatesNaNAndInf(t *testing.T) {
	x := make([]float32, 100)
	x[50] = float32(math.NaN())
	if s := Sum(x); !math.IsNaN(s) {
		t.Errorf("Sum with a NaN = %v", s)
	}
	x[50] = float32(math.Inf(1))
	if s := Sum(x); !math.IsInf(s, 1) {
		t.Errorf("Sum with +Inf = %v", s)
	}
}

func TestBNGradSumsMatchesReference(t *testing.T) {
	ewEach(t, func(t *testing.T, r *rand.Rand, n, off int) {
		dy, x, y := ewData(r, n, off, 1), ewData(r, n, off, 2), ewData(r, n, off, 1)
		mean := float32(0.3)
		for _, masked := range []bool{false, true} {
			yy := y
			if !masked {
				yy = nil
			}
			var sg, sgx float64
			for i := range dy {
				sg += math.Abs(float64(dy[i]))
				sgx += math.Abs(float64(dy[i]) * (float64(x[i]) - float64(mean)))
			}
			g, gx := BNGradSums(dy, x, yy, mean)
			wg, wgx := BNGradSumsRef(dy, x, yy, mean)
			ewCloseSum(t, fmt.Sprintf("sumG masked=%v", masked), g, wg, sg)
			ewCloseSum(t, fmt.Sprintf("sumGX masked=%v", masked), gx, wgx, sgx)
		}
		// Masked-out positions contribute nothing, even an infinite x or a
		// NaN dy; a NaN y masks its position out.
		for i := 0; i < n; i += 5 {
			switch i % 3 {
			case 0:
				y[i], x[i] = -1, float32(math.Inf(1))
			case 1:
				y[i], dy[i] = 0, float32(math.NaN())
			default:
				y[i], dy[i] = float32(math.NaN()), float32(math.NaN())
			}
		}
		g, gx := BNGradSums(dy, x, y, mean)
		wg, wgx := BNGradSumsRef(dy, x, y, mean)
		if math.IsNaN(g) || math.IsNaN(gx) || math.IsNaN(wg) || math.IsNaN(wgx) {
			t.Fatalf("masked specials leaked: %v %v (reference %v %v)", g, gx, wg, wgx)
		}
		ewCloseSum(t, "sumG specials", g, wg, 1e3)
		ewCloseSum(t, "sumGX specials", gx, wgx, 1e4)
	})
}

func TestScaleShiftMatchesReference(t *testing.T) {
	ewEach(t, func(t *testing.T, r *rand.Rand, n, off int) {
		x := ewData(r, n, off, 2)
		ewSpecials(r, x)
		scale, shift := float32(0.7), float32(-0.4)
		tol := make([]float32, n)
		for i, v := range x {
			tol[i] = 2 * 6e-8 * (float32(math.Abs(float64(v*scale))) + float32(math.Abs(float64(shift))))
		}
		for _, relu := range []bool{false, true} {
			want, got := make([]float32, n), make([]float32, n)
			ScaleShiftRef(want, x, scale, shift, relu)
			ScaleShift(got, x, scale, shift, relu)
			ewClose(t, fmt.Sprintf("ScaleShift relu=%v", relu), got, want, tol)
			in := ewClone(x) // in place
			ScaleShift(in, in, scale, shift, relu)
			ewClose(t, fmt.Sprintf("ScaleShift in place relu=%v", relu), in, want, tol)
		}
	})
}

func TestBNBackwardDxMatchesReference(t *testing.T) {
	ewEach(t, func(t *testing.T, r *rand.Rand, n, off int) {
		dy, x, y := ewData(r, n, off, 1), ewData(r, n, off, 2), ewData(r, n, off, 1)
		mean, k, meanG, proj := 0.25, 1.7, -0.03, 0.4
		tol := make([]float32, n)
		for i := range dy {
			tol[i] = float32(4e-7 * (math.Abs(k*float64(dy[i])) + math.Abs(k*meanG) + math.Abs(k*proj*(float64(x[i])-mean))))
		}
		for _, masked := range []bool{false, true} {
			yy := y
			if !masked {
				yy = nil
			}
			want, got := make([]float32, n), make([]float32, n)
			BNBackwardDxRef(want, dy, x, yy, mean, k, meanG, proj)
			BNBackwardDx(got, dy, x, yy, mean, k, meanG, proj)
			ewClose(t, fmt.Sprintf("BNBackwardDx masked=%v", masked), got, want, tol)
			in := ewClone(dy)
			BNBackwardDx(in, in, x, yy, mean, k, meanG, proj)
			ewClose(t, fmt.Sprintf("BNBackwardDx in place masked=%v", masked), in, want, tol)
		}
	})
}

func TestMaskingKernelsMatchReferences(t *testing.T) {
	ewEach(t, func(t *testing.T, r *rand.Rand, n, off int) {
		a, b, y := ewData(r, n, off, 1), ewData(r, n, off, 1), ewData(r, n, off, 1)
		ewSpecials(r, a)
		ewSpecials(r, b)
		ewSpecials(r, y)
		check := func(what string, fast, ref func(out []float32)) {
			t.Helper()
			got, want := make([]float32, n), make([]float32, n)
			ref(want)
			fast(got)
			ewExact(t, what, got, want)
		}
		check("ReLU", func(o []float32) { ReLU(o, a) }, func(o []float32) { ReLURef(o, a) })
		check("ReLUBackward", func(o []float32) { ReLUBackward(o, a, y) }, func(o []float32) { ReLUBackwardRef(o, a, y) })
		check("AddReLU", func(o []float32) { AddReLU(o, a, b) }, func(o []float32) { AddReLURef(o, a, b) })
		check("Add", func(o []float32) { Add(o, a, b) }, func(o []float32) { AddRef(o, a, b) })
		check("MaskScale", func(o []float32) { MaskScale(o, a, y, 0.3) }, func(o []float32) { MaskScaleRef(o, a, y, 0.3) })
		check("MaskScale nil", func(o []float32) { MaskScale(o, a, nil, 0.3) }, func(o []float32) { MaskScaleRef(o, a, nil, 0.3) })
		check("Scale", func(o []float32) { copy(o, a); Scale(o, -1.5) }, func(o []float32) { copy(o, a); ScaleRef(o, -1.5) })
		check("Fill", func(o []float32) { Fill(o, 2.5) }, func(o []float32) { FillRef(o, 2.5) })
		// In place, as the layers call them.
		check("ReLU in place", func(o []float32) { copy(o, a); ReLU(o, o) }, func(o []float32) { ReLURef(o, a) })
		check("ReLUBackward in place", func(o []float32) { copy(o, a); ReLUBackward(o, o, y) }, func(o []float32) { ReLUBackwardRef(o, a, y) })
		check("AddReLU in place", func(o []float32) { copy(o, a); AddReLU(o, o, b) }, func(o []float32) { AddReLURef(o, a, b) })
	})
}

// TestReLUPassesNaN: the promise the layers make (PyTorch's behaviour).
func TestReLUPassesNaN(t *testing.T) {
	nan := float32(math.NaN())
	for _, n := range ewLengths[1:] {
		x := make([]float32, n)
		for i := range x {
			x[i] = -1
		}
		x[n-1], x[n/2] = nan, nan
		y := make([]float32, n)
		ReLU(y, x)
		AddReLU(x, x, y) // NaN + anything
		ScaleShift(y, y, 1, 0, true)
		for _, i := range []int{n / 2, n - 1} {
			if y[i] == y[i] || x[i] == x[i] {
				t.Fatalf("n=%d: NaN at %d did not pass: ReLU/ScaleShift %v, AddReLU %v", n, i, y[i], x[i])
			}
		}
	}
}

func TestOptimizerKernelsMatchReferences(t *testing.T) {
	// amd64 and wasm do no fusing in the references, so the vector updates
	// are bit-identical there; elsewhere allow a few ulps.
	exact := runtime.GOARCH == "amd64" || runtime.GOARCH == "wasm"
	cmp := func(t *testing.T, what string, got, want []float32) {
		t.Helper()
		if exact {
			ewExact(t, what, got, want)
			return
		}
		tol := make([]float32, len(want))
		for i, w := range want {
			tol[i] = 4 * 6e-8 * float32(math.Abs(float64(w)))
		}
		ewClose(t, what, got, want, tol)
	}
	ewEach(t, func(t *testing.T, r *rand.Rand, n, off int) {
		w0, g := ewData(r, n, off, 1), ewData(r, n, off, 0.1)
		for _, p := range []SGDParams{
			{LR: 0.1},
			{LR: 0.05, WeightDecay: 1e-4},
			{LR: 0.05, Momentum: 0.9},
			{LR: 0.05, Momentum: 0.9, Dampening: 0.1, WeightDecay: 5e-4},
			{LR: 0.01, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4},
		} {
			for _, first := range []bool{true, false} {
				w1, w2 := ewClone(w0), ewClone(w0)
				var b1, b2 []float32
				if p.Momentum != 0 {
					b1 = ewData(r, n, off, 0.05)
					b2 = ewClone(b1)
				}
				SGDRef(w1, g, b1, p, first)
				SGD(w2, g, b2, p, first)
				what := fmt.Sprintf("SGD %+v first=%v", p, first)
				cmp(t, what+" w", w2, w1)
				cmp(t, what+" buf", b2, b1)
			}
		}
		for _, decoupled := range []bool{false, true} {
			for _, wd := range []float32{0, 1e-2} {
				w1, w2 := ewClone(w0), ewClone(w0)
				m1, v1 := ewData(r, n, off, 0.01), ewData(r, n, off, 0.001)
				for i := range v1 {
					v1[i] *= v1[i] // a second moment is not negative
				}
				if n > 2 {
					v1[0], g[1] = 0, 0 // a fresh moment: sqrt(0)
				}
				m2, v2 := ewClone(m1), ewClone(v1)
				for step := 1; step <= 3; step++ {
					p := NewAdamParams(1e-3, 0.9, 0.999, 1e-8, wd, decoupled, step)
					AdamRef(w1, g, m1, v1, p)
					Adam(w2, g, m2, v2, p)
				}
				what := fmt.Sprintf("Adam decoupled=%v wd=%v", decoupled, wd)
				cmp(t, what+" w", w2, w1)
				cmp(t, what+" m", m2, m1)
				cmp(t, what+" v", v2, v1)
			}
		}
	})
}
