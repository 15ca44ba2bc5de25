package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestBatchNormPrecision compares a training-mode forward and backward
// (fused ReLU) with the same formulas evaluated in float64, on planes of
// the sizes ResNet-50 has (56x56 down to 7x7) and on channels whose mean is
// far from zero relative to their spread (the case a float32 running sum
// gets wrong). It reports the worst errors: the float32 statistics of the
// vector kernels must stay near float32 rounding.
func TestBatchNormPrecision(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 1))
	offsets := []float64{0, 3, 100, -50}
	spreads := []float64{1, 0.1, 0.5, 2}
	for _, hw := range []int{3136, 784, 196, 49} {
		t.Run(fmt.Sprint(hw), func(t *testing.T) {
			g := NewBatchNorm(2, len(offsets), hw)
			x := make([]float32, g.N*g.C*hw)
			dy := randn(r, len(x))
			for n := 0; n < g.N; n++ {
				for c := 0; c < g.C; c++ {
					for i := 0; i < hw; i++ {
						x[(n*g.C+c)*hw+i] = float32(offsets[c] + spreads[c]*r.NormFloat64())
					}
				}
			}
			weight, bias := randn(r, g.C), randn(r, g.C)
			rm, rv := make([]float32, g.C), make([]float32, g.C)
			for c := range rv {
				rv[c] = 1
			}
			sm, si := make([]float32, g.C), make([]float32, g.C)
			y, dx := make([]float32, len(x)), make([]float32, len(x))
			dw, db := make([]float32, g.C), make([]float32, g.C)
			g.ForwardTrain(y, x, weight, bias, rm, rv, sm, si, true)
			g.Backward(dx, dw, db, dy, x, y, weight, sm, si, true, true)

			m := float64(g.Count())
			var eMean, eInvstd, eRunVar, eY, eDx, eDw, eDb float64
			for c := 0; c < g.C; c++ {
				idx := func(n, i int) int { return (n*g.C+c)*hw + i }
				var s float64
				for n := 0; n < g.N; n++ {
					for i := 0; i < hw; i++ {
						s += float64(x[idx(n, i)])
					}
				}
				mean := s / m
				var ss float64
				for n := 0; n < g.N; n++ {
					for i := 0; i < hw; i++ {
						d := float64(x[idx(n, i)]) - mean
						ss += d * d
					}
				}
				invstd := 1 / math.Sqrt(ss/m+float64(g.Eps))
				std := math.Sqrt(ss / m)
				eMean = math.Max(eMean, math.Abs(float64(sm[c])-mean)/std)
				eInvstd = math.Max(eInvstd, math.Abs(float64(si[c])-invstd)/invstd)
				wantRV := 0.9 + 0.1*ss/(m-1)
				eRunVar = math.Max(eRunVar, math.Abs(float64(rv[c])-wantRV)/wantRV)
				// Forward and backward in float64 from the float64 statistics.
				w, b := float64(weight[c]), float64(bias[c])
				var sg, sgx, ymax, yerr, dxmax float64
				gy := make([]float64, g.N*hw)
				for n := 0; n < g.N; n++ {
					for i := 0; i < hw; i++ {
						xh := (float64(x[idx(n, i)]) - mean) * invstd
						o := math.Max(xh*w+b, 0)
						yerr = math.Max(yerr, math.Abs(float64(y[idx(n, i)])-o))
						ymax = math.Max(ymax, math.Abs(o))
						if o > 0 {
							gy[n*hw+i] = float64(dy[idx(n, i)])
						}
						sg += gy[n*hw+i]
						sgx += gy[n*hw+i] * xh
					}
				}
				eDw = math.Max(eDw, math.Abs(float64(dw[c])-sgx)/math.Max(math.Abs(sgx), 1e-3))
				eDb = math.Max(eDb, math.Abs(float64(db[c])-sg)/math.Max(math.Abs(sg), 1e-3))
				var dmax float64
				for n := 0; n < g.N; n++ {
					for i := 0; i < hw; i++ {
						xh := (float64(x[idx(n, i)]) - mean) * invstd
						want := w * invstd * (gy[n*hw+i] - sg/m - xh*sgx/m)
						dxmax = math.Max(dxmax, math.Abs(want))
						dmax = math.Max(dmax, math.Abs(float64(dx[idx(n, i)])-want))
					}
				}
				eY = math.Max(eY, yerr/math.Max(ymax, 1e-30))
				eDx = math.Max(eDx, dmax/math.Max(dxmax, 1e-30))
			}
			t.Logf("HW %d: mean %.2g (of std), invstd %.2g, running var %.2g, y %.2g, dx %.2g, dweight %.2g, dbias %.2g (relative)",
				hw, eMean, eInvstd, eRunVar, eY, eDx, eDw, eDb)
			for _, e := range []struct {
				what string
				v    float64
			}{{"mean", eMean}, {"invstd", eInvstd}, {"running var", eRunVar}, {"y", eY}, {"dx", eDx}, {"dweight", eDw}, {"dbias", eDb}} {
				if !(e.v < 1e-4) {
					t.Errorf("%s: relative error %.3g", e.what, e.v)
				}
			}
		})
	}
}
