//go:build goexperiment.simd && amd64

package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestWithoutAVX2 runs the kernels as they run on an amd64 CPU without AVX2
// and FMA (the vector loops step aside at run time) and checks the results
// are still the references'.
func TestWithoutAVX2(t *testing.T) {
	saved := ewAVX2FMA
	ewAVX2FMA = false
	defer func() { ewAVX2FMA = saved }()
	if p := ElementwisePath(); p != "scalar" {
		t.Fatalf("path %q without AVX2", p)
	}
	r := rand.New(rand.NewPCG(5, 5))
	x, b := ewData(r, 1001, 1, 1), ewData(r, 1001, 1, 1)
	got, want := make([]float32, len(x)), make([]float32, len(x))
	ScaleShift(got, x, 0.5, 0.25, true)
	ScaleShiftRef(want, x, 0.5, 0.25, true)
	ewExact(t, "ScaleShift", got, want)
	AddReLU(got, x, b)
	AddReLURef(want, x, b)
	ewExact(t, "AddReLU", got, want)
	if s, w := Sum(x), SumRef(x); s != w {
		t.Errorf("Sum %v, reference %v", s, w)
	}
	const h, w = 40, 41
	img := ewData(r, h*w, 0, 1)
	oh, ow := (h-1)/2+1, (w-1)/2+1
	y, a := make([]float32, oh*ow), make([]int32, oh*ow)
	wy, wa := make([]float32, oh*ow), make([]int32, oh*ow)
	MaxPool3x3s2p1(y, a, img, h, w)
	MaxPool3x3s2p1Ref(wy, wa, img, h, w)
	for i := range wy {
		if y[i] != wy[i] || a[i] != wa[i] {
			t.Fatalf("max pool output %d: %v at %d, reference %v at %d", i, y[i], a[i], wy[i], wa[i])
		}
	}
}
