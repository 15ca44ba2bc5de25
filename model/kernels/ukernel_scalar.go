package kernels

import "unsafe"

// The portable micro-kernel: plain Go, register-tiled 4 x 4 (16 float
// accumulators). Every build has it; it is the one used without
// GOEXPERIMENT=simd and the reference the SIMD kernels are tested against.
func init() {
	registerKernel(&ukernel{name: "f32_gemm_4x4__scalar", mr: 4, nr: 4, kc: 256, mc: 128, nc: 1024, fn: gemm4x4Scalar})
}

func gemm4x4Scalar(kc int, a unsafe.Pointer, aps, ajs uintptr, b, c unsafe.Pointer, ldc int) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p < kc; p++ {
		bv := (*[4]float32)(b)
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		a0 := *(*float32)(a)
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := *(*float32)(unsafe.Add(a, ajs))
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := *(*float32)(unsafe.Add(a, 2*ajs))
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := *(*float32)(unsafe.Add(a, 3*ajs))
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a = unsafe.Add(a, aps)
		b = unsafe.Add(b, 16)
	}
	row := func(i int) *[4]float32 { return (*[4]float32)(unsafe.Add(c, 4*i*ldc)) }
	r := row(0)
	r[0] += c00
	r[1] += c01
	r[2] += c02
	r[3] += c03
	r = row(1)
	r[0] += c10
	r[1] += c11
	r[2] += c12
	r[3] += c13
	r = row(2)
	r[0] += c20
	r[1] += c21
	r[2] += c22
	r[3] += c23
	r = row(3)
	r[0] += c30
	r[1] += c31
	r[2] += c32
	r[3] += c33
}
