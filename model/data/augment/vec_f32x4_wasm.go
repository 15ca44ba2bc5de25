//go:build goexperiment.simd && wasm

package augment

import (
	"simd/archsimd"
	"unsafe"
)

// The wasm vector loops: vec_f32x8_amd64.go's at 128 bits (Float32x4;
// MulAdd is a multiply and an add there). A Go wasm binary built with the
// experiment needs an engine with SIMD, so there is no run-time check.

func vecPath() string { return "f32x4_wasmsimd" }

type f32x4 = archsimd.Float32x4

func ld4(p unsafe.Pointer, i int) f32x4 {
	return archsimd.LoadFloat32x4Array((*[4]float32)(unsafe.Add(p, 4*i)))
}

func st4(p unsafe.Pointer, i int, v f32x4) { v.StoreArray((*[4]float32)(unsafe.Add(p, 4*i))) }

func contrastVec(plane []float32, f, k, lo, hi float32) int {
	n := len(plane) &^ 3
	p := unsafe.Pointer(unsafe.SliceData(plane))
	fv, kv := archsimd.BroadcastFloat32x4(f), archsimd.BroadcastFloat32x4(k)
	lv, hv := archsimd.BroadcastFloat32x4(lo), archsimd.BroadcastFloat32x4(hi)
	for i := 0; i < n; i += 4 {
		st4(p, i, ld4(p, i).MulAdd(fv, kv).Max(lv).Min(hv))
	}
	return n
}

func toFloatVec(dst []float32, src []uint8) int {
	n := min(len(dst), len(src)) &^ 15
	d, s := unsafe.Pointer(unsafe.SliceData(dst)), unsafe.Pointer(unsafe.SliceData(src))
	for i := 0; i < n; i += 16 {
		b := archsimd.LoadUint8x16Array((*[16]uint8)(unsafe.Add(s, i)))
		lo, hi := b.ExtendLo8ToUint16(), b.ExtendHi8ToUint16()
		st4(d, i, lo.ExtendLo4ToUint32().ConvertToFloat32())
		st4(d, i+4, lo.ExtendHi4ToUint32().ConvertToFloat32())
		st4(d, i+8, hi.ExtendLo4ToUint32().ConvertToFloat32())
		st4(d, i+12, hi.ExtendHi4ToUint32().ConvertToFloat32())
	}
	return n
}

// innerVec is rotGeom.inner's loop as in vec_f32x8_amd64.go, but one
// pixel at a time: wasm's archsimd has no lane interleaves to transpose
// with, so each pixel's three lanes are stored one by one.
func innerVec(d0, d1, d2, pix []float32, X, Y, dX, dY int64, w3 int, sum *[3]float32) int {
	n := min(len(d0), len(d1), len(d2))
	if n == 0 || !vecTapsIn(n, X, Y, dX, dY, w3, len(pix)) {
		return 0
	}
	pp := unsafe.Pointer(unsafe.SliceData(pix))
	d0, d1, d2 = d0[:n], d1[:n], d2[:n]
	var acc f32x4
	for x := range d0 {
		i := int(Y>>32)*w3 + 3*int(X>>32)
		fx := archsimd.BroadcastFloat32x4(float32(uint32(X)) * (1.0 / fixOne))
		fy := archsimd.BroadcastFloat32x4(float32(uint32(Y)) * (1.0 / fixOne))
		X += dX
		Y += dY
		tl, tr := ld4(pp, i), ld4(pp, i+3)
		bl, br := ld4(pp, i+w3), ld4(pp, i+w3+3)
		t := tr.Sub(tl).MulAdd(fx, tl)
		b := br.Sub(bl).MulAdd(fx, bl)
		o := b.Sub(t).MulAdd(fy, t)
		d0[x], d1[x], d2[x] = o.GetElem(0), o.GetElem(1), o.GetElem(2)
		acc = acc.Add(o)
	}
	var a [4]float32
	acc.StoreArray(&a)
	sum[0] += a[0]
	sum[1] += a[1]
	sum[2] += a[2]
	return n
}
