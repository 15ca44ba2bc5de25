//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// The vector 3x3 stride-2 max pool: 8 outputs of a row at a time. For
// outputs ox..ox+7 of one input row, the three window columns are the odd
// elements of the 16 floats from column 2ox-2 and the even and odd
// elements of the 16 from column 2ox; a permute and a 128-bit insert split
// them (deinterleave). The row's best of its three columns is taken
// NaN-first and ties to the left; rows then combine top to bottom, a later
// row winning only when strictly greater or NaN: that is the reference's
// row-major scan (maxWindowRef), lane by lane, index included.

var (
	mpSplit = [8]uint32{0, 2, 4, 6, 1, 3, 5, 7}   // evens to the low half, odds to the high
	mpCols  = [8]int32{0, 2, 4, 6, 8, 10, 12, 14} // column offsets of 8 stride-2 outputs
)

// deinterleave splits the 16 floats at p into the 8 at even and the 8 at
// odd offsets.
func deinterleave(p unsafe.Pointer, split archsimd.Uint32x8) (even, odd f32x8) {
	a := archsimd.LoadFloat32x8Array((*[8]float32)(p)).Permute(split)
	b := archsimd.LoadFloat32x8Array((*[8]float32)(unsafe.Add(p, 32))).Permute(split)
	return a.SetHi(b.GetLo()), b.SetLo(a.GetHi())
}

// maxPool3x3s2p1Vec does the outputs in columns [lo, hi) of every row:
// those whose windows and 16-float loads lie inside the plane.
func maxPool3x3s2p1Vec(y []float32, argmax []int32, x []float32, h, w int) (lo, hi int) {
	oh, ow := (h-1)/2+1, (w-1)/2+1
	last := min((w-16)/2, ow-8) // the last 8-output group: reads up to column 2*last+15 <= w-1
	if !ewAVX2FMA || last < 1 {
		return 0, 0
	}
	split := archsimd.LoadUint32x8Array(&mpSplit)
	cols := archsimd.LoadInt32x8Array(&mpCols)
	one := archsimd.BroadcastInt32x8(1)
	px, py, pa := ptr(x), ptr(y), unsafe.Pointer(unsafe.SliceData(argmax))
	// rowBest is the best of the three columns in input row r for the
	// outputs from column ox, with their indices in the plane.
	rowBest := func(r, ox int) (f32x8, archsimd.Int32x8) {
		s := 2 * ox
		row := unsafe.Add(px, 4*r*w)
		_, a := deinterleave(unsafe.Add(row, 4*(s-2)), split)
		b, c := deinterleave(unsafe.Add(row, 4*s), split)
		ib := archsimd.BroadcastInt32x8(int32(r*w + s)).Add(cols)
		best, bi := a, ib.Sub(one)
		take := b.Greater(best).Or(b.NotEqual(b)).And(best.Equal(best))
		best, bi = b.IfElse(take, best), ib.IfElse(take, bi)
		take = c.Greater(best).Or(c.NotEqual(c)).And(best.Equal(best))
		return c.IfElse(take, best), ib.Add(one).IfElse(take, bi)
	}
	for oy := 0; oy < oh; oy++ {
		r0, r1 := max(2*oy-1, 0), min(2*oy+2, h)
		for ox := 1; ; ox += 8 {
			ox = min(ox, last) // the last group may overlap the one before
			best, bi := rowBest(r0, ox)
			for r := r0 + 1; r < r1; r++ {
				v, vi := rowBest(r, ox)
				take := v.Greater(best).Or(v.NotEqual(v))
				best, bi = v.IfElse(take, best), vi.IfElse(take, bi)
			}
			o := 4 * (oy*ow + ox)
			best.StoreArray((*[8]float32)(unsafe.Add(py, o)))
			bi.StoreArray((*[8]int32)(unsafe.Add(pa, o)))
			if ox == last {
				break
			}
		}
	}
	return 1, last + 8
}
