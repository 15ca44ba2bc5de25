package predict

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"testing"

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
