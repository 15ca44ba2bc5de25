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
	hw := outH * outW
	dst = dst[:3*hw]
	if p.CropX == 0 && p.CropY == 0 && p.CropW == src.W && p.CropH == src.H && outH == src.H && outW == src.W && p.Angle == 0 {
		if p.Contrast == 1 && !p.FlipH && !p.FlipV {
			Normalize(dst, src, norm)
			return
		}
		copyFlipped(dst, src, p.FlipH, p.FlipV)
	} else {
		resample(dst, outH, outW, src, p)
	}
	finish(dst, hw, p.Contrast, norm)
}

// copyFlipped writes src (flipped) as float32 CHW values in [0, 255].
func copyFlipped(dst []float32, src Image, fh, fv bool) {
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
// the crop box, and sampled bilinearly from src.
func resample(dst []float32, outH, outW int, src Image, p Params) {
	hw := outH * outW
	d0, d1, d2 := dst[:hw], dst[hw:2*hw], dst[2*hw:3*hw]
	// Rotation: Keras' get_rotation_matrix maps output (x, y) to
	// (cos*x - sin*y + ox, sin*x + cos*y + oy).
	rot := p.Angle != 0
	cos, sin := math.Cos(p.Angle), math.Sin(p.Angle)
	fw, fh := float64(outW-1), float64(outH-1)
	ox := (fw - (cos*fw - sin*fh)) / 2
	oy := (fh - (sin*fw + cos*fh)) / 2
	// Crop: u in the output frame maps to cx + (u+0.5)*sx - 0.5, clamped
	// to the box.
	scx := float64(p.CropW) / float64(outW)
	scy := float64(p.CropH) / float64(outH)
	x0, x1 := float64(p.CropX), float64(p.CropX+p.CropW-1)
	y0, y1 := float64(p.CropY), float64(p.CropY+p.CropH-1)
	w := src.W
	pix := src.Pix
	for y := range outH {
		for x := range outW {
			u, v := float64(x), float64(y)
			if rot {
				u, v = cos*float64(x)-sin*float64(y)+ox, sin*float64(x)+cos*float64(y)+oy
				u, v = Reflect(u, outW), Reflect(v, outH)
			}
			if p.FlipH {
				u = fw - u
			}
			if p.FlipV {
				v = fh - v
			}
			sx := min(max(float64(p.CropX)+(u+0.5)*scx-0.5, x0), x1)
			sy := min(max(float64(p.CropY)+(v+0.5)*scy-0.5, y0), y1)
			ix, iy := int(sx), int(sy)
			ax, ay := float32(sx-float64(ix)), float32(sy-float64(iy))
			jx, jy := min(ix+1, src.W-1), min(iy+1, src.H-1)
			a := (iy*w + ix) * 3
			b := (iy*w + jx) * 3
			c := (jy*w + ix) * 3
			d := (jy*w + jx) * 3
			w00, w01, w10, w11 := (1-ax)*(1-ay), ax*(1-ay), (1-ax)*ay, ax*ay
			i := y*outW + x
			d0[i] = w00*float32(pix[a]) + w01*float32(pix[b]) + w10*float32(pix[c]) + w11*float32(pix[d])
			d1[i] = w00*float32(pix[a+1]) + w01*float32(pix[b+1]) + w10*float32(pix[c+1]) + w11*float32(pix[d+1])
			d2[i] = w00*float32(pix[a+2]) + w01*float32(pix[b+2]) + w10*float32(pix[c+2]) + w11*float32(pix[d+2])
		}
	}
}

// finish applies the contrast to values in [0, 255] (CHW) and normalises
// them in place.
func finish(dst []float32, hw int, contrast float64, norm Norm) {
	a, b := norm.coeffs()
	for c := range 3 {
		plane := dst[c*hw : (c+1)*hw]
		if contrast == 1 {
			for i, v := range plane {
				plane[i] = v*a[c] + b[c]
			}
			continue
		}
		var sum float64
		for _, v := range plane {
			sum += float64(v)
		}
		mean := float32(sum / float64(hw))
		f := float32(contrast)
		for i, v := range plane {
			v = (v-mean)*f + mean
			v = min(max(v, 0), 255)
			plane[i] = v*a[c] + b[c]
		}
	}
}
