//go:build goexperiment.simd && js && wasm

package kernels

func init() { watSetupErr = func() error { return watGemm.err } }
