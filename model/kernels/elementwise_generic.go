//go:build !goexperiment.simd || !(amd64 || wasm)

package kernels

// Without GOEXPERIMENT=simd (or on an architecture with no vector path
// here) every elementwise kernel is its plain reference: each vector loop
// below does nothing and reports 0 elements done.

func vecPath() string { return "scalar" }

func sumVec([]float32) (float64, int)                        { return 0, 0 }
func sumSqDevVec([]float32, float32) (float64, int)          { return 0, 0 }
func scaleShiftVec(_, _ []float32, _, _ float32, _ bool) int { return 0 }
func reluVec(_, _ []float32) int                             { return 0 }
func reluBackwardVec(_, _, _ []float32) int                  { return 0 }
func addReLUVec(_, _, _ []float32) int                       { return 0 }
func addVec(_, _, _ []float32) int                           { return 0 }
func scaleVec([]float32, float32) int                        { return 0 }
func fillVec([]float32, float32) int                         { return 0 }
func maskScaleVec(_, _, _ []float32, _ float32) int          { return 0 }
func sgdVec(_, _, _ []float32, _ SGDParams, _ bool) int      { return 0 }
func adamVec(_, _, _, _ []float32, _ AdamParams) int         { return 0 }

func bnGradSumsVec(_, _, _ []float32, _ float32) (float64, float64, int) { return 0, 0, 0 }

func bnBackwardDxVec(_, _, _, _ []float32, _, _, _, _ float64) int { return 0 }
