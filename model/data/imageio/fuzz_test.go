package imageio

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/goresnet/goresnet/internal/fuzzcorpus"
)

// fuzzMaxPixels is the pixel limit the fuzz target decodes with (1
// megapixel: large enough for any seed, small enough to be fast).
const fuzzMaxPixels = 1 << 20

// decodeAllocBound is what decoding b may allocate in all: per pixel the
// header declares (at most maxPixels, checked before decoding), the
// decoder's image (up to 8 bytes for 16-bit RGBA; a progressive JPEG's
// coefficients take 4 bytes per sample besides), the RGB copy and its
// rotation (3 + 3); per byte of the file, the decoders' buffers; plus a
// constant (the resize's tables and the output).
func decodeAllocBound(n, maxPixels int) uint64 {
	return 48*uint64(maxPixels) + 16*uint64(n) + 4<<20
}

// FuzzDecode: any file decodes or fails with an error, never a panic or
// a hang, and within decodeAllocBound: a header that declares more than
// maxPixels is refused before the decoder allocates for it. Decode and
// DecodeWithPad (the import's path, which resizes Y'CbCr JPEGs directly)
// agree on what is an image.
func FuzzDecode(f *testing.F) {
	var r Resizer
	dst := make([]uint8, 32*32*3)
	f.Fuzz(func(t *testing.T, b []byte) {
		var err1, err2 error
		fuzzcorpus.AllocBound(t, "decoding", decodeAllocBound(len(b), fuzzMaxPixels), func() {
			var m RGB
			m, _, err1 = Decode(b, fuzzMaxPixels)
			if err1 == nil && (m.W <= 0 || m.H <= 0 || m.W*m.H > fuzzMaxPixels || len(m.Pix) != 3*m.W*m.H) {
				t.Fatalf("decoded %dx%d with %d bytes", m.W, m.H, len(m.Pix))
			}
		})
		fuzzcorpus.AllocBound(t, "decoding with pad", decodeAllocBound(len(b), fuzzMaxPixels), func() {
			_, err2 = r.DecodeWithPad(dst, 32, b, fuzzMaxPixels)
		})
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("Decode: %v; DecodeWithPad: %v", err1, err2)
		}
	})
}

// TestHugeImageHeadersFailFast: headers declaring 2^40 pixels (or the
// most each format can declare: 65535 x 65535 for GIF, 16384 x 16384 for
// WebP's lossless) over a few bytes are refused at once, with almost no
// memory.
func TestHugeImageHeadersFailFast(t *testing.T) {
	for name, b := range hugeImages(t) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		t0 := time.Now()
		_, _, err := Decode(b, DefaultMaxPixels)
		elapsed := time.Since(t0)
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s (%d bytes): %v in %v, %d bytes allocated", name, len(b), err, elapsed, alloc)
		if err == nil || alloc > 1<<20 || elapsed > time.Second {
			t.Errorf("%s: error %v after %v and %d bytes", name, err, elapsed, alloc)
		}
	}
}

// hugeImages are small files whose headers declare huge images.
func hugeImages(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	// PNG: IHDR of 2^20 x 2^20, with a valid CRC.
	var p bytes.Buffer
	png.Encode(&p, image.NewGray(image.Rect(0, 0, 8, 8)))
	pb := p.Bytes()
	binary.BigEndian.PutUint32(pb[16:], 1<<20)
	binary.BigEndian.PutUint32(pb[20:], 1<<20)
	binary.BigEndian.PutUint32(pb[29:], crc32.ChecksumIEEE(pb[12:29]))
	out["png-2^40"] = pb
	// JPEG: SOF0 of 65535 x 65535 (the most it can say).
	var j bytes.Buffer
	jpeg.Encode(&j, image.NewGray(image.Rect(0, 0, 8, 8)), nil)
	jb := j.Bytes()
	if i := bytes.Index(jb, []byte{0xff, 0xc0}); i >= 0 {
		binary.BigEndian.PutUint16(jb[i+5:], 65535)
		binary.BigEndian.PutUint16(jb[i+7:], 65535)
	} else {
		t.Fatal("no SOF0")
	}
	out["jpeg-65535^2"] = jb
	// GIF: a logical screen of 65535 x 65535 and a frame as large.
	var g bytes.Buffer
	gif.Encode(&g, image.NewPaletted(image.Rect(0, 0, 8, 8), palette.Plan9), nil)
	gb := g.Bytes()
	binary.LittleEndian.PutUint16(gb[6:], 65535)
	binary.LittleEndian.PutUint16(gb[8:], 65535)
	if i := bytes.IndexByte(gb[13+3*256:], 0x2c); i >= 0 {
		k := 13 + 3*256 + i
		binary.LittleEndian.PutUint16(gb[k+5:], 65535)
		binary.LittleEndian.PutUint16(gb[k+7:], 65535)
	}
	out["gif-65535^2"] = gb
	// WebP: a VP8X canvas of 2^24 x 2^24 (the most it can say).
	vp8x := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xffVP8L\x05\x00\x00\x00\x2f\xff\xff\xff\x0f\x00")
	binary.LittleEndian.PutUint32(vp8x[4:], uint32(len(vp8x)-8))
	out["webp-vp8x-2^48"] = vp8x
	// WebP lossless: 16384 x 16384 (its 14-bit fields' most).
	vp8l := []byte("RIFF\x00\x00\x00\x00WEBPVP8L\x05\x00\x00\x00\x2f\xff\xff\xff\x0f\x00")
	binary.LittleEndian.PutUint32(vp8l[4:], uint32(len(vp8l)-8))
	out["webp-vp8l-16384^2"] = vp8l
	return out
}

