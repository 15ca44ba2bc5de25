//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// f32_gemm_4x32__avx512f: a 4-row by 32-column tile (8 Float32x16
// accumulators) for CPUs with AVX-512, chosen over the AVX2 kernel where
// the CPU has it (this project's CI machine, an AMD Zen 4, does).
//
// Why (measured in L1 on Zen 4, best of several runs; DESIGN.md section 3
// has the AVX2 story): with AVX-512 the register file has 32 vector
// registers, so Go's allocator keeps 8 accumulators, 2 B vectors and the
// broadcast A values without spilling, and the plain form (B loaded once
// per step, A broadcast, A as MulAdd's receiver) runs at ~110 GFLOP/s
// against ~90 for the AVX2 2x32 kernel, which has to reload B for every
// FMA to keep within 16 registers. 2x64 (the same 8 accumulators) ties;
// 12 or 16 accumulators (6x32, 4x48, 4x64) and unrolling k lose (60-85).
// Zen 4 splits a 512-bit FMA into two 256-bit halves, so the gain is not
// wider arithmetic but fewer instructions and loads per FMA.
func init() {
	registerKernel(&ukernel{
		name: "f32_gemm_4x32__avx512f", priority: 15, mr: 4, nr: 32, kc: 256, mc: 128, nc: 1024,
		usable: func() bool { return archsimd.X86.AVX512() },
		fn:     gemm4x32AVX512,
	})
}

func ld16(p unsafe.Pointer, off uintptr) archsimd.Float32x16 {
	return archsimd.LoadFloat32x16Array((*[16]float32)(unsafe.Add(p, off)))
}

func add16(p unsafe.Pointer, x archsimd.Float32x16) {
	q := (*[16]float32)(p)
	archsimd.LoadFloat32x16Array(q).Add(x).StoreArray(q)
}

func gemm4x32AVX512(kc int, a unsafe.Pointer, aps, ajs uintptr, b, c unsafe.Pointer, ldc int) {
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x16
	for p := 0; p < kc; p++ {
		b0 := ld16(b, 0)
		b1 := ld16(b, 64)
		a0 := archsimd.BroadcastFloat32x16(*(*float32)(a))
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(a, ajs)))
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(a, 2*ajs)))
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(a, 3*ajs)))
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
		a = unsafe.Add(a, aps)
		b = unsafe.Add(b, 128)
	}
	row := func(i int) unsafe.Pointer { return unsafe.Add(c, 4*i*ldc) }
	add16(row(0), c00)
	add16(unsafe.Add(row(0), 64), c01)
	add16(row(1), c10)
	add16(unsafe.Add(row(1), 64), c11)
	add16(row(2), c20)
	add16(unsafe.Add(row(2), 64), c21)
	add16(row(3), c30)
	add16(unsafe.Add(row(3), 64), c31)
}
