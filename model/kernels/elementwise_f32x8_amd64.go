//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// The elementwise kernels' amd64 vector loops: Float32x8 (AVX2) with FMA
// where a kernel multiplies and adds. Each processes the whole vectors of
// its slices and returns how many elements that was (a multiple of 8); the
// caller in elementwise.go hands the rest to the reference. On a CPU
// without AVX2 and FMA they do nothing and return 0.
//
// The loops step through raw pointers (unsafe.Add from the first element:
// no bounds checks in the loop, DESIGN.md section 3); the element counts
// they may touch were checked against every slice's length by the caller.
// Every MulAdd's receiver is a value that dies there (a fresh load or a
// temporary), since amd64 FMA overwrites it.

var ewAVX2FMA = archsimd.X86.AVX2() && archsimd.X86.FMA()

func vecPath() string {
	if ewAVX2FMA {
		return "f32x8_avx2_fma"
	}
	return "scalar"
}

type f32x8 = archsimd.Float32x8

// ewLoad and ewStore access the 8 floats at element i of p.
func ewLoad(p unsafe.Pointer, i int) f32x8 {
	return archsimd.LoadFloat32x8Array((*[8]float32)(unsafe.Add(p, 4*i)))
}

func ewStore(p unsafe.Pointer, i int, v f32x8) {
	v.StoreArray((*[8]float32)(unsafe.Add(p, 4*i)))
}

func bcast(v float32) f32x8 { return archsimd.BroadcastFloat32x8(v) }

// ewFold adds the 8 lanes of v in float64.
func ewFold(v f32x8) float64 {
	var a [8]float32
	v.StoreArray(&a)
	return ((float64(a[0]) + float64(a[1])) + (float64(a[2]) + float64(a[3]))) +
		((float64(a[4]) + float64(a[5])) + (float64(a[6]) + float64(a[7])))
}

// vecLen is how many elements the vector loops cover of a length-n input:
// whole vectors, or none without AVX2 and FMA.
func vecLen(n int) int {
	if !ewAVX2FMA {
		return 0
	}
	return n &^ 7
}

func ptr(x []float32) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(x)) }

func sumVec(x []float32) (float64, int) {
	n := vecLen(len(x))
	p := ptr(x)
	var s float64
	for i := 0; i < n; {
		end := min(i+sumBlock, n)
		var a0, a1, a2, a3 f32x8
		for ; i+32 <= end; i += 32 {
			a0 = a0.Add(ewLoad(p, i))
			a1 = a1.Add(ewLoad(p, i+8))
			a2 = a2.Add(ewLoad(p, i+16))
			a3 = a3.Add(ewLoad(p, i+24))
		}
		for ; i < end; i += 8 {
			a0 = a0.Add(ewLoad(p, i))
		}
		s += ewFold(a0.Add(a1).Add(a2.Add(a3)))
	}
	return s, n
}

func sumSqDevVec(x []float32, a float32) (float64, int) {
	n := vecLen(len(x))
	p := ptr(x)
	av := bcast(a)
	var s float64
	for i := 0; i < n; {
		end := min(i+sumBlock, n)
		var a0, a1, a2, a3 f32x8
		for ; i+32 <= end; i += 32 {
			d0 := ewLoad(p, i).Sub(av)
			d1 := ewLoad(p, i+8).Sub(av)
			d2 := ewLoad(p, i+16).Sub(av)
			d3 := ewLoad(p, i+24).Sub(av)
			a0 = d0.MulAdd(d0, a0)
			a1 = d1.MulAdd(d1, a1)
			a2 = d2.MulAdd(d2, a2)
			a3 = d3.MulAdd(d3, a3)
		}
		for ; i < end; i += 8 {
			d0 := ewLoad(p, i).Sub(av)
			a0 = d0.MulAdd(d0, a0)
		}
		s += ewFold(a0.Add(a1).Add(a2.Add(a3)))
	}
	// The float32 deviations were taken from a, which is exact: nothing to
	// correct.
	return s, n
}

