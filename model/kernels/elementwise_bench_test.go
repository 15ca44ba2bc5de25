package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkElementwise runs each kernel family the way a layer or an
// optimizer calls it, with the reference ("ref") and the build's fast path
// ("fast") side by side, so one run on a noisy machine compares them.
// MB/s counts the bytes of every input read and output written once (the
// effective bandwidth); Melem/s counts elements of the main tensor.
//
// Shapes: a ResNet-50 batch-1 activation of layer 1 (64 channels x 56x56)
// and of layer 4 (512 x 7x7, short planes); the optimizers on 1M
// parameters.
func BenchmarkElementwise(b *testing.B) {
	type impl struct {
		name string
		run  func()
	}
	bench := func(b *testing.B, family, shape string, elems, bytesPerElem int, impls ...impl) {
		for _, im := range impls {
			b.Run(fmt.Sprintf("%s/%s/%s", family, shape, im.name), func(b *testing.B) {
				im.run()
				b.SetBytes(int64(elems * bytesPerElem))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					im.run()
				}
				b.ReportMetric(float64(elems)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
			})
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range [][2]int{{64, 3136}, {512, 49}} {
		c, hw := s[0], s[1]
		n := c * hw
		shape := fmt.Sprintf("%dx%d", c, hw)
		x, y, dy, dx := ewData(r, n, 0, 1), make([]float32, n), ewData(r, n, 0, 1), make([]float32, n)
		ReLU(y, x)

		// Batch-norm forward, training mode: statistics (sum, squared
		// deviations), then scale/shift + ReLU.
		bnFwd := func(sum func([]float32) float64, ssd func([]float32, float32) float64, apply func(y, x []float32, sc, sh float32, relu bool)) func() {
			return func() {
				for ch := 0; ch < c; ch++ {
					p := x[ch*hw : (ch+1)*hw]
					mean := float32(sum(p) / float64(hw))
					v := ssd(p, mean) / float64(hw)
					apply(y[ch*hw:(ch+1)*hw], p, float32(1/(v+1)), -mean, true)
				}
			}
		}
		bench(b, "bn-forward-train", shape, n, 8,
			impl{"ref", bnFwd(SumRef, SumSqDevRef, ScaleShiftRef)},
			impl{"fast", bnFwd(Sum, SumSqDev, ScaleShift)})
		bench(b, "bn-forward-eval", shape, n, 8,
			impl{"ref", func() { ScaleShiftRef(y, x, 0.9, 0.1, true) }},
			impl{"fast", func() { ScaleShift(y, x, 0.9, 0.1, true) }})

		// Batch-norm backward with the fused ReLU, training mode: the two
		// masked reductions, then dx.
		bnBwd := func(sums func(dy, x, y []float32, mean float32) (float64, float64), dxf func(dx, dy, x, y []float32, mean, k, meanG, proj float64)) func() {
			return func() {
				for ch := 0; ch < c; ch++ {
					sl := func(v []float32) []float32 { return v[ch*hw : (ch+1)*hw] }
					g, gx := sums(sl(dy), sl(x), sl(y), 0.1)
					dxf(sl(dx), sl(dy), sl(x), sl(y), 0.1, 1.3, g/float64(hw), gx/float64(hw))
				}
			}
		}
		bench(b, "bn-backward-train", shape, n, 16,
			impl{"ref", bnBwd(BNGradSumsRef, BNBackwardDxRef)},
			impl{"fast", bnBwd(BNGradSums, BNBackwardDx)})

		bench(b, "bn-backward-eval", shape, n, 12,
			impl{"ref", func() { MaskScaleRef(dx, dy, y, 0.7) }},
			impl{"fast", func() { MaskScale(dx, dy, y, 0.7) }})
		bench(b, "relu", shape, n, 8,
			impl{"ref", func() { ReLURef(dx, x) }},
			impl{"fast", func() { ReLU(dx, x) }})
		bench(b, "relu-backward", shape, n, 12,
			impl{"ref", func() { ReLUBackwardRef(dx, dy, y) }},
			impl{"fast", func() { ReLUBackward(dx, dy, y) }})
		bench(b, "add-relu", shape, n, 12,
			impl{"ref", func() { AddReLURef(dx, x, dy) }},
			impl{"fast", func() { AddReLU(dx, x, dy) }})
		bench(b, "global-avg-pool", shape, n, 4,
			impl{"ref", func() {
				for ch := 0; ch < c; ch++ {
					dx[ch] = float32(SumRef(x[ch*hw:(ch+1)*hw]) / float64(hw))
				}
			}},
			impl{"fast", func() {
				for ch := 0; ch < c; ch++ {
					dx[ch] = float32(Sum(x[ch*hw:(ch+1)*hw]) / float64(hw))
				}
			}})
	}

	const np = 1 << 20
	w, g := ewData(r, np, 0, 1), ewData(r, np, 0, 0.01)
	m, v := make([]float32, np), make([]float32, np)
	sgd := SGDParams{LR: 1e-9, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4}
	bench(b, "sgd-nesterov-wd", "1M", np, 20,
		impl{"ref", func() { SGDRef(w, g, m, sgd, false) }},
		impl{"fast", func() { SGD(w, g, m, sgd, false) }})
	adam := NewAdamParams(1e-9, 0.9, 0.999, 1e-8, 1e-2, true, 10)
	bench(b, "adamw", "1M", np, 28,
		impl{"ref", func() { AdamRef(w, g, m, v, adam) }},
		impl{"fast", func() { Adam(w, g, m, v, adam) }})
	// Max-norm: each of 512 filters of 2048 weights, its norm then a scale.
	maxNorm := func(ssd func([]float32, float32) float64, scale func([]float32, float32)) func() {
		return func() {
			for f := 0; f < np/2048; f++ {
				p := w[f*2048 : (f+1)*2048]
				if ssd(p, 0) >= 0 {
					scale(p, 1)
				}
			}
		}
	}
	bench(b, "max-norm", "512x2048", np, 8,
		impl{"ref", maxNorm(SumSqDevRef, ScaleRef)},
		impl{"fast", maxNorm(SumSqDev, Scale)})
}
