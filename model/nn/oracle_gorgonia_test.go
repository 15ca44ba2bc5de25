//go:build !js

// This file checks the layers against an independent automatic
// differentiation library, gorgonia, in float64: the same computation is built
// as a gorgonia graph, reduced to a scalar loss, differentiated symbolically,
// and its forward values and gradients are compared with ours. The finite
// difference tests in layers_test.go check that our backward matches our
// forward; these check that our forward (and so our backward) computes what
// the layer is meant to compute, to float32 precision.
//
// gorgonia is a test-only dependency, and never built for js/wasm (the build
// tag above): the browser build of the model does not carry it.
//
// gorgonia quirks met while writing this (v0.9.18 with tensor v0.9.24):
//   - tensor's dependency go4.org/unsafe/assume-no-moving-gc panics at init on
//     Go >= 1.20 unless a version from 2023 on is selected: go.mod requires it.
//   - InverseSqrt has a wrong gradient: its symbolic derivative is
//     -dy/(2y^3) instead of -dy*y^3/2 (operatorPointwise_unary.go,
//     inverseSqrtDiffExpr), which made the batch norm dx off by a factor of
//     about 1/var^3. The batch norm below uses Inverse(Sqrt(.)), whose
//     gradient is right.
//   - LogSumExp computes log(sum(exp(a-max)) + max) (the max is added inside
//     the log), so its value is wrong whenever the max is not 0, and on a
//     matrix it fails to build (it subtracts the reduced max without
//     broadcasting). The cross-entropy below is composed from Exp, Sum and Log
//     with the row max subtracted as a constant (which changes neither the
//     value nor the gradient), and checked a second time with LogSoftMax,
//     whose value and symbolic gradient are right.
//   - GlobalAveragePool2D has no gradient and AveragePool2D divides by the
//     input width (both found earlier, not re-checked here), so neither is
//     usable as an oracle: pooling is not checked in this file (Mean over
//     axes 2,3 would be the global average pool).
//   - Rectify's gradient at exactly 0 is 1 (it uses >=), ours is 0 (as
//     PyTorch's): inputs are kept away from 0, where the two agree.
//   - Broadcasting is explicit: a per-channel vector meets an NCHW tensor
//     through BroadcastSub/BroadcastHadamardProd/BroadcastAdd with the pattern
//     {0, 2, 3} on the right operand.

package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// oracleTol is the tolerance on the relative error
// max|ours - oracle| / max(max|oracle|, 1e-2) of one tensor: ours computes in
// float32 (with float64 accumulations in places), the oracle in float64.
const oracleTol = 1e-4

// oracleGraph wraps a gorgonia expression graph for one check.
type oracleGraph struct {
	t *testing.T
	g *G.ExprGraph
}

func newOracleGraph(t *testing.T) *oracleGraph {
	t.Helper()
	return &oracleGraph{t: t, g: G.NewGraph()}
}

// must stops the test on a graph construction error.
func (o *oracleGraph) must(n *G.Node, err error) *G.Node {
	o.t.Helper()
	if err != nil {
		o.t.Fatalf("gorgonia: %+v", err)
	}
	return n
}

// input makes a float64 node holding a copy of data (converted from float32)
// with the given shape: a vector for one dimension, a tensor otherwise.
func (o *oracleGraph) input(name string, data []float32, shape ...int) *G.Node {
	o.t.Helper()
	return o.input64(name, widen(data), shape...)
}

func (o *oracleGraph) input64(name string, data []float64, shape ...int) *G.Node {
	o.t.Helper()
	size := 1
	for _, s := range shape {
		size *= s
	}
	if size != len(data) {
		o.t.Fatalf("oracle input %s: %d values for shape %v", name, len(data), shape)
	}
	v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float64(nil), data...)))
	return G.NewTensor(o.g, G.Float64, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v))
}

// scalar makes a float64 constant.
func (o *oracleGraph) scalar(v float64) *G.Node { return G.NewConstant(v) }