func bnGradSumsVec(dy, x, y []float32, mean float32) (sumG, sumGX float64, n int) {
	n = vecLen(len(dy))
	pdy, px := ptr(dy), ptr(x)
	mv := bcast(mean)
	if y == nil {
		for i := 0; i < n; {
			end := min(i+sumBlock, n)
			var g0, g1, h0, h1 f32x8
			for ; i+16 <= end; i += 16 {
				d0, d1 := ewLoad(pdy, i), ewLoad(pdy, i+8)
				g0, g1 = g0.Add(d0), g1.Add(d1)
				h0 = ewLoad(px, i).Sub(mv).MulAdd(d0, h0)
				h1 = ewLoad(px, i+8).Sub(mv).MulAdd(d1, h1)
			}
			for ; i < end; i += 8 {
				d0 := ewLoad(pdy, i)
				g0 = g0.Add(d0)
				h0 = ewLoad(px, i).Sub(mv).MulAdd(d0, h0)
			}
			sumG += ewFold(g0.Add(g1))
			sumGX += ewFold(h0.Add(h1))
		}
		return sumG, sumGX, n
	}
	// With the ReLU mask, both the gradient and the deviation are zeroed
	// where y <= 0 (or NaN): the reference skips those elements, so an
	// infinite x there must not turn into 0*Inf = NaN.
	py := ptr(y)
	var zero f32x8
	for i := 0; i < n; {
		end := min(i+sumBlock, n)
		var g0, g1, h0, h1 f32x8
		for ; i+16 <= end; i += 16 {
			m0, m1 := ewLoad(py, i).Greater(zero), ewLoad(py, i+8).Greater(zero)
			d0, d1 := ewLoad(pdy, i).Masked(m0), ewLoad(pdy, i+8).Masked(m1)
			g0, g1 = g0.Add(d0), g1.Add(d1)
			h0 = ewLoad(px, i).Sub(mv).Masked(m0).MulAdd(d0, h0)
			h1 = ewLoad(px, i+8).Sub(mv).Masked(m1).MulAdd(d1, h1)
		}
		for ; i < end; i += 8 {
			m0 := ewLoad(py, i).Greater(zero)
			d0 := ewLoad(pdy, i).Masked(m0)
			g0 = g0.Add(d0)
			h0 = ewLoad(px, i).Sub(mv).Masked(m0).MulAdd(d0, h0)
		}
		sumG += ewFold(g0.Add(g1))
		sumGX += ewFold(h0.Add(h1))
	}
	return sumG, sumGX, n
}

func scaleShiftVec(y, x []float32, scale, shift float32, relu bool) int {
	n := vecLen(len(x))
	px, py := ptr(x), ptr(y)
	sc, sh := bcast(scale), bcast(shift)
	if !relu {
		for i := 0; i < n; i += 8 {
			ewStore(py, i, ewLoad(px, i).MulAdd(sc, sh))
		}
		return n
	}
	var zero f32x8
	for i := 0; i < n; i += 8 {
		o := ewLoad(px, i).MulAdd(sc, sh)
		ewStore(py, i, zero.IfElse(o.Less(zero), o)) // NaN is not < 0: it passes
	}
	return n
}

func bnBackwardDxVec(dx, dy, x, y []float32, mean, k, meanG, proj float64) int {
	n := vecLen(len(dy))
	pdx, pdy, px := ptr(dx), ptr(dy), ptr(x)
	// dx = k·g - k·meanG - (x-mean)·k·proj
	kv, c0, c1, mv := bcast(float32(k)), bcast(float32(-k*meanG)), bcast(float32(-k*proj)), bcast(float32(mean))
	if y == nil {
		for i := 0; i < n; i += 8 {
			u := ewLoad(pdy, i).MulAdd(kv, c0)
			ewStore(pdx, i, ewLoad(px, i).Sub(mv).MulAdd(c1, u))
		}
		return n
	}
	py := ptr(y)
	var zero f32x8
	for i := 0; i < n; i += 8 {
		u := ewLoad(pdy, i).Masked(ewLoad(py, i).Greater(zero)).MulAdd(kv, c0)
		ewStore(pdx, i, ewLoad(px, i).Sub(mv).MulAdd(c1, u))
	}
	return n
}

func maskScaleVec(dx, dy, y []float32, k float32) int {
	n := vecLen(len(dy))
	pdx, pdy := ptr(dx), ptr(dy)
	kv := bcast(k)
	if y == nil {
		for i := 0; i < n; i += 8 {
			ewStore(pdx, i, ewLoad(pdy, i).Mul(kv))
		}
		return n
	}
	py := ptr(y)
	var zero f32x8
	for i := 0; i < n; i += 8 {
		ewStore(pdx, i, ewLoad(pdy, i).Masked(ewLoad(py, i).Greater(zero)).Mul(kv))
	}
	return n
}

