package nn

import (
	"math"

	"github.com/goresnet/goresnet/model/kernels"
)

// Pool2D is the geometry of a 2-D pooling over N images of C channels.
// Padding may differ between the top/left and bottom/right edges, which is
// what Keras' padding='same' needs.
type Pool2D struct {
	N, C, H, W     int
	KH, KW, Stride int
	PadT, PadL     int // top and left padding; bottom/right follow from OH, OW
	OH, OW         int
	// CountPad counts padded positions in an average's divisor (PyTorch's
	// count_include_pad). Keras' 'same' average pooling does not.
	CountPad bool
}

// NewPool2D is PyTorch's MaxPool2d/AvgPool2d geometry: symmetric padding,
// output floor((H + 2*pad - k)/stride) + 1.
func NewPool2D(n, c, h, w, k, stride, pad int) Pool2D {
	return Pool2D{N: n, C: c, H: h, W: w, KH: k, KW: k, Stride: stride, PadT: pad, PadL: pad,
		OH: (h+2*pad-k)/stride + 1, OW: (w+2*pad-k)/stride + 1, CountPad: true}
}

// NewSamePool2D is Keras' padding='same': output ceil(H/stride), the padding
// split with the extra pixel at the bottom/right, and padded positions left
// out of an average.
func NewSamePool2D(n, c, h, w, k, stride int) Pool2D {
	oh, ow := (h+stride-1)/stride, (w+stride-1)/stride
	padH := max((oh-1)*stride+k-h, 0)
	padW := max((ow-1)*stride+k-w, 0)
	return Pool2D{N: n, C: c, H: h, W: w, KH: k, KW: k, Stride: stride, PadT: padH / 2, PadL: padW / 2,
		OH: oh, OW: ow, CountPad: false}
}

// InSize and OutSize are element counts for the whole batch.
func (g Pool2D) InSize() int  { return g.N * g.C * g.H * g.W }
func (g Pool2D) OutSize() int { return g.N * g.C * g.OH * g.OW }

// window returns the clipped input rows [y0,y1) and columns [x0,x1) of
// output pixel (oy, ox), and the unclipped window area.
func (g Pool2D) window(oy, ox int) (y0, y1, x0, x1, area int) {
	y0, x0 = oy*g.Stride-g.PadT, ox*g.Stride-g.PadL
	y1, x1 = y0+g.KH, x0+g.KW
	// Keras/PyTorch never let a window extend past the padded input, so
	// the unclipped area is the kernel area.
	area = g.KH * g.KW
	return max(y0, 0), min(y1, g.H), max(x0, 0), min(x1, g.W), area
}

// MaxForward computes the maximum of every window; padded positions never
// win (PyTorch pads with -inf). argmax records, per output, the index within
// its input plane, for MaxBackward. Ties go to the first element in scan
// order and NaN wins, as in PyTorch.
func (g Pool2D) MaxForward(y, x []float32, argmax []int32) {
	plane, oplane := g.H*g.W, g.OH*g.OW
	if g.KH == 3 && g.KW == 3 && g.Stride == 2 && g.PadT == 1 && g.PadL == 1 &&
		g.OH == (g.H-1)/2+1 && g.OW == (g.W-1)/2+1 {
		// ResNet's stem pool (PyTorch's MaxPool2d(3, 2, 1)): the kernel
		// with the same scan order, ties and NaN rule.
		for p := 0; p < g.N*g.C; p++ {
			kernels.MaxPool3x3s2p1(y[p*oplane:(p+1)*oplane], argmax[p*oplane:(p+1)*oplane], x[p*plane:(p+1)*plane], g.H, g.W)
		}
		return
	}
	g.maxForwardAny(y, x, argmax)
}

// maxForwardAny is MaxForward for any geometry.
func (g Pool2D) maxForwardAny(y, x []float32, argmax []int32) {
	plane, oplane := g.H*g.W, g.OH*g.OW
	for p := 0; p < g.N*g.C; p++ {
		xp := x[p*plane : (p+1)*plane]
		yp, ap := y[p*oplane:(p+1)*oplane], argmax[p*oplane:(p+1)*oplane]
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				y0, y1, x0, x1, _ := g.window(oy, ox)
				best, bi := float32(math.Inf(-1)), int32(-1)
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						v := xp[iy*g.W+ix]
						if v > best || v != v || bi < 0 {
							best, bi = v, int32(iy*g.W+ix)
							if v != v {
								break
							}
						}
					}
				}
				yp[oy*g.OW+ox], ap[oy*g.OW+ox] = best, bi
			}
		}
	}
}

// MaxBackward routes every output gradient to the input that won its window.
// dx is written (zeroed first).
func (g Pool2D) MaxBackward(dx, dy []float32, argmax []int32) {
	plane, oplane := g.H*g.W, g.OH*g.OW
	clear(dx[:g.InSize()])
	for p := 0; p < g.N*g.C; p++ {
		dxp := dx[p*plane : (p+1)*plane]
		for i, d := range dy[p*oplane : (p+1)*oplane] {
			dxp[argmax[p*oplane+i]] += d
		}
	}
}

// divisor is how many inputs an average over the window of (oy, ox) divides by.
func (g Pool2D) divisor(oy, ox int) float32 {
	y0, y1, x0, x1, area := g.window(oy, ox)
	if g.CountPad {
		return float32(area)
	}
	return float32((y1 - y0) * (x1 - x0))
}

// AvgForward computes the mean of every window.
func (g Pool2D) AvgForward(y, x []float32) {
	plane, oplane := g.H*g.W, g.OH*g.OW
	for p := 0; p < g.N*g.C; p++ {
		xp, yp := x[p*plane:(p+1)*plane], y[p*oplane:(p+1)*oplane]
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				y0, y1, x0, x1, _ := g.window(oy, ox)
				var s float32
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						s += xp[iy*g.W+ix]
					}
				}
				yp[oy*g.OW+ox] = s / g.divisor(oy, ox)
			}
		}
	}
}

// AvgBackward spreads every output gradient evenly over its window. dx is
// written (zeroed first).
func (g Pool2D) AvgBackward(dx, dy []float32) {
	plane, oplane := g.H*g.W, g.OH*g.OW
	clear(dx[:g.InSize()])
	for p := 0; p < g.N*g.C; p++ {
		dxp, dyp := dx[p*plane:(p+1)*plane], dy[p*oplane:(p+1)*oplane]
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				y0, y1, x0, x1, _ := g.window(oy, ox)
				d := dyp[oy*g.OW+ox] / g.divisor(oy, ox)
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						dxp[iy*g.W+ix] += d
					}
				}
			}
		}
	}
}

// GlobalAvgPoolForward averages each of the n*c planes of hw pixels into y
// (n x c), the standard ResNet head's pooling. The sums are taken in
// float32 vector lanes folded into float64 (kernels.Sum).
func GlobalAvgPoolForward(y, x []float32, nc, hw int) {
	for p := 0; p < nc; p++ {
		y[p] = float32(kernels.Sum(x[p*hw:(p+1)*hw]) / float64(hw))
	}
}

// GlobalAvgPoolBackward spreads dy (n x c) evenly over each plane of dx.
func GlobalAvgPoolBackward(dx, dy []float32, nc, hw int) {
	for p := 0; p < nc; p++ {
		kernels.Fill(dx[p*hw:(p+1)*hw], dy[p]/float32(hw))
	}
}
