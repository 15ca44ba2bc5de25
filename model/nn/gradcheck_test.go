package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randn(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// project returns sum r_i*y_i in float64: a scalar loss whose gradient with
// respect to y is r, so that dy = r drives a backward pass under test.
func project(y, r []float32) float64 {
	var s float64
	for i := range y {
		s += float64(y[i]) * float64(r[i])
	}
	return s
}

// checkGrad compares an analytic gradient of loss() with respect to x with
// central finite differences, perturbing each element of x by eps (every
// element for small tensors, a seeded sample of 300 otherwise). skip lets a
// test avoid points where the function has a kink (ReLU at 0, ties in max).
// The error is max|fd - analytic| over max|analytic|, per tensor.
func checkGrad(t *testing.T, name string, x, analytic []float32, loss func() float64, eps float32, tol float64, skip func(i int) bool) {
	t.Helper()
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	if len(idx) > 300 {
		r := rand.New(rand.NewPCG(uint64(len(x)), 99))
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:300]
	}
	var scale, worst float64
	for _, a := range analytic {
		scale = math.Max(scale, math.Abs(float64(a)))
	}
	scale = math.Max(scale, 1e-2) // a floor: a true gradient of ~0 is compared with FD noise
	checked := 0
	for _, i := range idx {
		if skip != nil && skip(i) {
			continue
		}
		old := x[i]
		x[i] = old + eps
		lp := loss()
		x[i] = old - eps
		lm := loss()
		x[i] = old
		fd := (lp - lm) / float64((old+eps)-(old-eps)) // the step float32 really took
		if e := math.Abs(fd-float64(analytic[i])) / scale; e > worst {
			worst = e
			if e > tol {
				t.Errorf("%s: d/dx[%d]: finite difference %.6g, analytic %.6g (error %.3g of max %.3g)", name, i, fd, analytic[i], e, scale)
				return
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatalf("%s: no element checked", name)
	}
	t.Logf("%s: %d elements, worst relative error %.2g", name, checked, worst)
}
