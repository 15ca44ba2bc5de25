package kernels

import (
	"runtime"
	"unsafe"
)

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
// alpha. Columns past w in the last panel are zero. hooks, if not nil, are
// the kernel's own routines for the common cases (the hand-written wasm
// kernel packs in WebAssembly); row is scratch for them (imRows*w values).
func packPanels(dst, row []float32, v *view, p0, kc, j0, w, nr int, alpha float32, hooks *packHooks) {
	if hooks != nil && packWithHooks(dst, row, v, p0, kc, j0, w, nr, hooks) {
		scale(dst[:(w+nr-1)/nr*kc*nr], alpha)
		return
	}
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

// packWithHooks packs the common cases through a kernel's packing hooks
// (and the word-copy helpers below, tuned for js/wasm, where a memmove or
// a division is a call): im2col rows staged imRows at a time then dealt to
// the panels, whole panels of contiguous rows, whole panels of contiguous
// columns. It returns false, having done nothing, for the other cases.
func packWithHooks(dst, row []float32, v *view, p0, kc, j0, w, nr int, hooks *packHooks) bool {
	panels := (w + nr - 1) / nr
	full := w / nr // whole panels
	dst = dst[:panels*kc*nr]
	switch {
	case v.kind == im2col:
		chunk := max(1, len(row)/w) // at least imRows
		for pp := 0; pp < kc; pp += chunk {
			r := min(chunk, kc-pp)
			rows := row[:r*w]
			if hooks.im2col == nil || !hooks.im2col(*v, p0+pp, r, v.j0+j0, w, rows) {
				for i := 0; i < r; i++ {
					im2colRow(&v.conv, v.data, p0+pp+i, v.j0+j0, rows[i*w:(i+1)*w])
				}
			}
			if full > 0 {
				_ = dst[(full-1)*kc*nr+(pp+r-1)*nr+nr-1]
				packRows(hooks, unsafe.Pointer(&dst[pp*nr]), unsafe.Pointer(&rows[0]), r, full, nr, kc*nr, w)
			}
			if full < panels {
				for i := 0; i < r; i++ {
					pr := dst[full*kc*nr+(pp+i)*nr : full*kc*nr+(pp+i)*nr+nr]
					clear(pr[copy(pr, rows[i*w+full*nr:(i+1)*w]):])
				}
			}
		}
		return true
	case v.kind == dense && v.js == 1 && full > 0:
		_ = v.data[(p0+kc-1)*v.ps+j0+full*nr-1]
		packRows(hooks, unsafe.Pointer(&dst[0]), unsafe.Pointer(&v.data[p0*v.ps+j0]), kc, full, nr, kc*nr, v.ps)
	case v.kind == dense && v.ps == 1 && full > 0:
		_ = v.data[(j0+full*nr-1)*v.js+p0+kc-1]
		packColPanels(hooks, unsafe.Pointer(&dst[0]), unsafe.Pointer(&v.data[j0*v.js+p0]), kc, full, nr, v.js)
	default:
		return false
	}
	// The last, partial panel of a dense view.
	if full < panels {
		jq := j0 + full*nr
		wq := w - full*nr
		pd := dst[full*kc*nr : panels*kc*nr]
		if v.js == 1 {
			for p := 0; p < kc; p++ {
				pr := pd[p*nr : p*nr+nr]
				clear(pr[copy(pr, v.data[(p0+p)*v.ps+jq:(p0+p)*v.ps+jq+wq]):])
			}
		} else {
			packStrided(pd, v, p0, kc, jq, wq, nr)
		}
	}
	return true
}

// imRows is how many im2col rows of full width packWithHooks stages at a
// time (more when the block is narrower).
const imRows = 16

// packHooks are a kernel's own packing routines, each a replacement for
// the Go function of the same contract (packRows, packColPanels,
// im2colRow) that may decline (return false) a case it does not handle.
type packHooks struct {
	rows func(d, s unsafe.Pointer, rows, panels, nr, panelStride, rowStride int) bool
	cols func(d, s unsafe.Pointer, kc, panels, nr, js int) bool
	// im2col writes im2col rows [p0, p0+rows), columns [j0, j0+w) of
	// the image in v into out, w values a row (as im2colRow, row by row).
	// (v by value: a pointer passed to a function value escapes, and
	// with it the driver's plan, which must not be allocated per call.)
	im2col func(v view, p0, rows, j0, w int, out []float32) bool
}

// packRows copies `rows` rows of `panels` whole panels: panel q, row r
// (nr values at d + q*panelStride + r*nr) = s[r*rowStride + q*nr : +nr]
// (strides in values).
func packRows(h *packHooks, d, s unsafe.Pointer, rows, panels, nr, panelStride, rowStride int) {
	if h != nil && h.rows != nil && h.rows(d, s, rows, panels, nr, panelStride, rowStride) {
		return
	}
	for q := 0; q < panels; q++ {
		copyRows(unsafe.Add(d, 4*q*panelStride), unsafe.Add(s, 4*q*nr), rows, nr, nr, rowStride)
	}
}

// packColPanels packs whole panels of nr contiguous columns js values
// apart: panel q (at d + q*kc*nr) gets columns q*nr..q*nr+nr-1 of s.
func packColPanels(h *packHooks, d, s unsafe.Pointer, kc, panels, nr, js int) {
	if h != nil && h.cols != nil && h.cols(d, s, kc, panels, nr, js) {
		return
	}
	for q := 0; q < panels; q++ {
		packCols(unsafe.Add(d, 4*q*kc*nr), unsafe.Add(s, 4*q*nr*js), kc, nr, js)
	}
}

func scale(x []float32, alpha float32) {
	if alpha != 1 {
		for i := range x {
			x[i] *= alpha
		}
	}
}

// copyRows copies rows of n values, rows apart by dstride and sstride
// values: d[r*dstride+i] = s[r*sstride+i]. Rows of 4 and 8 (the wasm
// kernels' panels) move as 8-byte words in one unrolled loop: js/wasm
// pays dearly for each loop iteration and call, and folds the constant
// offsets of integer loads and stores (not of float ones).
func copyRows(d, s unsafe.Pointer, rows, n, dstride, sstride int) {
	switch n {
	case 8:
		for r := 0; r < rows; r++ {
			sr, dr := unsafe.Add(s, 4*r*sstride), unsafe.Add(d, 4*r*dstride)
			x0, x1 := *(*uint64)(sr), *(*uint64)(unsafe.Add(sr, 8))
			x2, x3 := *(*uint64)(unsafe.Add(sr, 16)), *(*uint64)(unsafe.Add(sr, 24))
			*(*uint64)(dr) = x0
			*(*uint64)(unsafe.Add(dr, 8)) = x1
			*(*uint64)(unsafe.Add(dr, 16)) = x2
			*(*uint64)(unsafe.Add(dr, 24)) = x3
		}
	case 4:
		for r := 0; r < rows; r++ {
			sr, dr := unsafe.Add(s, 4*r*sstride), unsafe.Add(d, 4*r*dstride)
			x0, x1 := *(*uint64)(sr), *(*uint64)(unsafe.Add(sr, 8))
			*(*uint64)(dr) = x0
			*(*uint64)(unsafe.Add(dr, 8)) = x1
		}
	default:
		for r := 0; r < rows; r++ {
			copyVals(unsafe.Add(d, 4*r*dstride), unsafe.Add(s, 4*r*sstride), n)
		}
	}
}

// copyVals copies n float32 values from s to d: 4 at a time as two 8-byte
// words for short rows and in js/wasm (where memmove is a memory.copy
// call, expensive for 32 bytes), with memmove for longer rows elsewhere.
func copyVals(d, s unsafe.Pointer, n int) {
	if n%4 != 0 || (n > 8 && runtime.GOARCH != "wasm") {
		copy(unsafe.Slice((*float32)(d), n), unsafe.Slice((*float32)(s), n))
		return
	}
	for i := 0; i < n; i += 4 {
		x0 := *(*uint64)(unsafe.Add(s, 4*i))
		x1 := *(*uint64)(unsafe.Add(s, 4*i+8))
		*(*uint64)(unsafe.Add(d, 4*i)) = x0
		*(*uint64)(unsafe.Add(d, 4*i+8)) = x1
	}
}

// packCols writes one panel: d[p*nr+jj] = s[jj*js+p] for p < kc, jj < nr
// (s is column 0 of the panel at its first row; columns js values apart).
// The values move as 32-bit words: js/wasm folds the constant offsets of
// integer loads and stores into the instruction, not those of float ones.
func packCols(d, s unsafe.Pointer, kc, nr, js int) {
	if nr == 4 {
		s1, s2, s3 := unsafe.Add(s, 4*js), unsafe.Add(s, 8*js), unsafe.Add(s, 12*js)
		p := 0
		// Two steps of k at a time: 8-byte loads of two values of each
		// column, recombined into 8-byte stores.
		for ; p+2 <= kc; p += 2 {
			o := uintptr(4 * p)
			x0, x1 := *(*uint64)(unsafe.Add(s, o)), *(*uint64)(unsafe.Add(s1, o))
			x2, x3 := *(*uint64)(unsafe.Add(s2, o)), *(*uint64)(unsafe.Add(s3, o))
			dd := unsafe.Add(d, 16*p)
			*(*uint64)(dd) = x0&0xffffffff | x1<<32
			*(*uint64)(unsafe.Add(dd, 8)) = x2&0xffffffff | x3<<32
			*(*uint64)(unsafe.Add(dd, 16)) = x0>>32 | x1&^0xffffffff
			*(*uint64)(unsafe.Add(dd, 24)) = x2>>32 | x3&^0xffffffff
		}
		for ; p < kc; p++ {
			o := uintptr(4 * p)
			dd := (*[4]uint32)(unsafe.Add(d, 16*p))
			dd[0] = *(*uint32)(unsafe.Add(s, o))
			dd[1] = *(*uint32)(unsafe.Add(s1, o))
			dd[2] = *(*uint32)(unsafe.Add(s2, o))
			dd[3] = *(*uint32)(unsafe.Add(s3, o))
		}
		return
	}
	for jj := 0; jj < nr; jj++ {
		col := unsafe.Add(s, 4*jj*js)
		dj := unsafe.Add(d, 4*jj)
		for p := 0; p < kc; p++ {
			*(*uint32)(unsafe.Add(dj, 4*p*nr)) = *(*uint32)(unsafe.Add(col, 4*p))
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
	st := s.Stride
	for i := 0; i < len(out); {
		run := min(s.OW-ox, len(out)-i) // output pixels left in this output row
		seg := out[i : i+run]
		iy := oy*st - s.PadH + ky
		if iy < 0 || iy >= s.H {
			clear(seg)
		} else {
			src := plane[iy*s.W : (iy+1)*s.W]
			ix := ox*st - s.PadW + kx // the input pixel of seg[0]
			// seg[t] reads src[ix+t*st]: inside the image for t in
			// [lo, hi), padding (zero) outside.
			lo, hi := max(0, -ix), min(run, s.W-ix)
			if st != 1 {
				// (Divisions only here: js/wasm makes each a call.)
				lo, hi = 0, run
				if ix < 0 {
					lo = min(run, (-ix+st-1)/st)
				}
				if rem := s.W - ix; rem <= 0 {
					hi = 0
				} else {
					hi = min(run, (rem+st-1)/st)
				}
			}
			if hi <= lo {
				clear(seg)
			} else {
				// The padding at either end is a value or two: stores,
				// not memclr calls.
				for t := 0; t < lo; t++ {
					seg[t] = 0
				}
				if st == 1 {
					copyRun(seg[lo:hi], src[ix+lo:ix+hi])
				} else {
					d := seg[lo:hi]
					sv := src[ix+lo*st : ix+(hi-1)*st+1]
					for t := range d {
						d[t] = sv[t*st]
					}
				}
				for t := hi; t < run; t++ {
					seg[t] = 0
				}
			}
		}
		i += run
		ox = 0
		oy++
	}
}

// copyRun is copy(dst, src) for the runs of im2colRow; in js/wasm, short
// runs (the 7 to 28 pixels of ResNet's later stages) move as 8-byte words
// rather than through a memory.copy call.
func copyRun(dst, src []float32) {
	n := len(dst)
	if runtime.GOARCH != "wasm" || n > 32 {
		copy(dst, src)
		return
	}
	src = src[:n]
	i := 0
	for ; i+2 <= n; i += 2 {
		*(*uint64)(unsafe.Pointer(&dst[i])) = *(*uint64)(unsafe.Pointer(&src[i]))
	}
	if i < n {
		dst[i] = src[i]
	}
}
