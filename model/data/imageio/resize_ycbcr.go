package imageio

import (
	"image"
)

// ResizeYCbCrWithPad is ResizeWithPad for a decoded JPEG (or lossy WebP)
// in its own Y'CbCr planes: each plane is resized at its own resolution
// (chroma planes are half size for 4:2:0 and 4:2:2; their samples sit
// between luma samples, as JFIF specifies, which the half-pixel mapping
// gives) and the result is converted to RGB with JFIF's full-range
// BT.601 matrix (color.YCbCrToRGB's). The conversion is affine, so this
// equals converting first and resizing after, except that chroma is
// interpolated from its own samples rather than repeated 2x2 as
// color.YCbCrToRGB's image/draw path does, and it is 2-3 times faster:
// only the 224 x 168 result is converted, and chroma is a quarter of the
// work. It reports false (and does nothing) for subsample ratios other
// than 4:4:4, 4:2:2 and 4:2:0.
func (r *Resizer) ResizeYCbCrWithPad(dst []uint8, s int, m *image.YCbCr) bool {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	// Chroma planes: cw x ch samples spanning ew/2 x eh/2 sample widths.
	var cw, ch, ew, eh int
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		cw, ch, ew, eh = w, h, 2*w, 2*h
	case image.YCbCrSubsampleRatio422:
		cw, ch, ew, eh = (w+1)/2, h, w, 2*h
	case image.YCbCrSubsampleRatio420:
		cw, ch, ew, eh = (w+1)/2, (h+1)/2, w, h
	default:
		return false
	}
	if m.Rect.Min != (image.Point{}) {
		return false
	}
	dst = dst[:s*s*3]
	rw, rh, px, py := PadGeometry(w, h, s)
	clear(dst)
	n := rw * rh
	if cap(r.planes) < 3*n {
		r.planes = make([]float32, 3*n)
	}
	y, cb, cr := r.planes[:n], r.planes[n:2*n], r.planes[2*n:3*n]
	ty, tx := r.taps(h, rh), r.taps(w, rw)
	r.plane(y, rw, rh, m.Y, w, h, m.YStride, tx, ty)
	ty, tx = r.tapsExtent(ch, eh, rh), r.tapsExtent(cw, ew, rw)
	r.plane(cb, rw, rh, m.Cb, cw, ch, m.CStride, tx, ty)
	r.plane(cr, rw, rh, m.Cr, cw, ch, m.CStride, tx, ty)
	for j := range rh {
		d := dst[((py+j)*s+px)*3 : ((py+j)*s+px+rw)*3]
		o := j * rw
		yr, br, rr := y[o:o+rw], cb[o:o+rw], cr[o:o+rw]
		for i := range rw {
			yy, u, v := yr[i], br[i]-128, rr[i]-128
			d[3*i] = toU8(yy + 1.40200*v)
			d[3*i+1] = toU8(yy - 0.34414*u - 0.71414*v)
			d[3*i+2] = toU8(yy + 1.77200*u)
		}
	}
	return true
}

// plane resizes one uint8 plane (w x h, row stride stride) to rw x rh
// float32 values: a vertical pass into float rows (four taps per sweep),
// then a horizontal pass (two accumulators per output).
func (r *Resizer) plane(out []float32, rw, rh int, src []uint8, w, h, stride int, tx, ty *taps) {
	if cap(r.src) < w*h {
		r.src = make([]float32, w*h)
	}
	fs := r.src[:w*h]
	// Convert only the source rows that some output row reads.
	y0, y1 := int(ty.start[0]), int(ty.start[rh-1]+ty.n[rh-1])
	for y := y0; y < y1; y++ {
		row := fs[y*w : (y+1)*w]
		for i, v := range src[y*stride : y*stride+w] {
			row[i] = float32(v)
		}
	}
	if cap(r.acc) < w {
		r.acc = make([]float32, w)
	}
	acc := r.acc[:w]
	for j := range rh {
		s, k := int(ty.start[j]), int(ty.n[j])
		ws := ty.w[ty.off[j] : int(ty.off[j])+k]
		clear(acc)
		t := 0
		for ; t+4 <= k; t += 4 {
			w0, w1, w2, w3 := ws[t], ws[t+1], ws[t+2], ws[t+3]
			r0 := fs[(s+t)*w : (s+t+1)*w]
			r1 := fs[(s+t+1)*w : (s+t+2)*w]
			r2 := fs[(s+t+2)*w : (s+t+3)*w]
			r3 := fs[(s+t+3)*w : (s+t+4)*w]
			r0, r1, r2, r3 = r0[:len(acc)], r1[:len(acc)], r2[:len(acc)], r3[:len(acc)]
			for i := range acc {
				acc[i] += w0*r0[i] + w1*r1[i] + w2*r2[i] + w3*r3[i]
			}
		}
		for ; t < k; t++ {
			wt := ws[t]
			rt := fs[(s+t)*w : (s+t+1)*w]
			rt = rt[:len(acc)]
			for i := range acc {
				acc[i] += wt * rt[i]
			}
		}
		o := out[j*rw : (j+1)*rw]
		for i := range o {
			st, kk := int(tx.start[i]), int(tx.n[i])
			wx := tx.w[tx.off[i] : int(tx.off[i])+kk]
			p := acc[st : st+kk]
			var a0, a1 float32
			q := 0
			for ; q+1 < kk; q += 2 {
				a0 += wx[q] * p[q]
				a1 += wx[q+1] * p[q+1]
			}
			if q < kk {
				a0 += wx[q] * p[q]
			}
			o[i] = a0 + a1
		}
	}
}
