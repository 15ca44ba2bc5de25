// Package imageio turns image files into the stored form of a dataset:
// it decodes JPEG, PNG, GIF and WebP, applies the EXIF orientation,
// converts grey, paletted, CMYK and alpha images to RGB, and resizes with
// padding to S x S with a Lanczos-3 kernel, antialiased, as the notebook's
// format_image does with tf.image.resize_with_pad(..., "lanczos3",
// antialias=True).
//
// Bad input is an error, never a panic: an empty file, an unknown or
// unsupported format, a header that declares more pixels than a limit
// (checked before decoding), a truncated or corrupt image.
package imageio

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/webp"
)

// RGB is an image as uint8 RGB pixels in HWC order.
type RGB struct {
	W, H int
	Pix  []uint8
}

// NewRGB allocates a black w x h image.
func NewRGB(w, h int) RGB { return RGB{W: w, H: h, Pix: make([]uint8, w*h*3)} }

// DefaultMaxPixels is the default limit on the pixel count an image header
// may declare (50 megapixels, e.g. 8660 x 5773).
const DefaultMaxPixels = 50_000_000

// MaxFileBytes is the largest file that can hold an image of maxPixels
// pixels: 8 bytes a pixel (16-bit RGBA, stored uncompressed) and 16 MiB
// of metadata. A larger file is refused before it is read into memory.
func MaxFileBytes(maxPixels int) int64 { return 8*int64(maxPixels) + 16<<20 }

// ErrUnsupported is wrapped by the error for a recognised image format
// that cannot be decoded here (BMP, TIFF, HEIC, AVIF ...).
var ErrUnsupported = errors.New("unsupported image format")

// ErrNotImage is wrapped by the error for content that is no known image.
var ErrNotImage = errors.New("not an image")

// Sniff names the image format of b from its first bytes: "jpeg", "png",
// "gif", "webp" (the decodable ones), or "bmp", "tiff", "heic", "avif",
// "jpeg2000", "ico", "psd" (recognised, not decodable), or "".
func Sniff(b []byte) string {
	has := func(off int, s string) bool { return len(b) >= off+len(s) && string(b[off:off+len(s)]) == s }
	switch {
	case has(0, "\xff\xd8\xff"):
		return "jpeg"
	case has(0, "\x89PNG\r\n\x1a\n"):
		return "png"
	case has(0, "GIF87a"), has(0, "GIF89a"):
		return "gif"
	case has(0, "RIFF") && has(8, "WEBP"):
		return "webp"
	case has(0, "BM"):
		return "bmp"
	case has(0, "II*\x00"), has(0, "MM\x00*"):
		return "tiff"
	case has(4, "ftypheic"), has(4, "ftypheix"), has(4, "ftypmif1"), has(4, "ftyphevc"):
		return "heic"
	case has(4, "ftypavif"), has(4, "ftypavis"):
		return "avif"
	case has(0, "\x00\x00\x00\x0cjP  "), has(0, "\xff\x4f\xff\x51"):
		return "jpeg2000"
	case has(0, "\x00\x00\x01\x00"):
		return "ico"
	case has(0, "8BPS"):
		return "psd"
	}
	return ""
}

// Decodable reports whether Decode reads the format Sniff named.
func Decodable(format string) bool {
	switch format {
	case "jpeg", "png", "gif", "webp":
		return true
	}
	return false
}