// projected returns sum(out * r), the scalar loss whose gradient with respect
// to out is r: the same dy that our backward is then driven with.
func (o *oracleGraph) projected(out *G.Node, r []float32) *G.Node {
	o.t.Helper()
	rn := o.input("r", r, out.Shape()...)
	return o.must(G.Sum(o.must(G.HadamardProd(out, rn))))
}

// run differentiates cost with respect to wrt symbolically, runs the graph
// and returns the gradients in the order of wrt.
func (o *oracleGraph) run(cost *G.Node, wrt ...*G.Node) [][]float64 {
	o.t.Helper()
	grads, err := G.Grad(cost, wrt...)
	if err != nil {
		o.t.Fatalf("gorgonia Grad: %+v", err)
	}
	vm := G.NewTapeMachine(o.g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		o.t.Fatalf("gorgonia run: %+v", err)
	}
	out := make([][]float64, len(grads))
	for i, gn := range grads {
		out[i] = values(o.t, gn)
		if len(out[i]) != wrt[i].Shape().TotalSize() {
			o.t.Fatalf("gradient of %s has %d values, want %d", wrt[i].Name(), len(out[i]), wrt[i].Shape().TotalSize())
		}
	}
	return out
}

// values reads a node's float64 value (a scalar as one value).
func values(t *testing.T, n *G.Node) []float64 {
	t.Helper()
	switch v := n.Value().(type) {
	case *G.F64:
		return []float64{float64(*v)}
	case tensor.Tensor:
		d, ok := v.Data().([]float64)
		if !ok {
			if f, ok := v.Data().(float64); ok { // a 0-d tensor
				return []float64{f}
			}
			t.Fatalf("node %s holds %T, want float64 data", n.Name(), v.Data())
		}
		return append([]float64(nil), d...)
	default:
		t.Fatalf("node %s holds %T", n.Name(), n.Value())
	}
	return nil
}

func widen(s []float32) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}

// oracleWorst collects, per top-level test and check name, the worst
// relative error seen, for the summary that each test logs at its end.
type oracleWorst map[string]float64

func newOracleWorst(t *testing.T) oracleWorst {
	w := oracleWorst{}
	t.Cleanup(func() {
		names := make([]string, 0, len(w))
		for k := range w {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			t.Logf("worst relative error vs gorgonia: %-14s %.2g", k, w[k])
		}
	})
	return w
}

// compare checks ours against the oracle with the per-tensor relative error
// max|ours - oracle| / max(max|oracle|, 1e-2) and records the worst one.
func (w oracleWorst) compare(t *testing.T, name string, ours []float32, oracle []float64) {
	t.Helper()
	if len(ours) != len(oracle) {
		t.Fatalf("%s: %d values, oracle has %d", name, len(ours), len(oracle))
	}
	var scale, diff float64
	at := -1
	for i, o := range oracle {
		scale = math.Max(scale, math.Abs(o))
		if d := math.Abs(float64(ours[i]) - o); d > diff || math.IsNaN(d) {
			diff, at = d, i
		}
	}
	scale = math.Max(scale, 1e-2)
	e := diff / scale
	if math.IsNaN(diff) {
		e = math.Inf(1)
	}
	if cur, seen := w[name]; !seen || e > cur {
		w[name] = e
	}
	if !(e <= oracleTol) {
		t.Errorf("%s: relative error %.3g > %.0g: at [%d] ours %.8g, gorgonia %.8g (scale %.3g)", name, e, oracleTol, at, ours[at], oracle[at], scale)
		return
	}
	t.Logf("%s: %d values, relative error %.2g", name, len(ours), e)
}

