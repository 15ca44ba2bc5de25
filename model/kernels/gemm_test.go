package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var oddDims = []int{1, 3, 7, 17, 49, 63, 65}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// maxRelErr is max|got-want| / max(1, max|want|): a per-matrix relative error
// that is not fooled by individual entries that happen to be near zero.
func maxRelErr(got, want []float32) float64 {
	var diff, scale float64 = 0, 1
	for i := range want {
		diff = math.Max(diff, math.Abs(float64(got[i])-float64(want[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	return diff / scale
}

func TestSgemmMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, m := range oddDims {
		for _, n := range oddDims {
			for _, k := range oddDims {
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					for _, ab := range [][2]float32{{1, 0}, {1, 1}, {0.5, -2}} {
						checkSgemm(t, r, tr[0], tr[1], m, n, k, ab[0], ab[1], 0)
					}
				}
			}
		}
	}
	// Padded leading dimensions.
	checkSgemm(t, r, false, false, 17, 33, 9, 1, 1, 5)
	checkSgemm(t, r, true, true, 17, 33, 9, 1, 0, 3)
}

func checkSgemm(t *testing.T, r *rand.Rand, ta, tb bool, m, n, k int, alpha, beta float32, pad int) {
	t.Helper()
	rowsA, colsA := m, k
	if ta {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if tb {
		rowsB, colsB = n, k
	}
	lda, ldb, ldc := colsA+pad, colsB+pad, n+pad
	a := randSlice(r, rowsA*lda)
	b := randSlice(r, rowsB*ldb)
	c := randSlice(r, m*ldc)
	if beta == 0 {
		for i := range c {
			c[i] = float32(math.NaN()) // must not leak through when beta is 0
		}
	}
	want := append([]float32(nil), c...)
	SgemmRef(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
	Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	var got, exp []float32
	for i := 0; i < m; i++ {
		got = append(got, c[i*ldc:i*ldc+n]...)
		exp = append(exp, want[i*ldc:i*ldc+n]...)
		for j := n; j < ldc && i*ldc+j < len(c); j++ {
			if math.Float32bits(c[i*ldc+j]) != math.Float32bits(want[i*ldc+j]) {
				t.Fatalf("Sgemm wrote into the padding of C at row %d column %d", i, j)
			}
		}
	}
	if e := maxRelErr(got, exp); !(e < 1e-5*math.Sqrt(float64(k))) {
		t.Fatalf("Sgemm(transA=%v, transB=%v, m=%d n=%d k=%d alpha=%v beta=%v pad=%d): rel err %.3g",
			ta, tb, m, n, k, alpha, beta, pad, e)
	}
}

func TestSgemmPanicsOnShortMatrix(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a too-short A")
		}
	}()
	Sgemm(false, false, 3, 3, 3, 1, make([]float32, 8), 3, make([]float32, 9), 3, 0, make([]float32, 9), 3)
}

func TestIm2ColMatchesDirectIndexing(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range []ConvShape{
		NewConvShape(3, 7, 5, 3, 3, 1, 1, 1),
		NewConvShape(2, 9, 9, 7, 7, 2, 3, 3),
		NewConvShape(1, 5, 6, 1, 1, 2, 0, 0),
		NewConvShape(4, 3, 3, 3, 3, 2, 1, 1),
		NewConvShape(2, 8, 7, 2, 3, 3, 0, 1),
	} {
		t.Run(fmt.Sprintf("%+v", s), func(t *testing.T) {
			x := randSlice(r, s.C*s.H*s.W)
			col := make([]float32, s.ColRows()*s.ColCols())
			Im2Col(s, x, col)
			for c := 0; c < s.C; c++ {
				for ky := 0; ky < s.KH; ky++ {
					for kx := 0; kx < s.KW; kx++ {
						row := (c*s.KH+ky)*s.KW + kx
						for oy := 0; oy < s.OH; oy++ {
							for ox := 0; ox < s.OW; ox++ {
								iy, ix := oy*s.Stride-s.PadH+ky, ox*s.Stride-s.PadW+kx
								var want float32
								if iy >= 0 && iy < s.H && ix >= 0 && ix < s.W {
									want = x[(c*s.H+iy)*s.W+ix]
								}
								if got := col[row*s.ColCols()+oy*s.OW+ox]; got != want {
									t.Fatalf("col[%d][%d,%d] = %v, want %v", row, oy, ox, got, want)
								}
							}
						}
					}
				}
			}
			// Col2Im is the adjoint: <Im2Col(x), u> == <x, Col2Im(u)>.
			u := randSlice(r, len(col))
			dx := make([]float32, len(x))
			Col2Im(s, u, dx)
			var lhs, rhs float64
			for i := range col {
				lhs += float64(col[i]) * float64(u[i])
			}
			for i := range x {
				rhs += float64(x[i]) * float64(dx[i])
			}
			if math.Abs(lhs-rhs) > 1e-4*math.Max(1, math.Abs(lhs)) {
				t.Fatalf("adjoint mismatch: %v vs %v", lhs, rhs)
			}
		})
	}
}
