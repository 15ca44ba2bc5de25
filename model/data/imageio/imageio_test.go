package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/internal/fuzzcorpus"
	"golang.org/x/image/draw"
)

// testRGB makes a w x h image of smooth gradients plus noise, the kind of
// content where ringing and rounding show.
func testRGB(w, h int, seed uint64) RGB {
	r := rand.New(rand.NewPCG(seed, 1))
	m := NewRGB(w, h)
	for y := range h {
		for x := range w {
			for c := range 3 {
				v := 127 + 100*math.Sin(float64(x*(c+1))/7+float64(y)/5) + float64(r.IntN(41)-20)
				m.Pix[(y*w+x)*3+c] = uint8(min(max(v, 0), 255))
			}
		}
	}
	return m
}

func maxDiff(a, b []uint8) (int, float64) {
	d, s := 0, 0.0
	for i := range a {
		v := int(a[i]) - int(b[i])
		if v < 0 {
			v = -v
		}
		d = max(d, v)
		s += float64(v)
	}
	return d, s / float64(len(a))
}

// TestResizeReference: the fast separable float32 resize equals the slow
// direct float64 reference within 1 level (float32 rounding near .5).
func TestResizeReference(t *testing.T) {
	cases := [][4]int{{50, 37, 22, 16}, {37, 50, 16, 22}, {28, 28, 32, 32}, {9, 13, 20, 7}, {64, 48, 64, 47}, {31, 31, 3, 3}, {5, 3, 1, 1}}
	var rs Resizer
	for i, c := range cases {
		src := testRGB(c[0], c[1], uint64(i))
		got := rs.Resize(src, c[2], c[3])
		want := ReferenceResize(Lanczos3, src, c[2], c[3])
		if d, mean := maxDiff(got.Pix, want.Pix); d > 1 || mean > 0.05 {
			t.Errorf("%dx%d -> %dx%d: max difference %d levels, mean %.3f (want <= 1, <= 0.05)", c[0], c[1], c[2], c[3], d, mean)
		}
	}
}

// TestResizeXDraw: x/image/draw's own Kernel.Scale with the same kernel is
// an independent implementation of the same resampling. It works in 16-bit
// premultiplied colour and rounds differently, so the bound is looser:
// at most 2 levels, 0.3 on average.
func TestResizeXDraw(t *testing.T) {
	var rs Resizer
	for i, c := range [][4]int{{60, 45, 26, 19}, {28, 28, 32, 32}, {40, 30, 40, 17}} {
		src := testRGB(c[0], c[1], uint64(10+i))
		got := rs.Resize(src, c[2], c[3])
		in := image.NewRGBA(image.Rect(0, 0, src.W, src.H))
		for p := 0; p < src.W*src.H; p++ {
			copy(in.Pix[4*p:], src.Pix[3*p:3*p+3])
			in.Pix[4*p+3] = 255
		}
		out := image.NewRGBA(image.Rect(0, 0, c[2], c[3]))
		Lanczos3.Scale(out, out.Bounds(), in, in.Bounds(), draw.Src, nil)
		want := ToRGB(out)
		if d, mean := maxDiff(got.Pix, want.Pix); d > 2 || mean > 0.3 {
			t.Errorf("%dx%d -> %dx%d: max difference from x/image/draw %d levels, mean %.3f", c[0], c[1], c[2], c[3], d, mean)
		}
	}
}

func TestPadGeometry(t *testing.T) {
	for _, c := range [][7]int{
		{500, 375, 224, 224, 168, 0, 28},
		{375, 500, 224, 168, 224, 28, 0},
		{28, 28, 32, 32, 32, 0, 0},
		{1000, 10, 224, 224, 2, 0, 110},
		{10, 1, 224, 224, 22, 0, 100},
		{3, 2, 224, 224, 149, 0, 37},
	} {
		rw, rh, px, py := PadGeometry(c[0], c[1], c[2])
		if [4]int{rw, rh, px, py} != [4]int{c[3], c[4], c[5], c[6]} {
			t.Errorf("%dx%d in %d: got %d %d %d %d, want %v", c[0], c[1], c[2], rw, rh, px, py, c[3:])
		}
	}
	// The padding is black and the image sits at the offset.
	var rs Resizer
	dst := make([]uint8, 8*8*3)
	for i := range dst {
		dst[i] = 77
	}
	src := NewRGB(4, 2)
	for i := range src.Pix {
		src.Pix[i] = 200
	}
	rs.ResizeWithPad(dst, 8, src)
	for y := range 8 {
		for x := range 8 {
			want := uint8(0)
			if y >= 2 && y < 6 {
				want = 200
			}
			if dst[(y*8+x)*3] != want {
				t.Fatalf("pixel (%d,%d) = %d, want %d", x, y, dst[(y*8+x)*3], want)
			}
		}
	}
}

