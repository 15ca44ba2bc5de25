//go:build goexperiment.simd

package kernels

import (
	"simd"
	"unsafe"
)

// f32_gemm_2xV4__simd: the portable kernel for architectures without a
// kernel of their own (arm64 and others), written with the vector-size
// agnostic simd package: 2 rows by 4 vectors of whatever width the
// hardware has (V = 4 floats on 128-bit machines, 8 on AVX2), the same
// shape and receiver discipline as the AVX2 kernel. On amd64 and wasm the
// architecture-specific kernels rank above it; it is still registered
// there, so the tests run it on this machine too.
func init() {
	if simd.Emulated() {
		return // the pure-Go emulation is slower than the scalar kernel
	}
	v := simd.VectorBitSize() / 32
	registerKernel(&ukernel{
		name: "f32_gemm_2xV4__simd", priority: 5, mr: 2, nr: 4 * v, kc: 128, mc: 128, nc: 512,
		fn: gemm2xV4Portable,
	})
}

func gemm2xV4Portable(kc int, a unsafe.Pointer, aps, ajs uintptr, b, c unsafe.Pointer, ldc int) {
	v := simd.VectorBitSize() / 32
	nr := 4 * v
	bs := unsafe.Slice((*float32)(b), kc*nr)
	var c00, c01, c02, c03, c10, c11, c12, c13 simd.Float32s
	for p := 0; p < kc; p++ {
		a0 := simd.BroadcastFloat32s(*(*float32)(a))
		a1 := simd.BroadcastFloat32s(*(*float32)(unsafe.Add(a, ajs)))
		row := bs[p*nr : p*nr+nr]
		c00 = simd.LoadFloat32s(row[0:]).MulAdd(a0, c00)
		c01 = simd.LoadFloat32s(row[v:]).MulAdd(a0, c01)
		c02 = simd.LoadFloat32s(row[2*v:]).MulAdd(a0, c02)
		c03 = simd.LoadFloat32s(row[3*v:]).MulAdd(a0, c03)
		c10 = simd.LoadFloat32s(row[0:]).MulAdd(a1, c10)
		c11 = simd.LoadFloat32s(row[v:]).MulAdd(a1, c11)
		c12 = simd.LoadFloat32s(row[2*v:]).MulAdd(a1, c12)
		c13 = simd.LoadFloat32s(row[3*v:]).MulAdd(a1, c13)
		a = unsafe.Add(a, aps)
	}
	r0 := unsafe.Slice((*float32)(c), nr)
	r1 := unsafe.Slice((*float32)(unsafe.Add(c, 4*ldc)), nr)
	for i, acc := range [4]simd.Float32s{c00, c01, c02, c03} {
		simd.LoadFloat32s(r0[i*v:]).Add(acc).Store(r0[i*v:])
	}
	for i, acc := range [4]simd.Float32s{c10, c11, c12, c13} {
		simd.LoadFloat32s(r1[i*v:]).Add(acc).Store(r1[i*v:])
	}
}
