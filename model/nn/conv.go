package nn

import "github.com/goresnet/goresnet/model/kernels"

// Conv2D is the geometry of a bias-free 2-D convolution over a batch of N
// images (torchvision's ResNets use no conv bias: BatchNorm follows).
type Conv2D struct {
	N, OC int
	kernels.ConvShape
}

// NewConv2D describes a convolution of n images of c x h x w into oc output
// channels with a k x k kernel, the given stride and symmetric padding.
func NewConv2D(n, c, h, w, oc, k, stride, pad int) Conv2D {
	return Conv2D{N: n, OC: oc, ConvShape: kernels.NewConvShape(c, h, w, k, k, stride, pad, pad)}
}

// Pointwise reports whether the convolution is a 1x1, stride 1, unpadded
// one: then an image is already its own im2col matrix and the convolution is
// a plain GEMM.
func (g Conv2D) Pointwise() bool {
	return g.KH == 1 && g.KW == 1 && g.Stride == 1 && g.PadH == 0 && g.PadW == 0
}

// InSize, OutSize and WeightSize are element counts for the whole batch.
func (g Conv2D) InSize() int     { return g.N * g.C * g.H * g.W }
func (g Conv2D) OutSize() int    { return g.N * g.OC * g.OH * g.OW }
func (g Conv2D) WeightSize() int { return g.OC * g.C * g.KH * g.KW }

// ColSize is the scratch (in elements) that Backward needs for one image's
// im2col matrix: only the input gradient of strided convolutions uses one
// (GEMM, then col2im); every other path reads the image or the gradient
// through fused packing.
func (g Conv2D) ColSize() int {
	if g.Pointwise() || kernels.TransposedConvOK(g.ConvShape) {
		return 0
	}
	return g.ColRows() * g.ColCols()
}

// FLOPs is the multiply-add count of the forward pass times two.
func (g Conv2D) FLOPs() int64 {
	return 2 * int64(g.N) * int64(g.OC) * int64(g.ColRows()) * int64(g.ColCols())
}

// Forward computes y = w * x for every image: y_n (OC x OH*OW) =
// w (OC x C*KH*KW) . im2col(x_n), with the im2col step fused into the
// GEMM's packing (col is not used; it stays in the signature so that
// callers plan one scratch for both passes).
func (g Conv2D) Forward(y, x, w, col []float32) {
	in, out := g.C*g.H*g.W, g.OC*g.OH*g.OW
	k, hw := g.ColRows(), g.ColCols()
	for n := 0; n < g.N; n++ {
		xn, yn := x[n*in:(n+1)*in], y[n*out:(n+1)*out]
		if g.Pointwise() {
			kernels.Sgemm(false, false, g.OC, hw, k, 1, w, k, xn, hw, 0, yn, hw)
			continue
		}
		kernels.ConvForwardGemm(g.ConvShape, g.OC, w, xn, 0, yn)
	}
}

// Backward computes, from dy, the weight gradient dw += dy_n . im2col(x_n)^T
// (when dw is not nil) and the input gradient dx = col2im(w^T . dy_n) (when
// dx is not nil; added to dx instead of written when accumDX is set, which is
// how a residual block sums its two paths). The paths:
//   - pointwise: both are plain GEMMs on the activations;
//   - weight gradient: im2col fused into the GEMM's packing;
//   - input gradient, stride 1 'same': a transposed convolution (the
//     flipped kernel over dy), again with im2col fused, no col2im;
//   - input gradient, strided: GEMM into col, then col2im.
func (g Conv2D) Backward(dx, dw, dy, x, w, col []float32, accumDX bool) {
	in, out := g.C*g.H*g.W, g.OC*g.OH*g.OW
	k, hw := g.ColRows(), g.ColCols()
	beta := float32(0)
	if accumDX {
		beta = 1
	}
	for n := 0; n < g.N; n++ {
		dyn, xn := dy[n*out:(n+1)*out], x[n*in:(n+1)*in]
		if dw != nil {
			if g.Pointwise() {
				kernels.Sgemm(false, true, g.OC, k, hw, 1, dyn, hw, xn, hw, 1, dw, k)
			} else {
				kernels.ConvBackwardFilterGemm(g.ConvShape, g.OC, dyn, xn, dw)
			}
		}
		if dx == nil {
			continue
		}
		dxn := dx[n*in : (n+1)*in]
		switch {
		case g.Pointwise():
			kernels.Sgemm(true, false, k, hw, g.OC, 1, w, k, dyn, hw, beta, dxn, hw)
		case kernels.TransposedConvOK(g.ConvShape):
			kernels.ConvBackwardDataGemm(g.ConvShape, g.OC, w, dyn, beta, dxn)
		default:
			kernels.Sgemm(true, false, k, hw, g.OC, 1, w, k, dyn, hw, 0, col, hw)
			if !accumDX {
				clear(dxn)
			}
			kernels.Col2Im(g.ConvShape, col, dxn)
		}
	}
}
