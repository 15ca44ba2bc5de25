//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// f32_gemm_2x32__avx2_fma: a 2-row by 32-column tile (8 Float32x8
// accumulators) with fused multiply-add, for CPUs with AVX2 and FMA.
//
// Why this shape (measured on Zen 3, in-L1 panels, DESIGN.md section 3):
// Go's register allocator spills 12-accumulator tiles (6x16, 4x24), and
// MulAdd overwrites its receiver, so the kernel makes the receiver a fresh
// load of B (dead after the FMA) and keeps the two broadcast A values and
// the eight accumulators in registers: 88-92 GFLOP/s in L1 against 75 for
// 4x16 and 40-45 for 6x16. The B panel (kc x 32) stays in L1: kc = 128.
func init() {
	registerKernel(&ukernel{
		name: "f32_gemm_2x32__avx2_fma", priority: 10, mr: 2, nr: 32, kc: 128, mc: 128, nc: 512,
		usable: func() bool { return archsimd.X86.AVX2() && archsimd.X86.FMA() },
		fn:     gemm2x32AVX2,
	})
}

func ld8(p unsafe.Pointer, off uintptr) archsimd.Float32x8 {
	return archsimd.LoadFloat32x8Array((*[8]float32)(unsafe.Add(p, off)))
}

func add8(p unsafe.Pointer, x archsimd.Float32x8) {
	q := (*[8]float32)(p)
	archsimd.LoadFloat32x8Array(q).Add(x).StoreArray(q)
}

func gemm2x32AVX2(kc int, a unsafe.Pointer, aps, ajs uintptr, b, c unsafe.Pointer, ldc int) {
	var c00, c01, c02, c03, c10, c11, c12, c13 archsimd.Float32x8
	p := 0
	for ; p+2 <= kc; p += 2 {
		a0 := archsimd.BroadcastFloat32x8(*(*float32)(a))
		a1 := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(a, ajs)))
		c00 = ld8(b, 0).MulAdd(a0, c00)
		c01 = ld8(b, 32).MulAdd(a0, c01)
		c02 = ld8(b, 64).MulAdd(a0, c02)
		c03 = ld8(b, 96).MulAdd(a0, c03)
		c10 = ld8(b, 0).MulAdd(a1, c10)
		c11 = ld8(b, 32).MulAdd(a1, c11)
		c12 = ld8(b, 64).MulAdd(a1, c12)
		c13 = ld8(b, 96).MulAdd(a1, c13)
		a = unsafe.Add(a, aps)
		a2 := archsimd.BroadcastFloat32x8(*(*float32)(a))
		a3 := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(a, ajs)))
		c00 = ld8(b, 128).MulAdd(a2, c00)
		c01 = ld8(b, 160).MulAdd(a2, c01)
		c02 = ld8(b, 192).MulAdd(a2, c02)
		c03 = ld8(b, 224).MulAdd(a2, c03)
		c10 = ld8(b, 128).MulAdd(a3, c10)
		c11 = ld8(b, 160).MulAdd(a3, c11)
		c12 = ld8(b, 192).MulAdd(a3, c12)
		c13 = ld8(b, 224).MulAdd(a3, c13)
		a = unsafe.Add(a, aps)
		b = unsafe.Add(b, 256)
	}
	if p < kc {
		a0 := archsimd.BroadcastFloat32x8(*(*float32)(a))
		a1 := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(a, ajs)))
		c00 = ld8(b, 0).MulAdd(a0, c00)
		c01 = ld8(b, 32).MulAdd(a0, c01)
		c02 = ld8(b, 64).MulAdd(a0, c02)
		c03 = ld8(b, 96).MulAdd(a0, c03)
		c10 = ld8(b, 0).MulAdd(a1, c10)
		c11 = ld8(b, 32).MulAdd(a1, c11)
		c12 = ld8(b, 64).MulAdd(a1, c12)
		c13 = ld8(b, 96).MulAdd(a1, c13)
	}
	add8(c, c00)
	add8(unsafe.Add(c, 32), c01)
	add8(unsafe.Add(c, 64), c02)
	add8(unsafe.Add(c, 96), c03)
	r1 := unsafe.Add(c, 4*ldc)
	add8(r1, c10)
	add8(unsafe.Add(r1, 32), c11)
	add8(unsafe.Add(r1, 64), c12)
	add8(unsafe.Add(r1, 96), c13)
}
