package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMaxPool3x3s2p1MatchesReference: values and winner indices, exactly,
// on planes of odd and even sizes (the vector path needs 18 columns), with
// many ties (ReLU zeros and a few distinct values) and NaN and -Inf.
func TestMaxPool3x3s2p1MatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	nan, ninf := float32(math.NaN()), float32(math.Inf(-1))
	for _, hw := range [][2]int{{1, 1}, {3, 5}, {7, 17}, {5, 18}, {9, 19}, {17, 33}, {2, 49}, {49, 63}, {12, 65}, {56, 56}, {112, 112}, {113, 113}, {3, 255}} {
		h, w := hw[0], hw[1]
		for _, kind := range []string{"normal", "ties", "specials"} {
			t.Run(fmt.Sprintf("%dx%d_%s", h, w, kind), func(t *testing.T) {
				x := make([]float32, h*w)
				for i := range x {
					switch kind {
					case "normal":
						x[i] = float32(r.NormFloat64())
					default:
						x[i] = float32(max(r.IntN(5)-2, 0)) // mostly 0, some 1 and 2
					}
					if kind == "specials" && r.IntN(13) == 0 {
						x[i] = []float32{nan, ninf, float32(math.Inf(1))}[r.IntN(3)]
					}
				}
				oh, ow := (h-1)/2+1, (w-1)/2+1
				y, a := make([]float32, oh*ow), make([]int32, oh*ow)
				wy, wa := make([]float32, oh*ow), make([]int32, oh*ow)
				MaxPool3x3s2p1Ref(wy, wa, x, h, w)
				MaxPool3x3s2p1(y, a, x, h, w)
				for i := range wy {
					if !same(y[i], wy[i]) || a[i] != wa[i] {
						t.Fatalf("output (%d,%d) = %v at %d, reference %v at %d", i/ow, i%ow, y[i], a[i], wy[i], wa[i])
					}
				}
			})
		}
	}
}

// BenchmarkMaxPool3x3s2p1 on ResNet-50's stem activation at batch 1.
func BenchmarkMaxPool3x3s2p1(b *testing.B) {
	const c, h, w = 64, 112, 112
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, c*h*w)
	for i := range x {
		x[i] = max(float32(r.NormFloat64()), 0)
	}
	oh, ow := (h-1)/2+1, (w-1)/2+1
	y, a := make([]float32, c*oh*ow), make([]int32, c*oh*ow)
	for _, im := range []struct {
		name string
		f    func(y []float32, a []int32, x []float32, h, w int)
	}{{"ref", MaxPool3x3s2p1Ref}, {"fast", MaxPool3x3s2p1}} {
		b.Run(fmt.Sprintf("%dx%dx%d/%s", c, h, w, im.name), func(b *testing.B) {
			b.SetBytes(int64(4*c*h*w + 8*c*oh*ow))
			for i := 0; i < b.N; i++ {
				for p := 0; p < c; p++ {
					im.f(y[p*oh*ow:(p+1)*oh*ow], a[p*oh*ow:(p+1)*oh*ow], x[p*h*w:(p+1)*h*w], h, w)
				}
			}
			b.ReportMetric(float64(c*oh*ow)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Moutputs/s")
		})
	}
}
