package kernels

// view is how the GEMM driver reads an operand: a k x w matrix (k is the
// reduction dimension). A dense view holds element (p, j) at
// data[p*ps + j*js]; an im2col view is the im2col matrix of one image (in
// data), rows (c, ky, kx) and columns (oy, ox), read from the image on the
// fly. Views are values (no pointers to the caller's stack), so a GEMM
// allocates nothing.
type view struct {
	data   []float32
	ps, js int
	im2col bool
	conv   ConvShape
	j0     int // im2col: the first column
}

// shift makes column j of the view what column j+d was.
func (v *view) shift(d int) {
	if d == 0 {
		return
	}
	if v.im2col {
		v.j0 += d
		return
	}
	v.data = v.data[d*v.js:]
}

// packPanels copies rows [p0, p0+kc) and columns [j0, j0+w) of v into dst
// as ceil(w/nr) panels of kc x nr values, panel after panel, each stored
// row by row (the layout the micro-kernels stream through), scaled by
// alpha. Columns past w in the last panel are zero.
func packPanels(dst []float32, v *view, p0, kc, j0, w, nr int, alpha float32) {
	panels := (w + nr - 1) / nr
	for q := 0; q < panels; q++ {
		jq := j0 + q*nr
		wq := min(nr, j0+w-jq)
		pd := dst[q*kc*nr : (q+1)*kc*nr]
		switch {
		case v.im2col:
			for p := 0; p < kc; p++ {
				row := pd[p*nr : p*nr+nr]
				im2colRow(&v.conv, v.data, p0+p, v.j0+jq, row[:wq])
				clear(row[wq:])
			}
		case v.js == 1:
			for p := 0; p < kc; p++ {
				src := v.data[(p0+p)*v.ps+jq : (p0+p)*v.ps+jq+wq]
				row := pd[p*nr : p*nr+nr]
				copy(row, src)
				clear(row[wq:])
			}
		default:
			// Columns are strided: walk each column down, so that the
			// source is read contiguously when ps == 1.
			for jj := 0; jj < wq; jj++ {
				col := v.data[(jq+jj)*v.js:]
				for p := 0; p < kc; p++ {
					pd[p*nr+jj] = col[(p0+p)*v.ps]
				}
			}
			for p := 0; p < kc; p++ {
				clear(pd[p*nr+wq : p*nr+nr])
			}
		}
		if alpha != 1 {
			for i := range pd {
				pd[i] *= alpha
			}
		}
	}
}

// im2colRow writes columns [j0, j0+len(out)) of row p of image x's im2col
// matrix into out: row p is kernel tap (ky, kx) of channel c, column j is
// output pixel (oy, ox), and the value is the input pixel that tap sees
// there, 0 in the padding.
func im2colRow(s *ConvShape, x []float32, p, j0 int, out []float32) {
	kk := s.KH * s.KW
	c, ky, kx := p/kk, (p%kk)/s.KW, p%s.KW
	plane := x[c*s.H*s.W : (c+1)*s.H*s.W]
	oy, ox := j0/s.OW, j0%s.OW
	for i := 0; i < len(out); {
		run := min(s.OW-ox, len(out)-i) // output pixels left in this output row
		seg := out[i : i+run]
		iy := oy*s.Stride - s.PadH + ky
		if iy < 0 || iy >= s.H {
			clear(seg)
		} else {
			src := plane[iy*s.W : (iy+1)*s.W]
			ix := ox*s.Stride - s.PadW + kx
			if s.Stride == 1 {
				// A run of consecutive input pixels with zero edges.
				lo := max(0, -ix)      // outputs left of the image
				hi := min(run, s.W-ix) // outputs up to the right edge
				if hi <= lo {
					clear(seg)
				} else {
					clear(seg[:lo])
					copy(seg[lo:hi], src[ix+lo:ix+hi])
					clear(seg[hi:])
				}
			} else {
				for t := range seg {
					if ix >= 0 && ix < s.W {
						seg[t] = src[ix]
					} else {
						seg[t] = 0
					}
					ix += s.Stride
				}
			}
		}
		i += run
		ox = 0
		oy++
	}
}
