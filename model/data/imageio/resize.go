package imageio

import (
	"math"

	"golang.org/x/image/draw"
)

// Lanczos3 is the Lanczos-3 kernel, sinc(x)*sinc(x/3) for |x| < 3, as an
// x/image/draw Kernel (whose Scale method is the independent check in the
// tests).
var Lanczos3 = &draw.Kernel{Support: 3, At: lanczos3}

func lanczos3(t float64) float64 {
	if t < 0 {
		t = -t
	}
	if t < 1e-12 {
		return 1
	}
	if t >= 3 {
		return 0
	}
	x := math.Pi * t
	return 3 * math.Sin(x) * math.Sin(x/3) / (x * x)
}

// PadGeometry is tf.image.resize_with_pad's arithmetic: the size (rw, rh)
// that an w x h image is resized to so that it fits s x s keeping its
// aspect ratio, and the offset (px, py) at which it sits in the zero
// padding.
func PadGeometry(w, h, s int) (rw, rh, px, py int) {
	ratio := math.Max(float64(w)/float64(s), float64(h)/float64(s))
	fw, fh := float64(w)/ratio, float64(h)/ratio
	rw = max(int(math.Floor(fw+1e-9)), 1)
	rh = max(int(math.Floor(fh+1e-9)), 1)
	px = max(int(math.Floor((float64(s)-fw)/2+1e-9)), 0)
	py = max(int(math.Floor((float64(s)-fh)/2+1e-9)), 0)
	return min(rw, s), min(rh, s), px, py
}

// taps are the filter weights of one resampling direction: output i reads
// input pixels start[i] .. start[i]+n[i]-1 with weights w[off[i]:].
type taps struct {
	start, n, off []int32
	w             []float32
}

// makeTaps computes the weights for resizing in pixels to out pixels with
// kernel k, as TensorFlow's scale_and_translate (and x/image/draw) do:
// half-pixel centres, the kernel widened by the scale when shrinking
// (antialiasing), taps outside the image dropped, and the rest normalised
// to sum to 1.
func makeTaps(k *draw.Kernel, in, out int) *taps {
	return makeTapsExtent(k, in, float64(in), out)
}

// makeTapsExtent is makeTaps for in samples that span extent sample
// widths of the image (a chroma plane of an odd-sized image has one sample
// that hangs over the edge: 46 samples spanning 45.5).
func makeTapsExtent(k *draw.Kernel, in int, extent float64, out int) *taps {
	scale := extent / float64(out)
	ks := math.Max(scale, 1)
	radius := k.Support * ks
	t := &taps{start: make([]int32, out), n: make([]int32, out), off: make([]int32, out)}
	for i := range out {
		center := (float64(i)+0.5)*scale - 0.5
		lo := max(int(math.Ceil(center-radius)), 0)
		hi := min(int(math.Floor(center+radius)), in-1)
		var ws []float64
		var sum float64
		for j := lo; j <= hi; j++ {
			v := k.At((float64(j) - center) / ks)
			ws = append(ws, v)
			sum += v
		}
		if math.Abs(sum) < 1e-12 { // cannot happen for Lanczos; be safe
			lo, ws, sum = min(max(int(math.Round(center)), 0), in-1), []float64{1}, 1
		}
		t.start[i], t.n[i], t.off[i] = int32(lo), int32(len(ws)), int32(len(t.w))
		for _, v := range ws {
			t.w = append(t.w, float32(v/sum))
		}
	}
	return t
}

// Resizer resizes RGB images with a kernel. It caches the weights of the
// sizes it has seen and its scratch memory; it is not safe for concurrent
// use (use one per goroutine).
type Resizer struct {
	Kernel *draw.Kernel // nil: Lanczos3
	cache  map[[3]int]*taps
	row    []float32 // one source row as float32
	tmp    []float32 // horizontal pass output
	acc    []float32 // one output row
	src    []float32 // a source plane as float32
	planes []float32 // resized Y', Cb, Cr planes
}

func (r *Resizer) taps(in, out int) *taps { return r.tapsExtent(in, 2*in, out) }

