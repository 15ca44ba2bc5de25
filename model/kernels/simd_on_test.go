//go:build goexperiment.simd

package kernels

const simdBuild = true