func TestConv2DAgainstGorgonia(t *testing.T) {
	worst := newOracleWorst(t)
	r := rand.New(rand.NewPCG(20, 1))
	cases := []Conv2D{
		NewConv2D(2, 3, 7, 5, 7, 3, 1, 1),  // 3x3, odd sizes, padding 1
		NewConv2D(1, 7, 9, 9, 3, 3, 2, 1),  // 3x3 stride 2
		NewConv2D(3, 1, 11, 7, 3, 7, 2, 3), // a 7x7/2 stem, one input channel
		NewConv2D(2, 7, 5, 3, 3, 1, 1, 0),  // pointwise: the GEMM-only path
		NewConv2D(2, 3, 7, 7, 1, 1, 2, 0),  // 1x1 stride 2 (downsample)
		NewConv2D(1, 3, 5, 7, 7, 3, 1, 0),  // unpadded 3x3
		NewConv2D(1, 3, 8, 6, 3, 3, 2, 1),  // stride 2 on even sizes
		NewConv2D(2, 3, 3, 3, 3, 7, 2, 3),  // kernel larger than the input
		NewConv2D(1, 1, 1, 1, 3, 1, 1, 0),  // 1x1 spatial
	}
	for _, cv := range cases {
		t.Run(fmt.Sprintf("n%d_c%d_%dx%d_oc%d_k%d_s%d_p%d", cv.N, cv.C, cv.H, cv.W, cv.OC, cv.KH, cv.Stride, cv.PadH), func(t *testing.T) {
			x, w := randn(r, cv.InSize()), randn(r, cv.WeightSize())
			rproj := randn(r, cv.OutSize())
			col := make([]float32, cv.ColSize())
			y := make([]float32, cv.OutSize())
			cv.Forward(y, x, w, col)
			dx, dw := make([]float32, len(x)), make([]float32, len(w))
			cv.Backward(dx, dw, rproj, x, w, col, false)

			o := newOracleGraph(t)
			xn := o.input("x", x, cv.N, cv.C, cv.H, cv.W)
			wn := o.input("w", w, cv.OC, cv.C, cv.KH, cv.KW)
			out := o.must(G.Conv2d(xn, wn, tensor.Shape{cv.KH, cv.KW}, []int{cv.PadH, cv.PadW}, []int{cv.Stride, cv.Stride}, []int{1, 1}))
			if want := (tensor.Shape{cv.N, cv.OC, cv.OH, cv.OW}); !out.Shape().Eq(want) {
				t.Fatalf("gorgonia output shape %v, ours %v", out.Shape(), want)
			}
			g := o.run(o.projected(out, rproj), xn, wn)
			worst.compare(t, "conv y", y, values(t, out))
			worst.compare(t, "conv dx", dx, g[0])
			worst.compare(t, "conv dw", dw, g[1])
		})
	}
}