// tapsExtent caches makeTapsExtent; extent is given in half samples.
func (r *Resizer) tapsExtent(in, extent2, out int) *taps {
	if r.cache == nil {
		r.cache = map[[3]int]*taps{}
	}
	key := [3]int{in, extent2, out}
	t, ok := r.cache[key]
	if !ok {
		k := r.Kernel
		if k == nil {
			k = Lanczos3
		}
		if len(r.cache) > 64 {
			clear(r.cache)
		}
		t = makeTapsExtent(k, in, float64(extent2)/2, out)
		r.cache[key] = t
	}
	return t
}

// ResizeWithPad writes src resized to fit s x s (aspect ratio kept) and
// centred in black padding into dst (s*s*3 bytes, HWC), as
// tf.image.resize_with_pad does.
func (r *Resizer) ResizeWithPad(dst []uint8, s int, src RGB) {
	dst = dst[:s*s*3]
	rw, rh, px, py := PadGeometry(src.W, src.H, s)
	clear(dst)
	r.resize(dst[(py*s+px)*3:], s*3, rw, rh, src)
}

// Resize returns src resized to w x h (the aspect ratio is not kept).
func (r *Resizer) Resize(src RGB, w, h int) RGB {
	dst := NewRGB(w, h)
	r.resize(dst.Pix, w*3, w, h, src)
	return dst
}

// resize writes the rw x rh resized image at dst with a row stride of
// stride bytes: a horizontal pass into float32 rows, then a vertical pass
// that accumulates whole rows.
func (r *Resizer) resize(dst []uint8, stride, rw, rh int, src RGB) {
	if rw == src.W && rh == src.H {
		for y := range rh {
			copy(dst[y*stride:y*stride+rw*3], src.Pix[y*src.W*3:(y+1)*src.W*3])
		}
		return
	}
	tx, ty := r.taps(src.W, rw), r.taps(src.H, rh)
	n := src.H * rw * 3
	if cap(r.tmp) < n {
		r.tmp = make([]float32, n)
	}
	tmp := r.tmp[:n]
	if cap(r.row) < src.W*3 {
		r.row = make([]float32, src.W*3)
	}
	row := r.row[:src.W*3]
	// Only the source rows that some output row reads.
	y0 := int(ty.start[0])
	y1 := int(ty.start[rh-1] + ty.n[rh-1])
	for y := y0; y < y1; y++ {
		for i, v := range src.Pix[y*src.W*3 : (y+1)*src.W*3] {
			row[i] = float32(v)
		}
		out := tmp[y*rw*3 : (y+1)*rw*3]
		for i := range rw {
			s, k := int(tx.start[i])*3, int(tx.n[i])
			ws := tx.w[tx.off[i] : int(tx.off[i])+k]
			p := row[s : s+3*k]
			var r0, g0, b0, r1, g1, b1 float32
			j := 0
			for ; j+1 < k; j += 2 {
				w0, w1 := ws[j], ws[j+1]
				q := p[3*j : 3*j+6]
				r0 += w0 * q[0]
				g0 += w0 * q[1]
				b0 += w0 * q[2]
				r1 += w1 * q[3]
				g1 += w1 * q[4]
				b1 += w1 * q[5]
			}
			if j < k {
				w0 := ws[j]
				q := p[3*j : 3*j+3]
				r0 += w0 * q[0]
				g0 += w0 * q[1]
				b0 += w0 * q[2]
			}
			out[3*i], out[3*i+1], out[3*i+2] = r0+r1, g0+g1, b0+b1
		}
	}
	m := rw * 3
	if cap(r.acc) < m {
		r.acc = make([]float32, m)
	}
	acc := r.acc[:m]
	for y := range rh {
		s, k := int(ty.start[y]), int(ty.n[y])
		ws := ty.w[ty.off[y] : int(ty.off[y])+k]
		first := tmp[s*m : (s+1)*m]
		w0 := ws[0]
		for i, v := range first {
			acc[i] = w0 * v
		}
		for j := 1; j < k; j++ {
			wj := ws[j]
			src := tmp[(s+j)*m : (s+j+1)*m]
			for i, v := range src {
				acc[i] += wj * v
			}
		}
		d := dst[y*stride : y*stride+m]
		for i, v := range acc {
			d[i] = toU8(v)
		}
	}
}

// toU8 rounds to the nearest integer and clamps to [0, 255] (Lanczos
// rings past the input range near edges).
func toU8(v float32) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v + 0.5)
}
