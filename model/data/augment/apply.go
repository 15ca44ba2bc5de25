package augment

import (
	"fmt"
	"math"
	"strings"
)

// Norm is the normalisation applied to a pixel value v in [0, 255]:
// (v/255 - Mean[c]) / Std[c].
type Norm struct {
	Name      string
	Mean, Std [3]float32
}

// ImageNet is torchvision's normalisation, the one ImageNet weights expect
// (the default).
var ImageNet = Norm{Name: "imagenet", Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}

// Unit divides by 255 only, as the notebook's format_image does.
var Unit = Norm{Name: "unit", Mean: [3]float32{0, 0, 0}, Std: [3]float32{1, 1, 1}}

// ParseNorm reads "imagenet" or "unit" (also "255" or "/255").
func ParseNorm(s string) (Norm, error) {
	switch strings.ToLower(s) {
	case "imagenet", "":
		return ImageNet, nil
	case "unit", "255", "/255":
		return Unit, nil
	}
	return Norm{}, fmt.Errorf("normalisation %q: want imagenet or unit (/255)", s)
}

// coeffs returns per-channel a, b with out = v*a + b.
func (n Norm) coeffs() (a, b [3]float32) {
	for c := range 3 {
		a[c] = 1 / (255 * n.Std[c])
		b[c] = -n.Mean[c] / n.Std[c]
	}
	return a, b
}

// Normalize writes src (HWC uint8) into dst (CHW float32) with no
// augmentation; src and dst have the same size.
func Normalize(dst []float32, src Image, norm Norm) {
	hw := src.H * src.W
	a, b := norm.coeffs()
	d0, d1, d2 := dst[:hw], dst[hw:2*hw], dst[2*hw:3*hw]
	p := src.Pix[:3*hw]
	for i := range hw {
		d0[i] = float32(p[3*i])*a[0] + b[0]
		d1[i] = float32(p[3*i+1])*a[1] + b[1]
		d2[i] = float32(p[3*i+2])*a[2] + b[2]
	}
}

// Apply writes the augmented, normalised image into dst (float32, CHW, 3 x
// outH x outW). The steps, in Keras order: the crop box resized to outH x
// outW (bilinear, half-pixel centres, clamped to the box, as torchvision's
// resized_crop for enlargements), the flips, the rotation about the centre
// (Keras' RandomRotation: bilinear, fill mode reflect), the contrast
// ((v - mean) * factor + mean per channel, clipped to [0, 255]), and norm.
func Apply(dst []float32, outH, outW int, src Image, p Params, norm Norm) {
	new(Scratch).Apply(dst, outH, outW, src, p, norm)
}

// Scratch holds the working memory of Apply, for a caller that applies
// many images (one Scratch per goroutine).
type Scratch struct {
	f   []float32 // the source as float32, HWC
	row []float32 // one vertically interpolated row
}

// Apply is the package's Apply using s's memory.
func (s *Scratch) Apply(dst []float32, outH, outW int, src Image, p Params, norm Norm) {
	hw := outH * outW
	dst = dst[:3*hw]
	rows := rowFinisher{contrast: p.Contrast != 1}
	rows.a, rows.b = norm.coeffs()
	if p.CropX == 0 && p.CropY == 0 && p.CropW == src.W && p.CropH == src.H && outH == src.H && outW == src.W && p.Angle == 0 {
		if p.Contrast == 1 && !p.FlipH && !p.FlipV {
			Normalize(dst, src, norm)
			return
		}
		copyFlipped(dst, src, p.FlipH, p.FlipV, &rows)
	} else {
		// One zero past the image: the vector loop's 4-lane loads of the
		// last pixel read it (and ignore it).
		n := src.H*src.W*3 + 1
		if cap(s.f) < n {
			s.f = make([]float32, n)
		}
		s.resample(dst, outH, outW, src, s.f[:n], p, &rows)
	}
	if rows.contrast {
		contrast(dst, hw, p.Contrast, rows.sum, norm)
	}
}

