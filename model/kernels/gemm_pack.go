package kernels

import "unsafe"

// view is how the GEMM driver reads an operand: a k x w matrix (k is the
// reduction dimension) of one of these kinds:
//
//   - dense: element (p, j) at data[p*ps + j*js];
//   - im2col: the im2col matrix of the image in data, rows (c, ky, kx),
//     columns (oy, ox), read from the image on the fly (convolution);
//   - im2colT: its transpose, rows (oy, ox), columns (c, ky, kx) (the
//     weight gradient of a convolution);
//   - flipped: the weights in data of a convolution with flipC input
//     channels, read as the kernel of its transposed convolution: rows
//     (oc, ky', kx'), columns c, element w[oc][c][KH-1-ky'][KW-1-kx'] (the
//     input gradient of a stride-1 convolution).
//
// Views are values (no pointers to the caller's stack), so a GEMM
// allocates nothing.
type view struct {
	kind   viewKind
	data   []float32
	ps, js int
	conv   ConvShape // im2col, im2colT
	flipC  int       // flipped: input channels of the forward convolution
	flipKK int       // flipped: KH*KW
	j0     int       // non-dense kinds: the first column
}

type viewKind uint8

const (
	dense viewKind = iota
	im2col
	im2colT
	flipped
)

// shift makes column j of the view what column j+d was.
func (v *view) shift(d int) {
	if d == 0 {
		return
	}
	if v.kind != dense {
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
	if tail := panels*nr - w; tail > 0 {
		// Zero the padding columns of the last panel once.
		last := dst[(panels-1)*kc*nr : panels*kc*nr]
		for p := 0; p < kc; p++ {
			clear(last[p*nr+nr-tail : p*nr+nr])
		}
	}
	switch {
	case v.kind == im2col:
		// Row by row of the block: each row of the im2col matrix is made
		// of runs copied from the image, split across the panels.
		for p := 0; p < kc; p++ {
			im2colRowPanels(&v.conv, v.data, p0+p, v.j0+j0, w, dst, p, kc, nr)
		}
	case v.kind == im2colT:
		// Column by column: a column is a stretch of one im2col row, made
		// in a small buffer and spread down the panel.
		var buf [512]float32 // kc is at most 512 for every kernel
		seg := buf[:kc]
		for jj := 0; jj < w; jj++ {
			im2colRowPanels(&v.conv, v.data, v.j0+j0+jj, p0, kc, seg, 0, 1, kc)
			pd := dst[(jj/nr)*kc*nr+jj%nr:]
			for p, x := range seg {
				pd[p*nr] = x
			}
		}
	case v.kind == flipped:
		c, kk := v.flipC, v.flipKK
		for p := 0; p < kc; p++ {
			oc, t := (p0+p)/kk, kk-1-(p0+p)%kk
			base := oc*c*kk + t + (v.j0+j0)*kk
			for jj := 0; jj < w; jj++ {
				dst[(jj/nr)*kc*nr+p*nr+jj%nr] = v.data[base+jj*kk]
			}
		}
	case v.js == 1:
		for p := 0; p < kc; p++ {
			src := v.data[(p0+p)*v.ps+j0 : (p0+p)*v.ps+j0+w]
			q := 0
			if nr == 32 {
				for ; (q+1)*32 <= w; q++ {
					*(*[32]float32)(dst[q*kc*32+p*32:]) = *(*[32]float32)(src[q*32:])
				}
			}
			for ; q*nr < w; q++ {
				copy(dst[q*kc*nr+p*nr:q*kc*nr+p*nr+nr], src[q*nr:min(w, (q+1)*nr)])
			}
		}
	default:
		for q := 0; q < panels; q++ {
			jq := j0 + q*nr
			packStrided(dst[q*kc*nr:(q+1)*kc*nr], v, p0, kc, jq, min(nr, j0+w-jq), nr)
		}
	}
	if alpha != 1 {
		for i := range dst[:panels*kc*nr] {
			dst[i] *= alpha
		}
	}
}

// im2colRowPanels writes columns [j0, j0+w) of row p of image x's im2col
// matrix into row prow of the panels in dst (kc x nr each). Row p is kernel
// tap (ky, kx) of channel c; column j is output pixel (oy, ox); the value is
// the input pixel that tap sees there, 0 in the padding. Output rows are
// handled as runs: with stride 1 a run is a copy from one input row.
func im2colRowPanels(s *ConvShape, x []float32, p, j0, w int, dst []float32, prow, kc, nr int) {
	kk := s.KH * s.KW
	c, ky, kx := p/kk, (p%kk)/s.KW, p%s.KW
	plane := x[c*s.H*s.W : (c+1)*s.H*s.W]
	oy, ox := j0/s.OW, j0%s.OW
	// put writes v into column i (relative to j0) of the panels.
	for i := 0; i < w; {
		run := min(s.OW-ox, w-i) // output pixels left in this output row
		iy := oy*s.Stride - s.PadH + ky
		ix := ox*s.Stride - s.PadW + kx
		for t := 0; t < run; {
			// The part of the run that stays in one panel.
			q, jj := (i+t)/nr, (i+t)%nr
			n := min(run-t, nr-jj)
			seg := dst[q*kc*nr+prow*nr+jj : q*kc*nr+prow*nr+jj+n]
			switch {
			case iy < 0 || iy >= s.H:
				clear(seg)
			case s.Stride == 1:
				x0 := ix + t
				lo := max(0, -x0)    // outputs left of the image
				hi := min(n, s.W-x0) // outputs up to the right edge
				if hi <= lo {
					clear(seg)
				} else {
					clear(seg[:lo])
					copy(seg[lo:hi], plane[iy*s.W+x0+lo:iy*s.W+x0+hi])
					clear(seg[hi:])
				}
			default:
				src := plane[iy*s.W : (iy+1)*s.W]
				xx := ix + t*s.Stride
				for u := range seg {
					if xx >= 0 && xx < s.W {
						seg[u] = src[xx]
					} else {
						seg[u] = 0
					}
					xx += s.Stride
				}
			}
			t += n
		}
		i += run
		ox = 0
		oy++
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
