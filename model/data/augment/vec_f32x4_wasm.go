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

// innerVec: wasm's archsimd has no lane interleaves to transpose with, so
// the rotation loop stays scalar there.
func innerVec(_, _, _, _ []float32, _, _, _, _ int64, _ int, _ *[3]float32) int { return 0 }