// rowFinisher is called on each finished output row (values in [0, 255]):
// without a contrast change it normalises the row at once, while it is in
// cache; with one it adds up the channel sums that the contrast needs (or
// takes them from the caller: the rotation loops add them up as they
// write).
type rowFinisher struct {
	contrast bool
	a, b     [3]float32
	sum      [3]float64
}

func (f *rowFinisher) row(d0, d1, d2 []float32) {
	f.rowSummed(d0, d1, d2, nil)
}

// rowSummed is row for a row whose channel sums the caller has added up
// (sum, when not nil).
func (f *rowFinisher) rowSummed(d0, d1, d2 []float32, sum *[3]float32) {
	if f.contrast && sum != nil {
		for c := range 3 {
			f.sum[c] += float64(sum[c])
		}
		return
	}
	if f.contrast {
		for c, d := range [3][]float32{d0, d1, d2} {
			var part float32
			for _, v := range d {
				part += v
			}
			f.sum[c] += float64(part)
		}
		return
	}
	for c, d := range [3][]float32{d0, d1, d2} {
		a, b := f.a[c], f.b[c]
		for i, v := range d {
			d[i] = v*a + b
		}
	}
}

// copyFlipped writes src (flipped) as float32 CHW values in [0, 255].
func copyFlipped(dst []float32, src Image, fh, fv bool, rows *rowFinisher) {
	h, w := src.H, src.W
	hw := h * w
	for y := range h {
		sy := y
		if fv {
			sy = h - 1 - y
		}
		row := src.Pix[sy*w*3 : (sy+1)*w*3]
		o := y * w
		d0, d1, d2 := dst[o:o+w], dst[hw+o:hw+o+w], dst[2*hw+o:2*hw+o+w]
		if fh {
			for x := range w {
				s := (w - 1 - x) * 3
				d0[x], d1[x], d2[x] = float32(row[s]), float32(row[s+1]), float32(row[s+2])
			}
		} else {
			for x := range w {
				d0[x], d1[x], d2[x] = float32(row[3*x]), float32(row[3*x+1]), float32(row[3*x+2])
			}
		}
		rows.row(d0, d1, d2)
	}
}

// toFloat converts src into dst (of the same length).
func toFloat(dst []float32, src []uint8) {
	n := toFloatVec(dst, src)
	dst, src = dst[n:], src[n:]
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = float32(v)
	}
}

// Reflect maps a coordinate onto [0, n-1] as TensorFlow's
// ImageProjectiveTransform does for fill mode "reflect" (dcba|abcd|dcba,
// reflecting about the edge of the last pixel), then clamps.
func Reflect(c float64, n int) float64 {
	if n <= 1 {
		return 0
	}
	l := float64(n)
	sz2 := 2 * l
	if c < 0 {
		if c < sz2 {
			c = sz2*float64(int64(-c/sz2)) + c
		}
		if c < -l {
			c += sz2
		} else {
			c = -c - 1
		}
	} else if c > l-1 {
		c -= sz2 * float64(int64(c/sz2))
		if c >= l {
			c = sz2 - c - 1
		}
	}
	return min(max(c, 0), l-1)
}