// TestWriteDecodeCorpus regenerates FuzzDecode's seed corpus
// (GORESNET_WRITE_CORPUS=1): small images in every decodable format and
// colour model (JPEG grey, 4:2:0 and with an EXIF orientation; PNG RGBA,
// 16-bit, paletted, grey; GIF; both WebP fixtures), each truncated and
// bit-flipped, and the huge headers.
func TestWriteDecodeCorpus(t *testing.T) {
	fuzzcorpus.SkipUnlessEnabled(t)
	w := fuzzcorpus.New(t, "FuzzDecode")
	src := testRGB(12, 9, 5)
	rgba := image.NewRGBA(image.Rect(0, 0, 12, 9))
	rgba64 := image.NewRGBA64(image.Rect(0, 0, 12, 9))
	gray := image.NewGray(image.Rect(0, 0, 12, 9))
	pal := image.NewPaletted(image.Rect(0, 0, 12, 9), palette.WebSafe)
	for y := range 9 {
		for x := range 12 {
			i := 3 * (y*12 + x)
			c := color.RGBA{src.Pix[i], src.Pix[i+1], src.Pix[i+2], uint8(255 - 10*x)}
			rgba.Set(x, y, c)
			rgba64.Set(x, y, c)
			gray.Set(x, y, c)
			pal.Set(x, y, c)
		}
	}
	enc := func(f func(*bytes.Buffer) error) []byte {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	j := enc(func(b *bytes.Buffer) error { return jpeg.Encode(b, rgba, &jpeg.Options{Quality: 50}) })
	w.AddVariants("jpeg", j, 12)
	w.AddVariants("jpeg-gray", enc(func(b *bytes.Buffer) error { return jpeg.Encode(b, gray, nil) }), 6)
	w.AddVariants("jpeg-exif6", withJPEGApp1(j, tiffOrient(6)), 8)
	w.AddVariants("png-rgba", enc(func(b *bytes.Buffer) error { return png.Encode(b, rgba) }), 8)
	w.AddVariants("png-rgba64", enc(func(b *bytes.Buffer) error { return png.Encode(b, rgba64) }), 6)
	w.AddVariants("png-paletted", enc(func(b *bytes.Buffer) error { return png.Encode(b, pal) }), 6)
	w.AddVariants("png-gray-exif8", withPNGChunk(enc(func(b *bytes.Buffer) error { return png.Encode(b, gray) }), "eXIf", tiffOrient(8)), 6)
	w.AddVariants("gif", enc(func(b *bytes.Buffer) error { return gif.Encode(b, pal, nil) }), 8)
	for _, name := range []string{"blue-purple-pink.lossy.webp", "gopher-doc.1bpp.lossless.webp"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		w.AddVariants(name, b, 10)
	}
	for name, b := range hugeImages(t) {
		w.Add(name, b)
	}
	w.Done()
}

// TestWriteOrientationCorpus regenerates FuzzOrientation's seed corpus
// (GORESNET_WRITE_CORPUS=1): EXIF orientations in a JPEG (APP1, little-
// and big-endian TIFF), a PNG (eXIf) and a WebP (EXIF chunk), each
// truncated and bit-flipped.
func TestWriteOrientationCorpus(t *testing.T) {
	fuzzcorpus.SkipUnlessEnabled(t)
	w := fuzzcorpus.New(t, "FuzzOrientation")
	var j bytes.Buffer
	jpeg.Encode(&j, image.NewGray(image.Rect(0, 0, 4, 4)), nil)
	w.AddVariants("jpeg-exif6", withJPEGApp1(j.Bytes()[:40], tiffOrient(6)), 16)
	be := []byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x03\x00\x00\x00\x00\x00\x00")
	w.AddVariants("jpeg-exif3-bigendian", withJPEGApp1(j.Bytes()[:40], be), 12)
	var p bytes.Buffer
	png.Encode(&p, image.NewGray(image.Rect(0, 0, 1, 1)))
	w.AddVariants("png-exif8", withPNGChunk(p.Bytes(), "eXIf", tiffOrient(8)), 12)
	webp := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00EXIF")
	exif := tiffOrient(5)
	webp = binary.LittleEndian.AppendUint32(webp, uint32(len(exif)))
	webp = append(webp, exif...)
	binary.LittleEndian.PutUint32(webp[4:], uint32(len(webp)-8))
	w.AddVariants("webp-exif5", webp, 12)
	w.Done()
}