// Config checks b's header: a decodable format whose declared size is
// positive and at most maxPixels. It returns the format and the size.
func Config(b []byte, maxPixels int) (format string, w, h int, err error) {
	if len(b) == 0 {
		return "", 0, 0, fmt.Errorf("%w: empty file (0 bytes)", ErrNotImage)
	}
	format = Sniff(b)
	if format == "" {
		return "", 0, 0, fmt.Errorf("%w: unrecognised content", ErrNotImage)
	}
	if !Decodable(format) {
		return format, 0, 0, fmt.Errorf("%w: %s (want JPEG, PNG, GIF or WebP)", ErrUnsupported, format)
	}
	var cfg image.Config
	err = safely(func() error {
		var err error
		switch format {
		case "jpeg":
			cfg, err = jpeg.DecodeConfig(bytes.NewReader(b))
		case "png":
			cfg, err = png.DecodeConfig(bytes.NewReader(b))
		case "gif":
			cfg, err = gif.DecodeConfig(bytes.NewReader(b))
		case "webp":
			cfg, err = webp.DecodeConfig(bytes.NewReader(b))
		}
		return err
	})
	if err != nil {
		return format, 0, 0, fmt.Errorf("corrupt %s header: %w", format, err)
	}
	w, h = cfg.Width, cfg.Height
	if w <= 0 || h <= 0 {
		return format, w, h, fmt.Errorf("%s header declares %dx%d pixels", format, w, h)
	}
	if int64(w)*int64(h) > int64(maxPixels) {
		return format, w, h, fmt.Errorf("%s header declares %dx%d = %.1f megapixels, above the limit of %.1f", format, w, h, float64(w)*float64(h)/1e6, float64(maxPixels)/1e6)
	}
	return format, w, h, nil
}

// Decode decodes an image file into RGB, upright (EXIF orientation
// applied). Alpha is dropped (the colour channels are kept as they are,
// as TensorFlow's decode_image(channels=3) does); grey, paletted and CMYK
// images become RGB. The header is checked with Config first, so an image
// that declares more than maxPixels is refused before any pixel memory is
// allocated.
func Decode(b []byte, maxPixels int) (RGB, string, error) {
	img, format, err := decodeImage(b, maxPixels)
	if err != nil {
		return RGB{}, format, err
	}
	rgb := ToRGB(img)
	if o := Orientation(b); o > 1 {
		rgb = Orient(rgb, o)
	}
	return rgb, format, nil
}

// DecodeWithPad decodes an image file and writes it resized with padding
// to s x s into dst (s*s*3 bytes, HWC RGB): what an import stores. It is
// Decode followed by ResizeWithPad, except that an upright JPEG or lossy
// WebP is resized in its Y'CbCr planes (ResizeYCbCrWithPad), which is
// 2-3 times faster and differs by chroma interpolation only.
func (r *Resizer) DecodeWithPad(dst []uint8, s int, b []byte, maxPixels int) (string, error) {
	img, format, err := decodeImage(b, maxPixels)
	if err != nil {
		return format, err
	}
	o := Orientation(b)
	if m, ok := img.(*image.YCbCr); ok && o == 1 && r.ResizeYCbCrWithPad(dst, s, m) {
		return format, nil
	}
	if m, ok := img.(*image.NYCbCrA); ok && o == 1 && r.ResizeYCbCrWithPad(dst, s, &m.YCbCr) {
		return format, nil
	}
	rgb := ToRGB(img)
	if o > 1 {
		rgb = Orient(rgb, o)
	}
	r.ResizeWithPad(dst, s, rgb)
	return format, nil
}

// decodeImage checks the header and decodes.
func decodeImage(b []byte, maxPixels int) (image.Image, string, error) {
	format, _, _, err := Config(b, maxPixels)
	if err != nil {
		return nil, format, err
	}
	var img image.Image
	err = safely(func() error {
		var err error
		switch format {
		case "jpeg":
			img, err = jpeg.Decode(bytes.NewReader(b))
		case "png":
			img, err = png.Decode(bytes.NewReader(b))
		case "gif":
			img, err = gif.Decode(bytes.NewReader(b))
		case "webp":
			img, err = webp.Decode(bytes.NewReader(b))
		}
		return err
	})
	if err != nil {
		return nil, format, fmt.Errorf("truncated or corrupt %s: %w", format, err)
	}
	return img, format, nil
}

// safely turns a decoder panic into an error, so one bad file cannot stop
// an import.
func safely(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panic: %v", r)
		}
	}()
	return f()
}