// resample is the general path: each output pixel is mapped back through
// the rotation (with reflection into the outH x outW frame), the flips and
// the crop box, and sampled bilinearly from src. Flips and crop fold into
// one affine map per axis; without rotation that map is separable and
// computed once per row and column.
func (s *Scratch) resample(dst []float32, outH, outW int, src Image, fsrc []float32, p Params, rows *rowFinisher) {
	fw, fh := float64(outW-1), float64(outH-1)
	// Flip + crop: sx = ax*u + bx, clamped to [x0, x1] (likewise y).
	scx := float64(p.CropW) / float64(outW)
	scy := float64(p.CropH) / float64(outH)
	ax, bx := scx, float64(p.CropX)+0.5*scx-0.5
	ay, by := scy, float64(p.CropY)+0.5*scy-0.5
	if p.FlipH {
		ax, bx = -scx, bx+scx*fw
	}
	if p.FlipV {
		ay, by = -scy, by+scy*fh
	}
	x0, x1 := float64(p.CropX), float64(p.CropX+p.CropW-1)
	y0, y1 := float64(p.CropY), float64(p.CropY+p.CropH-1)
	// The crop box as float32 (samples never leave it).
	w3 := src.W * 3
	for y := p.CropY; y < p.CropY+p.CropH; y++ {
		lo, hi := y*w3+p.CropX*3, y*w3+(p.CropX+p.CropW)*3
		toFloat(fsrc[lo:hi], src.Pix[lo:hi])
	}
	if p.Angle == 0 {
		// Separable: lerp the two source rows over the crop box's columns,
		// then lerp along each output row.
		xs := make([]tap, outW)
		c0 := p.CropX * 3
		for x := range xs {
			t := makeTap(ax*float64(x)+bx, x0, x1, p.CropX+p.CropW)
			t.i0, t.i1 = 3*t.i0-c0, 3*t.i1-c0 // offsets into the lerped row
			xs[x] = t
		}
		cw3 := p.CropW * 3
		if cap(s.row) < cw3 {
			s.row = make([]float32, cw3)
		}
		mid := s.row[:cw3]
		hw := outH * outW
		for y := range outH {
			ty := makeTap(ay*float64(y)+by, y0, y1, p.CropY+p.CropH)
			row0 := fsrc[ty.i0*w3+c0 : ty.i0*w3+c0+cw3]
			row1 := fsrc[ty.i1*w3+c0 : ty.i1*w3+c0+cw3]
			row0, row1 = row0[:len(mid)], row1[:len(mid)]
			fy := ty.f
			for i := range mid {
				mid[i] = row0[i] + fy*(row1[i]-row0[i])
			}
			o := y * outW
			d0 := dst[o : o+outW]
			d1 := dst[hw+o : hw+o+outW]
			d2 := dst[2*hw+o : 2*hw+o+outW]
			lerpRow(d0, d1, d2, mid, xs)
			rows.row(d0, d1, d2)
		}
		return
	}
	// Rotation: Keras' get_rotation_matrix maps output (x, y) to
	// (cos*x - sin*y + ox, sin*x + cos*y + oy).
	cos, sin := math.Cos(p.Angle), math.Sin(p.Angle)
	ox := (fw - (cos*fw - sin*fh)) / 2
	oy := (fh - (sin*fw + cos*fh)) / 2
	hw := outH * outW
	g := rotGeom{fw: fw, fh: fh, outW: outW, outH: outH, ax: ax, bx: bx, ay: ay, by: by, x0: x0, x1: x1, y0: y0, y1: y1,
		cos: cos, sin: sin, w3: w3, wm: src.W - 1, hm: src.H - 1}
	for y := range outH {
		o := y * outW
		d0 := dst[o : o+outW]
		d1 := dst[hw+o : hw+o+outW]
		d2 := dst[2*hw+o : 2*hw+o+outW]
		u := ox - sin*float64(y)
		v := oy + cos*float64(y)
		var sum [3]float32
		x := 0
		if !noInterior {
			// Runs of x where no clamping or edge case happens, and the
			// reflection (if any) is one affine map: lean loops do those
			// pixels, the checked loop the rest.
			var runs [9]run
			for _, r := range g.runs(runs[:0], u, v) {
				g.general(d0, d1, d2, fsrc, u, v, x, r.a, &sum)
				g.inner(d0, d1, d2, fsrc, r, &sum)
				x = r.b
			}
		}
		g.general(d0, d1, d2, fsrc, u, v, x, outW, &sum)
		rows.rowSummed(d0, d1, d2, &sum)
	}
}

// noInterior turns the interior fast path off (tests compare the two).
var noInterior = false

// rotGeom is the inverse map of a rotated (and flipped, cropped) image.
type rotGeom struct {
	fw, fh         float64
	outW, outH     int
	ax, bx, ay, by float64
	x0, x1, y0, y1 float64
	cos, sin       float64
	w3, wm, hm     int
}

