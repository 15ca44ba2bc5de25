package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSgemm runs the ResNet-50 im2col GEMM shapes (M x N x K:
// output channels x pixels x C*KH*KW) plus a square one, single-threaded,
// and reports GFLOP/s (and, in node, per CPU second: cpu-GFLOP/s).
func BenchmarkSgemm(b *testing.B) {
	benchSgemm(b, 1, "")
}

// BenchmarkSgemmThreads runs the same shapes with 1 and 2 threads side by
// side, to show the scaling of the worker pool.
func BenchmarkSgemmThreads(b *testing.B) {
	for _, t := range []int{1, 2} {
		benchSgemm(b, t, fmt.Sprintf("t%d/", t))
	}
}

var sgemmShapes = [][3]int{{64, 3136, 576}, {256, 784, 1152}, {512, 196, 2304}, {2048, 49, 512}, {512, 512, 512}}

func benchSgemm(b *testing.B, threads int, prefix string) {
	prev := SetThreads(threads)
	defer SetThreads(prev)
	for _, s := range sgemmShapes {
		m, n, k := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%s%dx%dx%d", prefix, m, n, k), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			a, bb, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
			Sgemm(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
			b.ResetTimer()
			cpu0 := cpuSeconds()
			for i := 0; i < b.N; i++ {
				Sgemm(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
			}
			reportRates(b, 2*float64(m*n*k)*float64(b.N), cpu0)
		})
	}
}
