package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkPack measures packPanels on the layouts ResNet-50 feeds it,
// one kc x w block at a time: B dense (row-major k x n), A as stored
// (row-major m x k, read transposed), B as im2col of a convolution and
// its transpose, and a convolution's flipped kernel.
// ns/value is per packed value.
func BenchmarkPack(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const kc = 256
	for _, nr := range []int{4, 8, 32} {
		// B: 576 x 3136 row-major, columns [0, 1024).
		{
			n := 3136
			data := randSlice(r, kc*n)
			v := view{data: data, ps: n, js: 1}
			bench(b, fmt.Sprintf("dense/nr%d", nr), &v, kc, 1024, nr)
		}
		// A: 128 x 1152 row-major, read as k x m.
		{
			k := 1152
			data := randSlice(r, 128*k)
			v := view{data: data, ps: 1, js: k}
			bench(b, fmt.Sprintf("transposed/nr%d", nr), &v, kc, 128, nr)
		}
		// im2col of ResNet-50's convolutions: 3x3 stride 1 at 56x56 and
		// 14x14, and the 7x7 stride-2 stem.
		for _, c := range []struct {
			name string
			s    ConvShape
		}{
			{"im2col3x3", NewConvShape(64, 56, 56, 3, 3, 1, 1, 1)},
			{"im2col3x3_14", NewConvShape(256, 14, 14, 3, 3, 1, 1, 1)},
			{"im2col7x7s2", NewConvShape(3, 224, 224, 7, 7, 2, 3, 3)},
		} {
			data := randSlice(r, c.s.C*c.s.H*c.s.W)
			v := view{kind: im2col, data: data, conv: c.s}
			bench(b, fmt.Sprintf("%s/nr%d", c.name, nr), &v, min(kc, c.s.ColRows()), min(1024, c.s.ColCols()), nr)
			// Its transpose, as the weight gradient reads it.
			vt := view{kind: im2colT, data: data, conv: c.s}
			bench(b, fmt.Sprintf("%sT/nr%d", c.name, nr), &vt, min(kc, c.s.ColCols()), min(512, c.s.ColRows()), nr)
		}
		// The flipped kernel of a 3x3 convolution's transposed convolution
		// (its input gradient): 64 output channels, 64 input channels.
		{
			w := randSlice(r, 64*64*9)
			v := view{kind: flipped, data: w, flipC: 64, flipKK: 9}
			bench(b, fmt.Sprintf("flipped3x3/nr%d", nr), &v, kc, 64, nr)
		}
	}
}

func bench(b *testing.B, name string, v *view, kc, w, nr int) {
	hooks := active.pack
	b.Run(name, func(b *testing.B) {
		dst := make([]float32, (w+nr-1)/nr*nr*kc)
		row := make([]float32, imRows*w)
		cpu0 := cpuSeconds()
		for i := 0; i < b.N; i++ {
			packPanels(dst, row, v, 0, kc, 0, w, nr, 1, hooks)
		}
		vals := float64(kc*w) * float64(b.N)
		b.ReportMetric(b.Elapsed().Seconds()*1e9/vals, "ns/value")
		if cpu0 >= 0 {
			b.ReportMetric((cpuSeconds()-cpu0)*1e9/vals, "cpu-ns/value")
		}
	})
}
