package kernels

import "unsafe"

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
				if wq < nr {
					clear(row[wq:])
				}
			}
		case v.js == 1:
			for p := 0; p < kc; p++ {
				src := v.data[(p0+p)*v.ps+jq : (p0+p)*v.ps+jq+wq]
				row := pd[p*nr : p*nr+nr]
				copy(row, src)
				if wq < nr {
					clear(row[wq:])
				}
			}
		default:
			packStrided(pd, v, p0, kc, jq, wq, nr)
		}
		if alpha != 1 {
			for i := range pd {
				pd[i] *= alpha
			}
		}
	}
}

// packStrided packs a panel whose columns are strided in the source (a
// transposed operand): it walks 8 columns at a time down the rows, so that
// each step writes 8 contiguous floats of the panel and reads 8 streams
// that are contiguous when ps == 1. The bounds of the whole block are
// checked once up front; the loop then uses raw pointers.
func packStrided(pd []float32, v *view, p0, kc, jq, wq, nr int) {
	if kc == 0 || wq == 0 {
		return
	}
	_ = pd[kc*nr-1]
	last := (p0+kc-1)*v.ps + (jq+wq-1)*v.js
	_ = v.data[last]
	base := unsafe.Pointer(&v.data[0])
	ps, js := uintptr(v.ps)*4, uintptr(v.js)*4
	dst := unsafe.Pointer(&pd[0])
	jj := 0
	for ; jj+8 <= wq; jj += 8 {
		s0 := unsafe.Add(base, uintptr(p0)*ps+uintptr(jq+jj)*js)
		d := unsafe.Add(dst, jj*4)
		for p := 0; p < kc; p++ {
			o := (*[8]float32)(d)
			o[0] = *(*float32)(s0)
			o[1] = *(*float32)(unsafe.Add(s0, js))
			o[2] = *(*float32)(unsafe.Add(s0, 2*js))
			o[3] = *(*float32)(unsafe.Add(s0, 3*js))
			o[4] = *(*float32)(unsafe.Add(s0, 4*js))
			o[5] = *(*float32)(unsafe.Add(s0, 5*js))
			o[6] = *(*float32)(unsafe.Add(s0, 6*js))
			o[7] = *(*float32)(unsafe.Add(s0, 7*js))
			s0 = unsafe.Add(s0, ps)
			d = unsafe.Add(d, nr*4)
		}
	}
	for ; jj < wq; jj++ {
		s0 := unsafe.Add(base, uintptr(p0)*ps+uintptr(jq+jj)*js)
		d := unsafe.Add(dst, jj*4)
		for p := 0; p < kc; p++ {
			*(*float32)(d) = *(*float32)(s0)
			s0 = unsafe.Add(s0, ps)
			d = unsafe.Add(d, nr*4)
		}
	}
	if wq < nr {
		for p := 0; p < kc; p++ {
			clear(pd[p*nr+wq : p*nr+nr])
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
