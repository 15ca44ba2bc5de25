package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestStemMaxPoolMatchesAnyGeometry: MaxForward's 3x3/2 pad 1 kernel path
// gives the values and winners of the general path, ties (ReLU zeros) and
// NaN included, on sizes the vector path covers.
func TestStemMaxPoolMatchesAnyGeometry(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 1))
	for _, g := range []Pool2D{NewPool2D(2, 3, 37, 40, 3, 2, 1), NewPool2D(1, 2, 112, 112, 3, 2, 1), NewPool2D(1, 1, 20, 19, 3, 2, 1)} {
		t.Run(fmt.Sprintf("%dx%dx%dx%d", g.N, g.C, g.H, g.W), func(t *testing.T) {
			x := make([]float32, g.InSize())
			for i := range x {
				x[i] = max(float32(r.IntN(4)-1), 0)
				if r.IntN(50) == 0 {
					x[i] = float32(math.NaN())
				}
			}
			y, a := make([]float32, g.OutSize()), make([]int32, g.OutSize())
			wy, wa := make([]float32, g.OutSize()), make([]int32, g.OutSize())
			g.MaxForward(y, x, a)
			g.maxForwardAny(wy, x, wa)
			for i := range wy {
				if a[i] != wa[i] || !(y[i] == wy[i] || (y[i] != y[i] && wy[i] != wy[i])) {
					t.Fatalf("output %d: %v at %d, general path %v at %d", i, y[i], a[i], wy[i], wa[i])
				}
			}
		})
	}
}
