//go:build !goexperiment.simd || !(amd64 || wasm)

package augment

// Without GOEXPERIMENT=simd (or on an architecture with no vector path
// here) the loops are scalar: each vector loop does nothing.

func vecPath() string { return "scalar" }

func contrastVec([]float32, float32, float32, float32, float32) int { return 0 }
func toFloatVec([]float32, []uint8) int                             { return 0 }

func innerVec(_, _, _, _ []float32, _, _, _, _ int64, _ int, _ *[3]float32) int { return 0 }