func encode(t *testing.T, f func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// tiffOrient is a minimal little-endian TIFF with one IFD0 entry,
// Orientation = o.
func tiffOrient(o int) []byte {
	b := []byte("II*\x00\x08\x00\x00\x00\x01\x00" + "\x12\x01\x03\x00\x01\x00\x00\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00")
	binary.LittleEndian.PutUint16(b[18:], uint16(o))
	return b
}

// withPNGChunk inserts a chunk after IHDR.
func withPNGChunk(p []byte, typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	at := 8 + 25
	return append(append(append([]byte{}, p[:at]...), c...), p[at:]...)
}

// withJPEGApp1 inserts an EXIF APP1 segment after SOI.
func withJPEGApp1(j []byte, tiff []byte) []byte {
	seg := []byte{0xff, 0xe1, 0, 0}
	seg = append(seg, "Exif\x00\x00"...)
	seg = append(seg, tiff...)
	binary.BigEndian.PutUint16(seg[2:], uint16(len(seg)-2))
	return append(append(append([]byte{}, j[:2]...), seg...), j[2:]...)
}

func TestOrientation(t *testing.T) {
	// A 3x2 image with distinct pixels 0..5 (in R).
	src := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		src.Pix[4*i], src.Pix[4*i+3] = uint8(i), 255
	}
	p := encode(t, func(b *bytes.Buffer) error { return png.Encode(b, src) })
	// What each orientation shows, upright (rows of R values).
	want := map[int][][]uint8{
		1: {{0, 1, 2}, {3, 4, 5}},
		2: {{2, 1, 0}, {5, 4, 3}},
		3: {{5, 4, 3}, {2, 1, 0}},
		4: {{3, 4, 5}, {0, 1, 2}},
		5: {{0, 3}, {1, 4}, {2, 5}},
		6: {{3, 0}, {4, 1}, {5, 2}},
		7: {{5, 2}, {4, 1}, {3, 0}},
		8: {{2, 5}, {1, 4}, {0, 3}},
	}
	for o := 1; o <= 8; o++ {
		b := withPNGChunk(p, "eXIf", tiffOrient(o))
		if got := Orientation(b); got != o {
			t.Fatalf("PNG eXIf orientation %d read as %d", o, got)
		}
		m, _, err := Decode(b, DefaultMaxPixels)
		if err != nil {
			t.Fatal(err)
		}
		w := want[o]
		if m.H != len(w) || m.W != len(w[0]) {
			t.Fatalf("orientation %d: %dx%d, want %dx%d", o, m.W, m.H, len(w[0]), len(w))
		}
		for y := range w {
			for x := range w[y] {
				if g := m.Pix[(y*m.W+x)*3]; g != w[y][x] {
					t.Errorf("orientation %d: (%d,%d) = %d, want %d", o, x, y, g, w[y][x])
				}
			}
		}
	}
	// JPEG: APP1 parsing, big-endian TIFF, and the size swap.
	big := image.NewRGBA(image.Rect(0, 0, 40, 24))
	j := encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, big, nil) })
	mm := []byte("MM\x00*\x00\x00\x00\x08\x00\x02" + "\x01\x00\x00\x03\x00\x00\x00\x01\x00\x28\x00\x00" + "\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00")
	jb := withJPEGApp1(j, mm)
	if o := Orientation(jb); o != 6 {
		t.Fatalf("JPEG orientation %d, want 6", o)
	}
	m, _, err := Decode(jb, DefaultMaxPixels)
	if err != nil || m.W != 24 || m.H != 40 {
		t.Fatalf("JPEG with orientation 6: %dx%d, %v; want 24x40", m.W, m.H, err)
	}
	// Broken EXIF is ignored, not an error.
	for _, tiff := range [][]byte{nil, []byte("II*\x00\xff\xff\xff\x7f"), []byte("XX"), tiffOrient(9)} {
		if o := Orientation(withJPEGApp1(j, tiff)); o != 1 {
			t.Errorf("broken EXIF %q: orientation %d", tiff, o)
		}
	}
}

