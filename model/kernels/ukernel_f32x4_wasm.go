//go:build goexperiment.simd && wasm

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// f32_gemm_4x8__wasmsimd: first version (results and the final choice come
// in the next commits).
func init() {
	registerKernel(&ukernel{
		name: "f32_gemm_4x8__wasmsimd", priority: 10, mr: 4, nr: 8, kc: 256, mc: 128, nc: 1024,
		fn: gemm4x8WasmSIMD,
	})
}

// ld4 loads the 4 floats at p+off.
func ld4(p unsafe.Pointer, off uintptr) archsimd.Float32x4 {
	return archsimd.LoadFloat32x4Array((*[4]float32)(unsafe.Add(p, off)))
}

// bc broadcasts the float at p+off to all 4 lanes.
func bc(p unsafe.Pointer, off uintptr) archsimd.Float32x4 {
	return archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(p, off)))
}

// add4 adds x to the 4 floats at p.
func add4(p unsafe.Pointer, x archsimd.Float32x4) {
	q := (*[4]float32)(p)
	archsimd.LoadFloat32x4Array(q).Add(x).StoreArray(q)
}

func gemm4x8WasmSIMD(kc int, a, b, c unsafe.Pointer, ldc int) {
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x4
	n := kc
	for {
		{
			b0 := ld4(b, 0)
			b1 := ld4(b, 16)
			av0 := ld4(a, 0)
			a0 := archsimd.BroadcastFloat32x4(av0.GetElem(0))
			c00 = c00.Add(b0.Mul(a0))
			c01 = c01.Add(b1.Mul(a0))
			a1 := archsimd.BroadcastFloat32x4(av0.GetElem(1))
			c10 = c10.Add(b0.Mul(a1))
			c11 = c11.Add(b1.Mul(a1))
			a2 := archsimd.BroadcastFloat32x4(av0.GetElem(2))
			c20 = c20.Add(b0.Mul(a2))
			c21 = c21.Add(b1.Mul(a2))
			a3 := archsimd.BroadcastFloat32x4(av0.GetElem(3))
			c30 = c30.Add(b0.Mul(a3))
			c31 = c31.Add(b1.Mul(a3))
		}
		n--
		if n == 0 {
			break
		}
		a = unsafe.Add(a, 16)
		b = unsafe.Add(b, 32)
	}
	r0 := c
	add4(unsafe.Add(r0, 0), c00)
	add4(unsafe.Add(r0, 16), c01)
	r1 := unsafe.Add(c, 4*ldc)
	add4(unsafe.Add(r1, 0), c10)
	add4(unsafe.Add(r1, 16), c11)
	r2 := unsafe.Add(c, 8*ldc)
	add4(unsafe.Add(r2, 0), c20)
	add4(unsafe.Add(r2, 16), c21)
	r3 := unsafe.Add(c, 12*ldc)
	add4(unsafe.Add(r3, 0), c30)
	add4(unsafe.Add(r3, 16), c31)
}
