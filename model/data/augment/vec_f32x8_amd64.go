//go:build goexperiment.simd && amd64

package augment

import (
	"simd/archsimd"
	"unsafe"
)

// The amd64 vector loops (AVX2 with FMA; nothing without them). Each
// processes whole vectors of its slices and returns how many elements that
// was; the caller does the rest with the scalar loop. They step through
// raw pointers within the lengths they were given, and end with
// VZEROUPPER: the scalar SSE code after them (the sampling loops) runs far
// slower with the upper halves of the vector registers dirty (measured:
// the rotation loops took 1.6x as long).

var vecOK = archsimd.X86.AVX2() && archsimd.X86.FMA()

func vecPath() string {
	if vecOK {
		return "f32x8_avx2_fma"
	}
	return "scalar"
}

type f32x8 = archsimd.Float32x8

func ld8(p unsafe.Pointer, i int) f32x8 {
	return archsimd.LoadFloat32x8Array((*[8]float32)(unsafe.Add(p, 4*i)))
}

func st8(p unsafe.Pointer, i int, v f32x8) { v.StoreArray((*[8]float32)(unsafe.Add(p, 4*i))) }

// contrastVec is contrastPlane's loop: v*f + k clipped to [lo, hi].
func contrastVec(plane []float32, f, k, lo, hi float32) int {
	if !vecOK {
		return 0
	}
	n := len(plane) &^ 7
	p := unsafe.Pointer(unsafe.SliceData(plane))
	fv, kv := archsimd.BroadcastFloat32x8(f), archsimd.BroadcastFloat32x8(k)
	lv, hv := archsimd.BroadcastFloat32x8(lo), archsimd.BroadcastFloat32x8(hi)
	for i := 0; i < n; i += 8 {
		st8(p, i, ld8(p, i).MulAdd(fv, kv).Max(lv).Min(hv))
	}
	archsimd.ClearAVXUpperBits()
	return n
}

// toFloatVec is toFloat's loop: dst[i] = float32(src[i]).
func toFloatVec(dst []float32, src []uint8) int {
	if !vecOK {
		return 0
	}
	n := min(len(dst), len(src))
	if n < 16 {
		return 0
	}
	// 16 bytes are loaded for 8 elements: stop while 16 remain.
	m := (n - 8) &^ 7
	d, s := unsafe.Pointer(unsafe.SliceData(dst)), unsafe.Pointer(unsafe.SliceData(src))
	for i := 0; i < m; i += 8 {
		b := archsimd.LoadUint8x16Array((*[16]uint8)(unsafe.Add(s, i)))
		st8(d, i, b.ExtendLo8ToUint32().AsInt32x8().ConvertToFloat32())
	}
	archsimd.ClearAVXUpperBits()
	return m
}
