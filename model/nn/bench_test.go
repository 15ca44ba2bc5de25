package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/goresnet/goresnet/model/kernels"
)

// BenchmarkConv times ResNet-50's convolution shapes at 224x224, batch 1,
// one thread: forward, backward to the input (data) and to the weights
// (filter), each reported in GFLOP/s of its GEMM.
func BenchmarkConv(b *testing.B) {
	prev := kernels.SetThreads(1)
	defer kernels.SetThreads(prev)
	for _, c := range []struct {
		name              string
		c, h, oc, k, s, p int
	}{
		{"stem7x7s2", 3, 224, 64, 7, 2, 3},
		{"l1_3x3", 64, 56, 64, 3, 1, 1},
		{"l1_1x1", 64, 56, 256, 1, 1, 0},
		{"l2_3x3s2", 128, 56, 128, 3, 2, 1},
		{"l2_1x1", 512, 28, 128, 1, 1, 0},
		{"l3_3x3", 256, 14, 256, 3, 1, 1},
		{"l4_3x3", 512, 7, 512, 3, 1, 1},
		{"l4_1x1", 512, 7, 2048, 1, 1, 0},
		{"l4_down", 1024, 14, 2048, 1, 2, 0},
	} {
		g := NewConv2D(1, c.c, c.h, c.h, c.oc, c.k, c.s, c.p)
		r := rand.New(rand.NewPCG(1, 1))
		x, w := randn(r, g.InSize()), randn(r, g.WeightSize())
		y, dy := make([]float32, g.OutSize()), randn(r, g.OutSize())
		dx, dw := make([]float32, g.InSize()), make([]float32, g.WeightSize())
		col := make([]float32, g.ColSize())
		for _, pass := range []string{"forward", "data", "filter"} {
			b.Run(fmt.Sprintf("%s/%s", c.name, pass), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					switch pass {
					case "forward":
						g.Forward(y, x, w, col)
					case "data":
						g.Backward(dx, nil, dy, x, w, col, false)
					case "filter":
						g.Backward(nil, dw, dy, x, w, col, false)
					}
				}
				b.ReportMetric(float64(g.FLOPs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
