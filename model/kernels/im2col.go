package kernels

// ConvShape describes one image's 2-D convolution geometry (NCHW, OIHW).
// PadH/PadW pad both sides; the output size follows PyTorch's formula.
type ConvShape struct {
	C, H, W            int // input channels and spatial size
	KH, KW             int // kernel size
	Stride, PadH, PadW int
	OH, OW             int // output spatial size
}

// NewConvShape fills in the output size of a convolution.
func NewConvShape(c, h, w, kh, kw, stride, padH, padW int) ConvShape {
	return ConvShape{
		C: c, H: h, W: w, KH: kh, KW: kw, Stride: stride, PadH: padH, PadW: padW,
		OH: (h+2*padH-kh)/stride + 1,
		OW: (w+2*padW-kw)/stride + 1,
	}
}

// ColRows is the row count of the im2col matrix (C*KH*KW).
func (s ConvShape) ColRows() int { return s.C * s.KH * s.KW }

// ColCols is the column count of the im2col matrix (OH*OW).
func (s ConvShape) ColCols() int { return s.OH * s.OW }

// Im2Col unfolds one image x (C x H x W) into col, a (C*KH*KW) x (OH*OW)
// matrix whose row (c,ky,kx) holds, for every output pixel, the input pixel
// that the kernel tap (ky,kx) of channel c sees there (0 in the padding).
func Im2Col(s ConvShape, x, col []float32) {
	ohw := s.OH * s.OW
	col = col[:s.ColRows()*ohw]
	r := 0
	for c := 0; c < s.C; c++ {
		xc := x[c*s.H*s.W : (c+1)*s.H*s.W]
		for ky := 0; ky < s.KH; ky++ {
			for kx := 0; kx < s.KW; kx++ {
				dst := col[r*ohw : (r+1)*ohw]
				r++
				for oy := 0; oy < s.OH; oy++ {
					iy := oy*s.Stride - s.PadH + ky
					drow := dst[oy*s.OW : (oy+1)*s.OW]
					if iy < 0 || iy >= s.H {
						clear(drow)
						continue
					}
					xrow := xc[iy*s.W : (iy+1)*s.W]
					ix := kx - s.PadW
					for ox := range drow {
						if ix >= 0 && ix < s.W {
							drow[ox] = xrow[ix]
						} else {
							drow[ox] = 0
						}
						ix += s.Stride
					}
				}
			}
		}
	}
}

// Col2Im is the adjoint of Im2Col: it adds every entry of col back onto the
// input pixel it was read from. dx must be zeroed by the caller when it is
// not meant to accumulate.
func Col2Im(s ConvShape, col, dx []float32) {
	ohw := s.OH * s.OW
	r := 0
	for c := 0; c < s.C; c++ {
		xc := dx[c*s.H*s.W : (c+1)*s.H*s.W]
		for ky := 0; ky < s.KH; ky++ {
			for kx := 0; kx < s.KW; kx++ {
				src := col[r*ohw : (r+1)*ohw]
				r++
				for oy := 0; oy < s.OH; oy++ {
					iy := oy*s.Stride - s.PadH + ky
					if iy < 0 || iy >= s.H {
						continue
					}
					srow := src[oy*s.OW : (oy+1)*s.OW]
					xrow := xc[iy*s.W : (iy+1)*s.W]
					ix := kx - s.PadW
					for ox := range srow {
						if ix >= 0 && ix < s.W {
							xrow[ix] += srow[ox]
						}
						ix += s.Stride
					}
				}
			}
		}
	}
}
