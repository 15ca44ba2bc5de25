package imageio

import (
	"image"
	"image/color"
)

// ToRGB converts any image to RGB. Alpha is dropped without compositing
// (the stored colour is kept, as TensorFlow does for channels=3);
// premultiplied images are un-premultiplied first. The common decoder
// outputs (YCbCr, grey, RGBA, NRGBA, paletted, CMYK) have direct paths.
func ToRGB(img image.Image) RGB {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := NewRGB(w, h)
	p := dst.Pix
	switch m := img.(type) {
	case *image.YCbCr:
		ycbcrToRGB(p, m)
	case *image.NYCbCrA:
		ycbcrToRGB(p, &m.YCbCr)
	case *image.Gray:
		for y := range h {
			row := m.Pix[(y)*m.Stride : y*m.Stride+w]
			o := y * w * 3
			for x, v := range row {
				p[o+3*x], p[o+3*x+1], p[o+3*x+2] = v, v, v
			}
		}
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			o := y * w * 3
			for x := range w {
				p[o+3*x], p[o+3*x+1], p[o+3*x+2] = row[4*x], row[4*x+1], row[4*x+2]
			}
		}
	case *image.RGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			o := y * w * 3
			for x := range w {
				r, g, bb, a := row[4*x], row[4*x+1], row[4*x+2], row[4*x+3]
				if a != 255 && a != 0 {
					r, g, bb = unpremul(r, a), unpremul(g, a), unpremul(bb, a)
				}
				p[o+3*x], p[o+3*x+1], p[o+3*x+2] = r, g, bb
			}
		}
	case *image.Paletted:
		var pal [256][3]uint8
		for i, c := range m.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			pal[i] = [3]uint8{n.R, n.G, n.B}
		}
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			o := y * w * 3
			for x, v := range row {
				c := pal[v]
				p[o+3*x], p[o+3*x+1], p[o+3*x+2] = c[0], c[1], c[2]
			}
		}
	case *image.CMYK:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			o := y * w * 3
			for x := range w {
				r, g, bb := color.CMYKToRGB(row[4*x], row[4*x+1], row[4*x+2], row[4*x+3])
				p[o+3*x], p[o+3*x+1], p[o+3*x+2] = r, g, bb
			}
		}
	default:
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
				p[i], p[i+1], p[i+2] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
				i += 3
			}
		}
	}
	return dst
}

func unpremul(v, a uint8) uint8 {
	return uint8(min(255, (uint32(v)*255+uint32(a)/2)/uint32(a)))
}

// ycbcrToRGB converts with the same arithmetic as color.YCbCrToRGB (JFIF
// full-range BT.601), reading chroma at its subsampled position.
func ycbcrToRGB(p []uint8, m *image.YCbCr) {
	b := m.Rect
	w, h := b.Dx(), b.Dy()
	for y := range h {
		yi := m.YOffset(b.Min.X, b.Min.Y+y)
		o := y * w * 3
		ys := m.Y[yi : yi+w]
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422:
			ci := m.COffset(b.Min.X, b.Min.Y+y)
			odd := b.Min.X & 1
			for x, yy := range ys {
				c := ci + (x+odd)/2 - odd/2
				r, g, bb := color.YCbCrToRGB(yy, m.Cb[c], m.Cr[c])
				p[o+3*x], p[o+3*x+1], p[o+3*x+2] = r, g, bb
			}
		case image.YCbCrSubsampleRatio444:
			ci := m.COffset(b.Min.X, b.Min.Y+y)
			for x, yy := range ys {
				r, g, bb := color.YCbCrToRGB(yy, m.Cb[ci+x], m.Cr[ci+x])
				p[o+3*x], p[o+3*x+1], p[o+3*x+2] = r, g, bb
			}
		default:
			for x, yy := range ys {
				c := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bb := color.YCbCrToRGB(yy, m.Cb[c], m.Cr[c])
				p[o+3*x], p[o+3*x+1], p[o+3*x+2] = r, g, bb
			}
		}
	}
}
