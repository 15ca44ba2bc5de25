package imageio

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// BenchmarkDecodeResize times the parts of an import for a 500x375 JPEG
// (quality 90) stored at 224: the JPEG decoder alone, the conversion to
// RGB, and the Lanczos-3 resize with pad from RGB and from the Y'CbCr
// planes (BenchmarkImport in model/data/importer measures the whole).
func BenchmarkDecodeResize(b *testing.B) {
	src := testRGB(500, 375, 1)
	in := image.NewRGBA(image.Rect(0, 0, 500, 375))
	for p := range 500 * 375 {
		copy(in.Pix[4*p:], src.Pix[3*p:3*p+3])
		in.Pix[4*p+3] = 255
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, in, &jpeg.Options{Quality: 90})
	data := buf.Bytes()
	img, _ := jpeg.Decode(bytes.NewReader(data))
	b.Run("jpeg", func(b *testing.B) {
		for b.Loop() {
			jpeg.Decode(bytes.NewReader(data))
		}
	})
	b.Run("rgb", func(b *testing.B) {
		for b.Loop() {
			ToRGB(img)
		}
	})
	m := ToRGB(img)
	var rs Resizer
	dst := make([]uint8, 224*224*3)
	b.Run("resize-rgb", func(b *testing.B) {
		for b.Loop() {
			rs.ResizeWithPad(dst, 224, m)
		}
	})
	b.Run("resize-ycbcr", func(b *testing.B) {
		for b.Loop() {
			rs.ResizeYCbCrWithPad(dst, 224, img.(*image.YCbCr))
		}
	})
}