func TestDecodeFormats(t *testing.T) {
	rgba := image.NewRGBA(image.Rect(0, 0, 6, 4))
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(i * 7)
	}
	for i := 3; i < len(rgba.Pix); i += 4 {
		rgba.Pix[i] = 255
	}
	grey := image.NewGray(image.Rect(0, 0, 5, 3))
	for i := range grey.Pix {
		grey.Pix[i] = uint8(40 * i)
	}
	nrgba := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	copy(nrgba.Pix, []uint8{10, 20, 30, 0, 200, 100, 50, 128})
	g16 := image.NewGray16(image.Rect(0, 0, 2, 1))
	g16.SetGray16(1, 0, color.Gray16{Y: 0xabcd})
	pal := image.NewPaletted(image.Rect(0, 0, 3, 3), palette.Plan9)
	pal.SetColorIndex(1, 1, 200)

	for _, c := range []struct {
		name, format string
		data         []byte
		w, h         int
		check        func(RGB) string
	}{
		{"jpeg", "jpeg", encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, rgba, &jpeg.Options{Quality: 100}) }), 6, 4, nil},
		{"grey jpeg", "jpeg", encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, grey, &jpeg.Options{Quality: 100}) }), 5, 3,
			func(m RGB) string {
				if m.Pix[3] != m.Pix[4] || m.Pix[4] != m.Pix[5] {
					return "grey pixels are not R=G=B"
				}
				return ""
			}},
		{"png", "png", encode(t, func(b *bytes.Buffer) error { return png.Encode(b, rgba) }), 6, 4,
			func(m RGB) string {
				if m.Pix[0] != rgba.Pix[0] || m.Pix[5] != rgba.Pix[6] {
					return "png pixels differ"
				}
				return ""
			}},
		{"alpha png", "png", encode(t, func(b *bytes.Buffer) error { return png.Encode(b, nrgba) }), 2, 1,
			func(m RGB) string {
				if !bytes.Equal(m.Pix, []uint8{10, 20, 30, 200, 100, 50}) {
					return "alpha is not dropped with the colour kept: " + string(m.Pix)
				}
				return ""
			}},
		{"16-bit png", "png", encode(t, func(b *bytes.Buffer) error { return png.Encode(b, g16) }), 2, 1,
			func(m RGB) string {
				if !bytes.Equal(m.Pix, []uint8{0, 0, 0, 0xab, 0xab, 0xab}) {
					return "16-bit grey is not converted"
				}
				return ""
			}},
		{"gif", "gif", encode(t, func(b *bytes.Buffer) error { return gif.Encode(b, pal, nil) }), 3, 3,
			func(m RGB) string {
				c := palette.Plan9[200].(color.RGBA)
				if m.Pix[12] != c.R || m.Pix[13] != c.G || m.Pix[14] != c.B {
					return "palette colour lost"
				}
				return ""
			}},
	} {
		m, f, err := Decode(c.data, DefaultMaxPixels)
		if err != nil || f != c.format || m.W != c.w || m.H != c.h {
			t.Errorf("%s: %dx%d %s, %v", c.name, m.W, m.H, f, err)
			continue
		}
		if c.check != nil {
			if msg := c.check(m); msg != "" {
				t.Errorf("%s: %s", c.name, msg)
			}
		}
	}
	for _, f := range []string{"gopher-doc.1bpp.lossless.webp", "blue-purple-pink.lossy.webp"} {
		b, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		m, format, err := Decode(b, DefaultMaxPixels)
		if err != nil || format != "webp" || m.W == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	// CMYK (Adobe JPEGs decode to it).
	cm := image.NewCMYK(image.Rect(0, 0, 1, 1))
	copy(cm.Pix, []uint8{0, 255, 255, 0})
	if m := ToRGB(cm); !bytes.Equal(m.Pix, []uint8{255, 0, 0}) {
		t.Errorf("CMYK red -> %v", m.Pix)
	}
}

func TestDecodeBadInput(t *testing.T) {
	src := testRGB(64, 64, 3)
	noisy := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for p := range 64 * 64 {
		copy(noisy.Pix[4*p:], src.Pix[3*p:3*p+3])
		noisy.Pix[4*p+3] = 255
	}
	good := encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, noisy, nil) })
	pngGood := encode(t, func(b *bytes.Buffer) error { return png.Encode(b, image.NewGray(image.Rect(0, 0, 8, 8))) })
	// A PNG whose IHDR declares 100000 x 100000 pixels (with a valid CRC).
	huge := append([]byte{}, pngGood...)
	binary.BigEndian.PutUint32(huge[16:], 100000)
	binary.BigEndian.PutUint32(huge[20:], 100000)
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29]))
	corrupt := append([]byte{}, good...)
	for i := len(corrupt) / 2; i < len(corrupt)-2; i++ {
		corrupt[i] = 0xff
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
		is   error
	}{
		{"empty", nil, "empty file", ErrNotImage},
		{"text", []byte("hello, this is not an image\n"), "unrecognised", ErrNotImage},
		{"bmp", []byte("BM\x36\x00\x00\x00\x00\x00\x00\x00"), "bmp", ErrUnsupported},
		{"tiff", []byte("II*\x00\x08\x00\x00\x00"), "tiff", ErrUnsupported},
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"), "heic", ErrUnsupported},
		{"truncated header", good[:20], "corrupt jpeg header", nil},
		{"truncated", good[:len(good)/2], "truncated or corrupt jpeg", nil},
		{"corrupt", corrupt, "corrupt jpeg", nil},
		{"huge", huge, "100000x100000 = 10000.0 megapixels, above the limit", nil},
		{"bad png crc", append(append([]byte{}, pngGood[:30]...), pngGood[31:]...), "corrupt png", nil},
	} {
		_, _, err := Decode(c.data, DefaultMaxPixels)
		if err == nil || !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// FuzzOrientation: the EXIF walker never panics on any file.
func FuzzOrientation(f *testing.F) {
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x10Exif\x00\x00II*\x00\x08\x00"))
	f.Add(withPNGChunk([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00\x00\x00\x00\x00"), "eXIf", tiffOrient(6)))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPEXIF\x08\x00\x00\x00MM\x00*\x00\x00\x00\x08"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzcorpus.AllocBound(t, "Orientation", 2*uint64(len(b))+64<<10, func() {
			if o := Orientation(b); o < 1 || o > 8 {
				t.Fatalf("orientation %d", o)
			}
		})
	})
}
