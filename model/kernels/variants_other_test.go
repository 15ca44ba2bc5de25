//go:build !(goexperiment.simd && wasm)

package kernels

var wasmVariants []kernelVariant
