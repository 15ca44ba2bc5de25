package nn

import "github.com/goresnet/goresnet/model/kernels"

// Linear is the geometry of a fully connected layer y = x W^T + b over a
// batch of N rows, with W stored (Out, In) as in PyTorch.
type Linear struct {
	N, In, Out int
}

// Forward computes y (N x Out) from x (N x In), w (Out x In) and b (Out).
func (g Linear) Forward(y, x, w, b []float32) {
	kernels.Sgemm(false, true, g.N, g.Out, g.In, 1, x, g.In, w, g.In, 0, y, g.Out)
	for n := 0; n < g.N; n++ {
		row := y[n*g.Out : (n+1)*g.Out]
		for j := range row {
			row[j] += b[j]
		}
	}
}

// Backward writes dx = dy W (when dx is not nil) and accumulates
// dw += dy^T x and db += column sums of dy (when not nil).
func (g Linear) Backward(dx, dw, db, dy, x, w []float32) {
	if dx != nil {
		kernels.Sgemm(false, false, g.N, g.In, g.Out, 1, dy, g.Out, w, g.In, 0, dx, g.In)
	}
	if dw != nil {
		kernels.Sgemm(true, false, g.Out, g.In, g.N, 1, dy, g.Out, x, g.In, 1, dw, g.In)
	}
	if db != nil {
		for n := 0; n < g.N; n++ {
			for j, d := range dy[n*g.Out : (n+1)*g.Out] {
				db[j] += d
			}
		}
	}
}