func TestBatchNormAgainstGorgonia(t *testing.T) {
	worst := newOracleWorst(t)
	r := rand.New(rand.NewPCG(21, 1))
	for _, shape := range [][4]int{{2, 3, 5, 3}, {1, 7, 3, 5}, {3, 1, 1, 1}, {2, 3, 1, 1}, {3, 7, 7, 7}, {1, 1, 9, 1}} {
		for _, train := range []bool{true, false} {
			for _, relu := range []bool{false, true} {
				n, c, h, wd := shape[0], shape[1], shape[2], shape[3]
				bn := NewBatchNorm(n, c, h*wd)
				t.Run(fmt.Sprintf("%v_train%v_relu%v", shape, train, relu), func(t *testing.T) {
					var x, weight, bias, rm, rv, pre []float32
					sm, si := make([]float32, c), make([]float32, c)
					// Draw until no pre-activation is within 1e-4 of the ReLU
					// kink, where float32 and float64 could disagree on the mask.
					for try := 0; ; try++ {
						x = randn(r, n*c*h*wd)
						for i := range x {
							x[i] = x[i]*2 + 0.5
						}
						weight, bias = randn(r, c), randn(r, c)
						rm, rv = randn(r, c), make([]float32, c)
						for i := range rv {
							rv[i] = 0.5 + r.Float32()
						}
						pre = make([]float32, len(x))
						if train {
							bn.ForwardTrain(pre, x, weight, bias, append([]float32(nil), rm...), append([]float32(nil), rv...), sm, si, false)
						} else {
							bn.ForwardEval(pre, x, weight, bias, rm, rv, sm, si, false)
						}
						near := false
						for _, v := range pre {
							near = near || math.Abs(float64(v)) < 1e-4
						}
						if !relu || !near {
							break
						}
						if try == 50 {
							t.Fatal("could not draw inputs away from the ReLU kink")
						}
					}
					y := make([]float32, len(x))
					if train {
						bn.ForwardTrain(y, x, weight, bias, append([]float32(nil), rm...), append([]float32(nil), rv...), sm, si, relu)
					} else {
						bn.ForwardEval(y, x, weight, bias, rm, rv, sm, si, relu)
					}
					rproj := randn(r, len(x))
					dx, dwt, db := make([]float32, len(x)), make([]float32, c), make([]float32, c)
					bn.Backward(dx, dwt, db, rproj, x, y, weight, sm, si, train, relu)

					o := newOracleGraph(t)
					xn := o.input("x", x, n, c, h, wd)
					gn := o.input("gamma", weight, c)
					bnode := o.input("beta", bias, c)
					perC := []byte{0, 2, 3} // a (C) vector broadcast over N, H, W
					eps := o.scalar(float64(bn.Eps))
					var xc, invstd *G.Node
					if train {
						mean := o.must(G.Mean(xn, 0, 2, 3))
						xc = o.must(G.BroadcastSub(xn, mean, nil, perC))
						variance := o.must(G.Mean(o.must(G.Square(xc)), 0, 2, 3)) // biased
						invstd = o.must(G.Inverse(o.must(G.Sqrt(o.must(G.Add(variance, eps))))))
					} else {
						mean := o.input("runMean", rm, c)
						varn := o.input("runVar", rv, c)
						xc = o.must(G.BroadcastSub(xn, mean, nil, perC))
						invstd = o.must(G.Inverse(o.must(G.Sqrt(o.must(G.Add(varn, eps))))))
					}
					xhat := o.must(G.BroadcastHadamardProd(xc, invstd, nil, perC))
					out := o.must(G.BroadcastAdd(o.must(G.BroadcastHadamardProd(xhat, gn, nil, perC)), bnode, nil, perC))
					if relu {
						out = o.must(G.Rectify(out))
					}
					g := o.run(o.projected(out, rproj), xn, gn, bnode)
					worst.compare(t, "bn y", y, values(t, out))
					worst.compare(t, "bn dx", dx, g[0])
					worst.compare(t, "bn dgamma", dwt, g[1])
					worst.compare(t, "bn dbeta", db, g[2])
				})
			}
		}
	}
}

func TestReLUAgainstGorgonia(t *testing.T) {
	worst := newOracleWorst(t)
	r := rand.New(rand.NewPCG(22, 1))
	for _, shape := range [][]int{{37}, {2, 3, 5, 7}, {1, 1, 1, 1}, {3, 7, 9, 3}} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			size := 1
			for _, s := range shape {
				size *= s
			}
			x := randn(r, size)
			for i := range x {
				for math.Abs(float64(x[i])) < 1e-3 { // away from the kink
					x[i] = float32(r.NormFloat64())
				}
			}
			y := make([]float32, size)
			ReLUForward(y, x)
			rproj := randn(r, size)
			dx := make([]float32, size)
			ReLUBackward(dx, rproj, y)

			o := newOracleGraph(t)
			xn := o.input("x", x, shape...)
			out := o.must(G.Rectify(xn))
			g := o.run(o.projected(out, rproj), xn)
			worst.compare(t, "relu y", y, values(t, out))
			worst.compare(t, "relu dx", dx, g[0])
		})
	}
}

