package predict

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/imageio"
	"github.com/goresnet/goresnet/model/data/importer"

	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/train"
)

func testCheckpoint(t *testing.T) *train.Checkpoint {
	t.Helper()
	net, err := resnet.New(resnet.Config{Arch: "resnet18", Classes: 7, WidthDiv: 16})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"a", "b", "c", "d", "e", "f", "g"}
	b, err := train.MarshalCheckpoint(net, nil, train.Meta{Classes: names, Preprocess: train.Preprocess{Size: 32, Norm: "unit"}})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := train.ParseCheckpoint(b, "t.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// TestClassify: a 32x32 PNG goes through unchanged (resize with pad to its
// own size is the identity), the probabilities are sorted and sum to 1,
// and a picture of another size or a broken file is prepared or refused.
func TestClassify(t *testing.T) {
	c, err := New(testCheckpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	pix := make([]uint8, 32*32*3)
	for y := range 32 {
		for x := range 32 {
			v := color.RGBA{uint8(8 * x), uint8(8 * y), uint8(x * y), 255}
			img.Set(x, y, v)
			copy(pix[(y*32+x)*3:], []uint8{v.R, v.G, v.B})
		}
	}
	var f bytes.Buffer
	if err := png.Encode(&f, img); err != nil {
		t.Fatal(err)
	}
	got, err := c.Classify(f.Bytes(), 7)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Prepared(), pix) {
		t.Error("a 32x32 picture was changed on its way to a 32x32 network")
	}
	want, err := c.ClassifyPixels(pix, 7)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for i, s := range got {
		sum += s.Probability
		if s != want[i] {
			t.Errorf("score %d: from the file %+v, from the pixels %+v", i, s, want[i])
		}
		if i > 0 && s.Probability > got[i-1].Probability {
			t.Errorf("scores not sorted: %+v", got)
		}
		if s.Class != c.Classes[s.Index] {
			t.Errorf("score %+v names the wrong class", s)
		}
	}
	if len(got) != 7 || math.Abs(sum-1) > 1e-5 {
		t.Errorf("%d scores summing to %v", len(got), sum)
	}
	if top, _ := c.Classify(f.Bytes(), 5); len(top) != 5 || top[0] != got[0] {
		t.Errorf("top 5: %+v", top)
	}
	big := image.NewGray(image.Rect(0, 0, 90, 40))
	f.Reset()
	png.Encode(&f, big)
	if _, err := c.Classify(f.Bytes(), 5); err != nil {
		t.Errorf("a 90x40 picture: %v", err)
	}
	if _, err := c.Classify([]byte("not a picture"), 5); err == nil {
		t.Error("a text file was classified")
	}
}

// TestPreparedAsImported: a picture is prepared for the network exactly as
// the importer stores it (a JPEG turned upright by its EXIF orientation, a
// wide PNG padded), byte for byte.
func TestPreparedAsImported(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 40, 24))
	for y := range 24 {
		for x := range 40 {
			src.Set(x, y, color.RGBA{uint8(6 * x), uint8(10 * y), uint8(3 * (x + y)), 255})
		}
	}
	var j, p bytes.Buffer
	if err := jpeg.Encode(&j, src, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	// Orientation 6 (rotate 90° clockwise to view) in an EXIF APP1 segment.
	tiff := []byte("II*\x00\x08\x00\x00\x00\x01\x00" + "\x12\x01\x03\x00\x01\x00\x00\x00" + "\x06\x00\x00\x00" + "\x00\x00\x00\x00")
	seg := append([]byte{0xff, 0xe1, 0, 0}, "Exif\x00\x00"...)
	seg = append(seg, tiff...)
	binary.BigEndian.PutUint16(seg[2:], uint16(len(seg)-2))
	rotated := append(append(append([]byte{}, j.Bytes()[:2]...), seg...), j.Bytes()[2:]...)
	if o := imageio.Orientation(rotated); o != 6 {
		t.Fatalf("orientation %d", o)
	}
	wide := image.NewRGBA(image.Rect(0, 0, 60, 20))
	for i := range wide.Pix {
		wide.Pix[i] = uint8(i * 7)
	}
	if err := png.Encode(&p, wide); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"a/rotated.jpg": rotated, "b/wide.png": p.Bytes()}

	fsys := fstest.MapFS{}
	for name, b := range files {
		fsys[name] = &fstest.MapFile{Data: b}
	}
	out := filepath.Join(t.TempDir(), "eq")
	if _, _, err := importer.ImportDir(context.Background(), importer.Options{Format: "imagefolder", From: fsys, Size: 32, Name: "eq", TestFraction: -1}, "", out, false); err != nil {
		t.Fatal(err)
	}
	ds, err := data.OpenPath(context.Background(), out, nil)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, sp := range ds.Manifest.Splits {
		for i := range sp.Shards {
			sh, err := ds.Shard(context.Background(), sp.Name, i)
			if err != nil {
				t.Fatal(err)
			}
			for r := range sh.Records {
				_, pix := sh.Record(r)
				stored[string(pix)] = true
			}
		}
	}
	if len(stored) != 2 {
		t.Fatalf("the import stored %d distinct pictures, want 2", len(stored))
	}
	c, err := New(testCheckpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if _, err := c.Classify(b, 1); err != nil {
			t.Fatal(err)
		}
		if !stored[string(c.Prepared())] {
			t.Errorf("%s is prepared differently from the importer", name)
		}
	}
	// The orientation is applied: without it the picture differs.
	if _, err := c.Classify(j.Bytes(), 1); err != nil {
		t.Fatal(err)
	}
	if stored[string(c.Prepared())] {
		t.Error("the JPEG without its EXIF orientation is prepared as the one with it")
	}
}
