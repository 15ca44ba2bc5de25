//go:build !goexperiment.simd || !amd64

package kernels

// No vector max pooling here: wasm SIMD (as Go exposes it) has no shuffle to
// split even and odd columns, and the scalar build has no vectors.
func maxPool3x3s2p1Vec(_ []float32, _ []int32, _ []float32, _, _ int) (lo, hi int) { return 0, 0 }
