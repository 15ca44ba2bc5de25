//go:build goexperiment.simd && wasm

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// The wasm vector 3x3 stride-2 max pool. Go's wasm SIMD has no shuffle to
// split even and odd columns (the amd64 kernel's deinterleave), so this one
// computes the window maximum centred on every column s..s+7 of a group
// (two Float32x4, loads at columns -1, 0 and +1 from each), keeps the even
// centres (4 outputs) and drops the odd ones. Within a row the best of the
// three columns is taken NaN-first and ties to the left; rows combine top
// to bottom, a later row winning only when strictly greater or NaN: the
// reference's row-major scan (maxWindowRef), lane by lane.

var mpIota4 = [4]int32{0, 1, 2, 3}

// maxPool3x3s2p1Vec does the outputs in columns [lo, hi) of every row:
// those whose windows and loads lie inside the plane.
func maxPool3x3s2p1Vec(y []float32, argmax []int32, x []float32, h, w int) (lo, hi int) {
	oh, ow := (h-1)/2+1, (w-1)/2+1
	last := min((w-9)/2, ow-4) // the last 4-output group reads up to column 2*last+8 <= w-1
	if last < 1 {
		return 0, 0
	}
	iota := archsimd.LoadInt32x4Array(&mpIota4)
	one := archsimd.BroadcastInt32x4(1)
	px := ptr(x)
	// rowBest is the best of the three columns around centres c..c+3 of
	// input row r, with their indices in the plane.
	rowBest := func(r, c int) (f32x4, archsimd.Int32x4) {
		p := unsafe.Add(px, 4*(r*w+c))
		a, b, cc := ewLoad(p, -1), ewLoad(p, 0), ewLoad(p, 1)
		ib := archsimd.BroadcastInt32x4(int32(r*w + c)).Add(iota)
		best, bi := a, ib.Sub(one)
		take := b.Greater(best).Or(b.NotEqual(b)).And(best.Equal(best))
		best, bi = b.IfElse(take, best), ib.IfElse(take, bi)
		take = cc.Greater(best).Or(cc.NotEqual(cc)).And(best.Equal(best))
		return cc.IfElse(take, best), ib.Add(one).IfElse(take, bi)
	}
	var vs [8]float32
	var is [8]int32
	for oy := 0; oy < oh; oy++ {
		r0, r1 := max(2*oy-1, 0), min(2*oy+2, h)
		for ox := 1; ; ox += 4 {
			ox = min(ox, last) // the last group may overlap the one before
			s := 2 * ox
			best0, bi0 := rowBest(r0, s)
			best1, bi1 := rowBest(r0, s+4)
			for r := r0 + 1; r < r1; r++ {
				v, vi := rowBest(r, s)
				take := v.Greater(best0).Or(v.NotEqual(v))
				best0, bi0 = v.IfElse(take, best0), vi.IfElse(take, bi0)
				v, vi = rowBest(r, s+4)
				take = v.Greater(best1).Or(v.NotEqual(v))
				best1, bi1 = v.IfElse(take, best1), vi.IfElse(take, bi1)
			}
			best0.StoreArray((*[4]float32)(vs[0:4]))
			best1.StoreArray((*[4]float32)(vs[4:8]))
			bi0.StoreArray((*[4]int32)(is[0:4]))
			bi1.StoreArray((*[4]int32)(is[4:8]))
			o := oy*ow + ox
			yo, ao := y[o:o+4:o+4], argmax[o:o+4:o+4]
			yo[0], yo[1], yo[2], yo[3] = vs[0], vs[2], vs[4], vs[6]
			ao[0], ao[1], ao[2], ao[3] = is[0], is[2], is[4], is[6]
			if ox == last {
				break
			}
		}
	}
	return 1, last + 4
}
