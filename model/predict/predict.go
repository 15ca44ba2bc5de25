// Package predict classifies pictures with a checkpoint, preparing each
// picture exactly as the importer prepared the checkpoint's training data
// (imageio.DecodeWithPad: decoded, turned upright by its EXIF orientation,
// resized with padding to the input size with a Lanczos-3 kernel), then
// normalised as the checkpoint says and run in eval mode. The browser's
// workers and the tests use it; it is a package of its own so that the
// image decoders stay out of programs that only train (app.wasm).
package predict

import (
	"fmt"
	"sort"

	"github.com/goresnet/goresnet/model/data/augment"
	"github.com/goresnet/goresnet/model/data/imageio"
	"github.com/goresnet/goresnet/model/nn"
	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/train"
)

// MaxPixels bounds a picture's declared size before decoding, as the
// importer's default does (a camera's 48 MP photo passes; a decompression
// bomb does not).
const MaxPixels = imageio.DefaultMaxPixels

// Score is one class's probability.
type Score struct {
	Class       string  `json:"class"`
	Index       int     `json:"index"`
	Probability float64 `json:"probability"`
}

// Classifier holds a checkpoint's network and the buffers of one picture.
// It is not safe for concurrent use.
type Classifier struct {
	Size    int
	Norm    augment.Norm
	Classes []string

	ws    *resnet.Workspace
	rz    imageio.Resizer
	pix   []uint8
	x     []float32
	probs []float32
}

// New builds a classifier from a checkpoint.
func New(ck *train.Checkpoint) (*Classifier, error) {
	net, err := ck.Net()
	if err != nil {
		return nil, err
	}
	norm, err := Norm(ck.Meta.Preprocess)
	if err != nil {
		return nil, err
	}
	size := ck.Meta.Preprocess.Size
	if size <= 0 {
		return nil, fmt.Errorf("the checkpoint gives no input size (preprocess.size %d)", size)
	}
	ws, err := net.NewWorkspace(1, size, size)
	if err != nil {
		return nil, err
	}
	c := net.Config.Classes
	names := ck.Meta.Classes
	if len(names) != c {
		names = make([]string, c)
		for i := range names {
			names[i] = fmt.Sprintf("class %d", i)
		}
	}
	return &Classifier{Size: size, Norm: norm, Classes: names, ws: ws,
		pix: make([]uint8, size*size*3), x: make([]float32, 3*size*size), probs: make([]float32, c)}, nil
}

// Norm is the normalisation a checkpoint's preprocessing names (its mean
// and std when it lists them; "imagenet" when it names none, as the CLI
// does).
func Norm(p train.Preprocess) (augment.Norm, error) {
	if len(p.Mean) == 3 && len(p.Std) == 3 {
		return augment.Norm{Name: p.Norm, Mean: [3]float32{p.Mean[0], p.Mean[1], p.Mean[2]}, Std: [3]float32{p.Std[0], p.Std[1], p.Std[2]}}, nil
	}
	name := p.Norm
	if name == "" {
		name = "imagenet"
	}
	return augment.ParseNorm(name)
}

// Classify decodes a picture file's bytes (JPEG, PNG, GIF or WebP) and
// returns the top classes, most likely first.
func (c *Classifier) Classify(b []byte, top int) ([]Score, error) {
	if _, err := c.rz.DecodeWithPad(c.pix, c.Size, b, MaxPixels); err != nil {
		return nil, err
	}
	return c.ClassifyPixels(c.pix, top)
}

// Prepared is the last picture as the network saw it before
// normalisation: Size x Size RGB, row by row (HWC).
func (c *Classifier) Prepared() []uint8 { return c.pix }

// ClassifyPixels classifies a picture already prepared (Size x Size RGB,
// HWC, as a dataset stores it).
func (c *Classifier) ClassifyPixels(pix []uint8, top int) ([]Score, error) {
	s := c.Size
	if len(pix) != s*s*3 {
		return nil, fmt.Errorf("a prepared picture has %d bytes, want %dx%dx3", len(pix), s, s)
	}
	augment.Normalize(c.x, augment.Image{H: s, W: s, Pix: pix}, c.Norm)
	logits, err := c.ws.Forward(c.x, false)
	if err != nil {
		return nil, err
	}
	k := len(c.probs)
	nn.Softmax(c.probs, logits, 1, k)
	order := make([]int, k)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return c.probs[order[a]] > c.probs[order[b]] })
	var out []Score
	for _, i := range order[:min(max(top, 1), k)] {
		out = append(out, Score{Class: c.Classes[i], Index: i, Probability: float64(c.probs[i])})
	}
	return out, nil
}