// run is a range [a, b) of a row in which the reflected frame coordinates
// are u' = uc + ud*x and v' = vc + vd*x, inside the frame, and the source
// point stays inside the crop box, away from its last column and row.
type run struct {
	a, b           int
	uc, ud, vc, vd float64
}

// reflection is one piece of Reflect on [0, n-1]: c' = s*c + k, for c in
// [-n, -1] (dcba|), [0, n-1] (|abcd|) and [n, 2n-1] (|dcba).
type reflection struct{ s, k float64 }

func reflections(n float64) [3]reflection {
	return [3]reflection{{-1, -1}, {1, 0}, {-1, 2*n - 1}}
}

// runs appends to rs the runs of the row whose frame coordinates are
// (u + cos*x, v + sin*x), in increasing x: for each piece of the
// reflection of u and of v that the row reaches, the interior range.
func (g *rotGeom) runs(rs []run, u, v float64) []run {
	ue, ve := u+g.cos*g.fw, v+g.sin*g.fw // at the row's end
	umin, umax := min(u, ue), max(u, ue)
	vmin, vmax := min(v, ve), max(v, ve)
	lw, lh := float64(g.outW), float64(g.outH)
	for _, ru := range reflections(lw) {
		// The piece's range of u: s*u + k in [0, n-1].
		if lo, hi := (0-ru.k)*ru.s, (g.fw-ru.k)*ru.s; max(lo, hi) < umin || min(lo, hi) > umax {
			continue
		}
		for _, rv := range reflections(lh) {
			if lo, hi := (0-rv.k)*rv.s, (g.fh-rv.k)*rv.s; max(lo, hi) < vmin || min(lo, hi) > vmax {
				continue
			}
			r := run{uc: ru.s*u + ru.k, ud: ru.s * g.cos, vc: rv.s*v + rv.k, vd: rv.s * g.sin}
			if r.a, r.b = g.interior(r.uc, r.ud, r.vc, r.vd); r.a < r.b {
				// Insert in order (the runs are disjoint: their pieces are).
				i := len(rs)
				rs = append(rs, r)
				for ; i > 0 && rs[i-1].a > r.a; i-- {
					rs[i] = rs[i-1]
				}
				rs[i] = r
			}
		}
	}
	return rs
}

// interior returns the range [a, b) of x where u' = uc + ud*x and
// v' = vc + vd*x stay inside the frame and the source point stays inside
// the crop box, away from its last column and row, all by a margin of
// runMargin (which the fixed-point stepping stays far within).
func (g *rotGeom) interior(uc, ud, vc, vd float64) (int, int) {
	const m = runMargin
	lo, hi := 0.0, g.fw
	lo, hi = clip(lo, hi, uc, ud, m, g.fw-m)
	lo, hi = clip(lo, hi, vc, vd, m, g.fh-m)
	lo, hi = clip(lo, hi, g.ax*uc+g.bx, g.ax*ud, g.x0+m, min(g.x1, float64(g.wm)-1e-3))
	lo, hi = clip(lo, hi, g.ay*vc+g.by, g.ay*vd, g.y0+m, min(g.y1, float64(g.hm)-1e-3))
	if !(lo <= hi) { // empty (or NaN)
		return 0, 0
	}
	a, b := int(math.Ceil(lo)), int(math.Floor(hi))+1
	if b <= a {
		return 0, 0
	}
	return a, b
}

// runMargin is how far inside its bounds a run's coordinates stay.
const runMargin = 1e-4

// clip narrows [lo, hi] to the x where a <= c + d*x <= b.
func clip(lo, hi, c, d, a, b float64) (float64, float64) {
	if d == 0 {
		if c < a || c > b {
			return 1, 0
		}
		return lo, hi
	}
	x1, x2 := (a-c)/d, (b-c)/d
	if d < 0 {
		x1, x2 = x2, x1
	}
	if x1 > lo {
		lo = x1
	}
	if x2 < hi {
		hi = x2
	}
	return lo, hi
}

