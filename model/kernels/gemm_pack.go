package kernels

import (
	"runtime"
	"unsafe"
)

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
// alpha. Columns past w in the last panel are zero. row is scratch space
// for at least imRows*w values (used for im2col views). hooks, if not
// nil, are the kernel's own routines for the bulk of the work.
//
// The common cases (whole panels of contiguous rows, whole panels of
// contiguous columns, im2col rows) copy through raw pointers after one
// bounds check: per-value bounds checks and a memmove call per panel row
// cost as much as the small kernels' arithmetic (in js/wasm, where
// memmove is a memory.copy call).
func packPanels(dst, row []float32, v *view, p0, kc, j0, w, nr int, alpha float32, hooks *packHooks) {
	panels := (w + nr - 1) / nr
	full := w / nr // whole panels
	dst = dst[:panels*kc*nr]
	if v.im2col {
		// imRows im2col rows at a time over all w columns (the per-call
		// index arithmetic is paid once per row, not once per panel),
		// then dealt out to the panels.
		chunk := max(1, len(row)/w) // at least imRows
		for pp := 0; pp < kc; pp += chunk {
			r := min(chunk, kc-pp)
			rows := row[:r*w]
			if hooks == nil || hooks.im2col == nil || !hooks.im2col(*v, p0+pp, r, v.j0+j0, w, rows) {
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
		scale(dst, alpha)
		return
	}
	q0 := 0 // the panels done below
	switch {
	case v.js == 1 && full > 0:
		// Whole panels, contiguous rows: nr values per row and panel.
		_ = v.data[(p0+kc-1)*v.ps+j0+full*nr-1]
		packRows(hooks, unsafe.Pointer(&dst[0]), unsafe.Pointer(&v.data[p0*v.ps+j0]), kc, full, nr, kc*nr, v.ps)
		q0 = full
	case v.ps == 1 && full > 0:
		// Whole panels, contiguous columns (A as stored, or B^T): a
		// transpose, walking nr columns down together.
		_ = v.data[(j0+full*nr-1)*v.js+p0+kc-1]
		packColPanels(hooks, unsafe.Pointer(&dst[0]), unsafe.Pointer(&v.data[j0*v.js+p0]), kc, full, nr, v.js)
		q0 = full
	}
	for q := q0; q < panels; q++ {
		jq := j0 + q*nr
		wq := min(nr, j0+w-jq)
		pd := dst[q*kc*nr : (q+1)*kc*nr]
		if v.js == 1 {
			for p := 0; p < kc; p++ {
				src := v.data[(p0+p)*v.ps+jq : (p0+p)*v.ps+jq+wq]
				row := pd[p*nr : p*nr+nr]
				copy(row, src)
				clear(row[wq:])
			}
			continue
		}
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
	scale(dst, alpha)
}

// imRows is how many im2col rows of full width packPanels stages at a
// time (more when the block is narrower).
const imRows = 16

// packHooks are a kernel's own packing routines, each a replacement for
// the Go function of the same contract (packRows, packColPanels) that
// may decline (return false) a case it does not handle.
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
// call, expensive for 32 bytes), with memmove for longer rows elsewhere
// (on amd64 it beats the word loop for the 32-value rows of the AVX2
// kernel).
func copyVals(d, s unsafe.Pointer, n int) {
	if n%4 != 0 || (n > 8 && runtime.GOARCH != "wasm") {
		copy(unsafe.Slice((*float32)(d), n), unsafe.Slice((*float32)(s), n))
		return
	}
	for i := 0; i < n; i += 4 {
		// Word by word: an array assignment may overlap, and js/wasm
		// makes it a memmove call.
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
