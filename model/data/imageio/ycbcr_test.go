package imageio

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// TestResizeYCbCr: resizing the Y'CbCr planes of a decoded JPEG and
// converting after matches converting to RGB first and resizing (the
// reference) within a few levels: the two differ only in how chroma is
// upsampled (interpolated here, repeated 2x2 by the conversion) and in
// clamping (out-of-gamut colours are clamped before resizing there, after
// it here). On this noisy content (independent noise of +-20 levels per
// channel, the worst case for chroma) the differences are at most 8
// levels, 0.2-0.8 on average; the bound is 10 and 1.
func TestResizeYCbCr(t *testing.T) {
	for _, c := range []struct {
		w, h, s int
		ratio   image.YCbCrSubsampleRatio
	}{{120, 90, 48, image.YCbCrSubsampleRatio420}, {91, 67, 40, image.YCbCrSubsampleRatio420}, {60, 80, 64, image.YCbCrSubsampleRatio444}, {77, 50, 30, image.YCbCrSubsampleRatio422}} {
		src := testRGB(c.w, c.h, 5)
		in := image.NewRGBA(image.Rect(0, 0, c.w, c.h))
		for p := range c.w * c.h {
			copy(in.Pix[4*p:], src.Pix[3*p:3*p+3])
			in.Pix[4*p+3] = 255
		}
		var buf bytes.Buffer
		jpeg.Encode(&buf, in, &jpeg.Options{Quality: 95})
		img, _ := jpeg.Decode(bytes.NewReader(buf.Bytes()))
		m := img.(*image.YCbCr)
		// Re-subsample to the ratio under test.
		sub := image.NewYCbCr(m.Rect, c.ratio)
		for y := range c.h {
			for x := range c.w {
				sub.Y[sub.YOffset(x, y)] = m.Y[m.YOffset(x, y)]
				sub.Cb[sub.COffset(x, y)] = m.Cb[m.COffset(x, y)]
				sub.Cr[sub.COffset(x, y)] = m.Cr[m.COffset(x, y)]
			}
		}
		var rs Resizer
		got := make([]uint8, c.s*c.s*3)
		want := make([]uint8, c.s*c.s*3)
		if !rs.ResizeYCbCrWithPad(got, c.s, sub) {
			t.Fatal("not handled")
		}
		rs.ResizeWithPad(want, c.s, ToRGB(sub))
		if d, mean := maxDiff(got, want); d > 10 || mean > 1 {
			t.Errorf("%dx%d %v -> %d: max difference %d, mean %.3f", c.w, c.h, c.ratio, c.s, d, mean)
		}
	}
}