// general computes pixels [from, to) of a row with every check, and adds
// their values to sum.
func (g *rotGeom) general(d0, d1, d2, pix []float32, u0, v0 float64, from, to int, sum *[3]float32) {
	w3, wm, hm := g.w3, g.wm, g.hm
	lw, lh := float64(g.outW), float64(g.outH)
	s0, s1, s2 := sum[0], sum[1], sum[2]
	for x := from; x < to; x++ {
		uu := u0 + g.cos*float64(x)
		vv := v0 + g.sin*float64(x)
		// Reflect, inline for one reflection (exactly its arithmetic).
		if uu < 0 || uu > g.fw {
			if uu >= -lw && uu < 2*lw {
				if uu < 0 {
					uu = -uu - 1
				} else if uu >= lw {
					uu = 2*lw - uu - 1
				}
				if uu < 0 {
					uu = 0
				} else if uu > g.fw {
					uu = g.fw
				}
			} else {
				uu = Reflect(uu, g.outW)
			}
		}
		if vv < 0 || vv > g.fh {
			if vv >= -lh && vv < 2*lh {
				if vv < 0 {
					vv = -vv - 1
				} else if vv >= lh {
					vv = 2*lh - vv - 1
				}
				if vv < 0 {
					vv = 0
				} else if vv > g.fh {
					vv = g.fh
				}
			} else {
				vv = Reflect(vv, g.outH)
			}
		}
		sx := min(max(g.ax*uu+g.bx, g.x0), g.x1)
		sy := min(max(g.ay*vv+g.by, g.y0), g.y1)
		ix, iy := int(sx), int(sy)
		fx, fy := float32(sx-float64(ix)), float32(sy-float64(iy))
		dx, dy := 3, w3
		if ix >= wm {
			dx = 0
		}
		if iy >= hm {
			dy = 0
		}
		i := iy*w3 + 3*ix
		p := pix[i : i+3]
		q := pix[i+dx : i+dx+3]
		r := pix[i+dy : i+dy+3]
		s := pix[i+dy+dx : i+dy+dx+3]
		t0 := p[0] + fx*(q[0]-p[0])
		t1 := p[1] + fx*(q[1]-p[1])
		t2 := p[2] + fx*(q[2]-p[2])
		b0 := r[0] + fx*(s[0]-r[0])
		b1 := r[1] + fx*(s[1]-r[1])
		b2 := r[2] + fx*(s[2]-r[2])
		o0, o1, o2 := t0+fy*(b0-t0), t1+fy*(b1-t1), t2+fy*(b2-t2)
		d0[x], d1[x], d2[x] = o0, o1, o2
		s0, s1, s2 = s0+o0, s1+o1, s2+o2
	}
	sum[0], sum[1], sum[2] = s0, s1, s2
}

// fixOne is 1 in the 32.32 fixed point of inner's source coordinates:
// stepping them is exact, and 2^-32 of a pixel is far below float32
// rounding of the interpolated values.
const fixOne = 1 << 32

// inner computes the pixels of run r, which need no checks (the source
// point moves by a fixed step along the row), and adds their values to
// sum.
func (g *rotGeom) inner(d0, d1, d2, pix []float32, r run, sum *[3]float32) {
	from, to := r.a, r.b
	if to <= from {
		return
	}
	w3 := g.w3
	sx := g.ax*(r.uc+r.ud*float64(from)) + g.bx
	sy := g.ay*(r.vc+r.vd*float64(from)) + g.by
	X, Y := int64(math.Round(sx*fixOne)), int64(math.Round(sy*fixOne))
	dX, dY := int64(math.Round(g.ax*r.ud*fixOne)), int64(math.Round(g.ay*r.vd*fixOne))
	d0, d1, d2 = d0[from:to], d1[from:to], d2[from:to]
	d1, d2 = d1[:len(d0)], d2[:len(d0)]
	if n := innerVec(d0, d1, d2, pix, X, Y, dX, dY, w3, sum); n > 0 {
		d0, d1, d2 = d0[n:], d1[n:], d2[n:]
		X += int64(n) * dX
		Y += int64(n) * dY
	}
	bot := pix[min(w3, len(pix)):]
	s0, s1, s2 := sum[0], sum[1], sum[2]
	for x := range d0 {
		i := int(Y>>32)*w3 + 3*int(X>>32)
		fx := float32(uint32(X)) * (1.0 / fixOne)
		fy := float32(uint32(Y)) * (1.0 / fixOne)
		X += dX
		Y += dY
		top := (*[6]float32)(pix[i:])
		bo := (*[6]float32)(bot[i:])
		t0 := top[0] + fx*(top[3]-top[0])
		t1 := top[1] + fx*(top[4]-top[1])
		t2 := top[2] + fx*(top[5]-top[2])
		b0 := bo[0] + fx*(bo[3]-bo[0])
		b1 := bo[1] + fx*(bo[4]-bo[1])
		b2 := bo[2] + fx*(bo[5]-bo[2])
		o0, o1, o2 := t0+fy*(b0-t0), t1+fy*(b1-t1), t2+fy*(b2-t2)
		d0[x], d1[x], d2[x] = o0, o1, o2
		s0, s1, s2 = s0+o0, s1+o1, s2+o2
	}
	sum[0], sum[1], sum[2] = s0, s1, s2
}