func TestLinearAgainstGorgonia(t *testing.T) {
	worst := newOracleWorst(t)
	r := rand.New(rand.NewPCG(23, 1))
	for _, l := range []Linear{{1, 1, 1}, {3, 7, 5}, {2, 13, 3}, {1, 64, 10}, {3, 9, 1}} {
		t.Run(fmt.Sprintf("n%d_in%d_out%d", l.N, l.In, l.Out), func(t *testing.T) {
			x, w, b := randn(r, l.N*l.In), randn(r, l.Out*l.In), randn(r, l.Out)
			y := make([]float32, l.N*l.Out)
			l.Forward(y, x, w, b)
			rproj := randn(r, len(y))
			dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))
			l.Backward(dx, dw, db, rproj, x, w)

			o := newOracleGraph(t)
			xn := o.input("x", x, l.N, l.In)
			wn := o.input("W", w, l.Out, l.In)
			bn := o.input("b", b, l.Out)
			xw := o.must(G.Mul(xn, o.must(G.Transpose(wn))))
			out := o.must(G.BroadcastAdd(xw, bn, nil, []byte{0}))
			g := o.run(o.projected(out, rproj), xn, wn, bn)
			worst.compare(t, "linear y", y, values(t, out))
			worst.compare(t, "linear dx", dx, g[0])
			worst.compare(t, "linear dW", dw, g[1])
			worst.compare(t, "linear db", db, g[2])
		})
	}
}

func TestSoftmaxCrossEntropyAgainstGorgonia(t *testing.T) {
	worst := newOracleWorst(t)
	r := rand.New(rand.NewPCG(24, 1))
	for _, nc := range [][2]int{{1, 1}, {1, 3}, {3, 7}, {2, 10}, {3, 1000}} {
		for _, smoothing := range []float32{0, 0.1} {
			n, c := nc[0], nc[1]
			t.Run(fmt.Sprintf("n%d_c%d_s%v", n, c, smoothing), func(t *testing.T) {
				logits := randn(r, n*c)
				for i := range logits {
					logits[i] = logits[i]*3 + 2 // peaked, and far from 0 on average
				}
				labels := make([]int, n)
				for i := range labels {
					labels[i] = r.IntN(c)
				}
				dl := make([]float32, n*c)
				loss, err := SoftmaxCrossEntropy(dl, logits, labels, n, c, smoothing)
				if err != nil {
					t.Fatal(err)
				}

				// The target: one-hot labels, smoothed as PyTorch does.
				target := make([]float64, n*c)
				rowMax := make([]float64, n)
				s := float64(smoothing)
				for i := 0; i < n; i++ {
					rowMax[i] = math.Inf(-1)
					for j := 0; j < c; j++ {
						target[i*c+j] = s / float64(c)
						rowMax[i] = math.Max(rowMax[i], float64(logits[i*c+j]))
					}
					target[i*c+labels[i]] += 1 - s
				}
				// Two oracles: log-softmax composed from Exp, Sum and Log, and
				// gorgonia's LogSoftMax op; the loss is -sum(target*logp)/n.
				for _, variant := range []string{"composed", "LogSoftMax"} {
					o := newOracleGraph(t)
					ln := o.input("logits", logits, n, c)
					tn := o.input64("target", target, n, c)
					var logp *G.Node
					if variant == "composed" {
						mn := o.input64("rowMax", rowMax, n) // a constant: the shift changes neither value nor gradient
						z := o.must(G.BroadcastSub(ln, mn, nil, []byte{1}))
						lse := o.must(G.Log(o.must(G.Sum(o.must(G.Exp(z)), 1))))
						logp = o.must(G.BroadcastSub(z, lse, nil, []byte{1}))
					} else {
						logp = o.must(G.LogSoftMax(ln, 1))
					}
					nll := o.must(G.Sum(o.must(G.HadamardProd(tn, logp))))
					cost := o.must(G.Mul(nll, o.scalar(-1/float64(n))))
					g := o.run(cost, ln)
					worst.compare(t, "ce loss ("+variant+")", []float32{float32(loss)}, values(t, cost))
					worst.compare(t, "ce dlogits ("+variant+")", dl, g[0])
				}
			})
		}
	}
}