func reluVec(y, x []float32) int {
	n := vecLen(len(x))
	px, py := ptr(x), ptr(y)
	var zero f32x8
	for i := 0; i < n; i += 8 {
		v := ewLoad(px, i)
		ewStore(py, i, zero.IfElse(v.Less(zero), v))
	}
	return n
}

func reluBackwardVec(dx, dy, y []float32) int {
	n := vecLen(len(dy))
	pdx, pdy, py := ptr(dx), ptr(dy), ptr(y)
	var zero f32x8
	for i := 0; i < n; i += 8 {
		ewStore(pdx, i, ewLoad(pdy, i).Masked(ewLoad(py, i).Greater(zero)))
	}
	return n
}

func addReLUVec(y, a, b []float32) int {
	n := vecLen(len(a))
	py, pa, pb := ptr(y), ptr(a), ptr(b)
	var zero f32x8
	for i := 0; i < n; i += 8 {
		s := ewLoad(pa, i).Add(ewLoad(pb, i))
		ewStore(py, i, zero.IfElse(s.Less(zero), s))
	}
	return n
}

func addVec(y, a, b []float32) int {
	n := vecLen(len(a))
	py, pa, pb := ptr(y), ptr(a), ptr(b)
	for i := 0; i < n; i += 8 {
		ewStore(py, i, ewLoad(pa, i).Add(ewLoad(pb, i)))
	}
	return n
}

func scaleVec(x []float32, s float32) int {
	n := vecLen(len(x))
	p := ptr(x)
	sv := bcast(s)
	for i := 0; i < n; i += 8 {
		ewStore(p, i, ewLoad(p, i).Mul(sv))
	}
	return n
}

func fillVec(x []float32, v float32) int {
	n := vecLen(len(x))
	p := ptr(x)
	vv := bcast(v)
	for i := 0; i < n; i += 8 {
		ewStore(p, i, vv)
	}
	return n
}

// The optimizer loops use no FMA: each operation rounds as the reference's
// does, so the updates are bit-identical to it.

func sgdVec(w, g, buf []float32, p SGDParams, first bool) int {
	n := vecLen(len(w))
	pw, pg, pb := ptr(w), ptr(g), ptr(buf)
	lr, mom, damp1, wd := bcast(p.LR), bcast(p.Momentum), bcast(1-p.Dampening), bcast(p.WeightDecay)
	decay, hasBuf := p.WeightDecay != 0, buf != nil
	for i := 0; i < n; i += 8 {
		wv := ewLoad(pw, i)
		d := ewLoad(pg, i)
		if decay {
			d = d.Add(wd.Mul(wv))
		}
		if hasBuf {
			b := d
			if !first {
				b = mom.Mul(ewLoad(pb, i)).Add(damp1.Mul(d))
			}
			ewStore(pb, i, b)
			if p.Nesterov {
				d = d.Add(mom.Mul(b))
			} else {
				d = b
			}
		}
		ewStore(pw, i, wv.Sub(lr.Mul(d)))
	}
	return n
}

func adamVec(w, g, m, v []float32, p AdamParams) int {
	n := vecLen(len(w))
	pw, pg, pm, pv := ptr(w), ptr(g), ptr(m), ptr(v)
	b1, b2 := bcast(p.Beta1), bcast(p.Beta2)
	omb1, omb2 := bcast(1-p.Beta1), bcast(1-p.Beta2)
	eps, step, sqrtBC2 := bcast(p.Eps), bcast(p.StepSize), bcast(p.SqrtBC2)
	wd, decay := bcast(p.WeightDecay), bcast(1-p.LR*p.WeightDecay)
	l2, decoupled := p.WeightDecay != 0 && !p.Decoupled, p.WeightDecay != 0 && p.Decoupled
	for i := 0; i < n; i += 8 {
		wv := ewLoad(pw, i)
		d := ewLoad(pg, i)
		if decoupled {
			wv = wv.Mul(decay)
		}
		if l2 {
			d = d.Add(wd.Mul(wv))
		}
		mv := b1.Mul(ewLoad(pm, i)).Add(omb1.Mul(d))
		vv := b2.Mul(ewLoad(pv, i)).Add(omb2.Mul(d).Mul(d))
		ewStore(pm, i, mv)
		ewStore(pv, i, vv)
		denom := vv.Sqrt().Div(sqrtBC2).Add(eps)
		ewStore(pw, i, wv.Sub(step.Mul(mv).Div(denom)))
	}
	return n
}