// vecTapsIn reports whether n pixels stepped from (X, Y) by (dX, dY) in
// 32.32 fixed point take their 4-lane tap loads (at i, i+3, i+w3, i+w3+3,
// with i = iy*w3 + 3*ix) within [0, size): i is largest (smallest) where
// ix and iy are, at one end of the run or the other.
func vecTapsIn(n int, X, Y, dX, dY int64, w3, size int) bool {
	xe, ye := X+int64(n-1)*dX, Y+int64(n-1)*dY
	ixLo, ixHi := min(X, xe)>>32, max(X, xe)>>32
	iyLo, iyHi := min(Y, ye)>>32, max(Y, ye)>>32
	return ixLo >= 0 && iyLo >= 0 && int(iyHi)*w3+3*int(ixHi)+w3+7 <= size
}

// tap is one bilinear sample position along an axis: the two source
// indices and the weight of the second.
type tap struct {
	i0, i1 int
	f      float32
}

func makeTap(s, lo, hi float64, n int) tap {
	s = min(max(s, lo), hi)
	i := int(s)
	return tap{i0: i, i1: min(i+1, n-1), f: float32(s - float64(i))}
}

// lerpRow samples one output row (three channel rows) from an
// interleaved RGB row at the taps' offsets.
func lerpRow(d0, d1, d2, mid []float32, xs []tap) {
	d0 = d0[:len(xs)]
	d1, d2 = d1[:len(xs)], d2[:len(xs)]
	for x, t := range xs {
		p := mid[t.i0 : t.i0+3]
		q := mid[t.i1 : t.i1+3]
		f := t.f
		d0[x] = p[0] + f*(q[0]-p[0])
		d1[x] = p[1] + f*(q[1]-p[1])
		d2[x] = p[2] + f*(q[2]-p[2])
	}
}

// contrast applies RandomContrast to values in [0, 255] (CHW) whose
// channel sums are given, and normalises them in place.
func contrast(dst []float32, hw int, factor float64, sum [3]float64, norm Norm) {
	a, b := norm.coeffs()
	f := float32(factor)
	for c := range 3 {
		mean := float32(sum[c] / float64(hw))
		// (v - mean)*f + mean = v*f + mean*(1-f), clipped to [0, 255],
		// then times a plus b: one multiply-add, clipped to the
		// normalised images of 0 and 255.
		k := mean * (1 - f)
		fa, kb := f*a[c], k*a[c]+b[c]
		lo, hi := b[c], 255*a[c]+b[c]
		if lo > hi {
			lo, hi = hi, lo
		}
		contrastPlane(dst[c*hw:(c+1)*hw], fa, kb, lo, hi)
	}
}

func contrastPlane(plane []float32, f, k, lo, hi float32) {
	plane = plane[contrastVec(plane, f, k, lo, hi):]
	for i, v := range plane {
		v = v*f + k
		if v < lo {
			v = lo
		}
		if v > hi {
			v = hi
		}
		plane[i] = v
	}
}
