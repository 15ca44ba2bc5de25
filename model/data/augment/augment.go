// Package augment turns a stored image (uint8 RGB, HWC) into the network's
// input (float32, CHW, normalised), with seeded random augmentations that
// keep Keras' meanings: RandomFlip, RandomRotation (bilinear, reflect
// fill), RandomContrast; plus RandomResizedCrop as torchvision does it, the
// usual choice when fine-tuning ImageNet weights.
//
// The draws for one image (Params) come from a generator seeded by (seed,
// epoch, example), so an epoch is reproducible whatever the batching,
// prefetching or number of workers. The geometric steps (crop, flip,
// rotation) are composed into one inverse map, so each output pixel is one
// bilinear sample of the stored image; each step alone matches its
// reference exactly (see the tests).
package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Image is uint8 RGB pixels in HWC order.
type Image struct {
	H, W int
	Pix  []uint8
}

// FlipMode is RandomFlip's mode.
type FlipMode int

// The flip modes, named as Keras names them.
const (
	FlipNone FlipMode = iota
	FlipHorizontal
	FlipVertical
	FlipHorizontalAndVertical
)

var flipNames = []string{"none", "horizontal", "vertical", "horizontal_and_vertical"}

func (f FlipMode) String() string {
	if f < 0 || int(f) >= len(flipNames) {
		return fmt.Sprintf("FlipMode(%d)", int(f))
	}
	return flipNames[f]
}

// ParseFlip parses a Keras RandomFlip mode.
func ParseFlip(s string) (FlipMode, error) {
	for i, n := range flipNames {
		if s == n {
			return FlipMode(i), nil
		}
	}
	return FlipNone, fmt.Errorf("flip mode %q: want horizontal, vertical or horizontal_and_vertical", s)
}

// Crop is RandomResizedCrop's parameters: the crop covers a fraction of the
// image's area drawn from Scale, with an aspect ratio (w/h) drawn
// log-uniformly from Ratio.
type Crop struct {
	Scale [2]float64
	Ratio [2]float64
}

// DefaultCrop is torchvision's default: scale (0.08, 1), ratio (3/4, 4/3).
var DefaultCrop = Crop{Scale: [2]float64{0.08, 1}, Ratio: [2]float64{3.0 / 4, 4.0 / 3}}

// Config says which augmentations run, in this order: crop, flip,
// rotation, contrast. The zero Config does none.
type Config struct {
	Crop *Crop
	Flip FlipMode
	// Rotation is RandomRotation's factor: the angle is drawn uniformly
	// from [-Rotation*2pi, Rotation*2pi].
	Rotation float64
	// Contrast is RandomContrast's factor: the contrast factor is drawn
	// uniformly from [1-Contrast, 1+Contrast].
	Contrast float64
}

// Presets name the usual configurations.
var Presets = map[string]Config{
	"none": {},
	// The notebook's data_augmentation block.
	"notebook": {Flip: FlipHorizontalAndVertical, Rotation: 0.2, Contrast: 0.2},
	// The usual fine-tuning recipe for ImageNet weights.
	"finetune": {Crop: &DefaultCrop, Flip: FlipHorizontal},
}

// Parse reads a preset name or a comma-separated list of steps:
// "crop" (or "crop=0.08:1"), "flip=horizontal" ("flip" alone is Keras'
// default, horizontal_and_vertical), "rotation=0.2" (or "rotate=0.2"),
// "contrast=0.2", e.g. "flip,rotate=0.2,contrast=0.2,crop".
func Parse(s string) (Config, error) {
	s = strings.TrimSpace(s)
	if c, ok := Presets[s]; ok {
		return c, nil
	}
	var c Config
	for _, item := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(item), "=")
		switch k {
		case "crop":
			cr := DefaultCrop
			if v != "" {
				lo, hi, ok := strings.Cut(v, ":")
				a, err1 := strconv.ParseFloat(lo, 64)
				b, err2 := strconv.ParseFloat(hi, 64)
				if !ok || err1 != nil || err2 != nil || !(a > 0 && a <= b && b <= 1) {
					return c, fmt.Errorf("augment %q: crop=MIN:MAX with 0 < MIN <= MAX <= 1", item)
				}
				cr.Scale = [2]float64{a, b}
			}
			c.Crop = &cr
		case "flip":
			if v == "" {
				v = "horizontal_and_vertical" // Keras' RandomFlip default
			}
			f, err := ParseFlip(v)
			if err != nil {
				return c, fmt.Errorf("augment %q: %v", item, err)
			}
			c.Flip = f
		case "rotation", "rotate", "contrast":
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || !(x >= 0 && x <= 1) {
				return c, fmt.Errorf("augment %q: want a factor in [0, 1]", item)
			}
			if k != "contrast" {
				c.Rotation = x
			} else {
				c.Contrast = x
			}
		default:
			return c, fmt.Errorf("augment %q: want a preset (none, notebook, finetune) or steps crop, flip=MODE, rotation=F, contrast=F", s)
		}
	}
	return c, nil
}

func (c Config) String() string {
	var s []string
	if c.Crop != nil {
		s = append(s, fmt.Sprintf("crop=%g:%g", c.Crop.Scale[0], c.Crop.Scale[1]))
	}
	if c.Flip != FlipNone {
		s = append(s, "flip="+c.Flip.String())
	}
	if c.Rotation != 0 {
		s = append(s, fmt.Sprintf("rotation=%g", c.Rotation))
	}
	if c.Contrast != 0 {
		s = append(s, fmt.Sprintf("contrast=%g", c.Contrast))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}

// Params are the draws for one image.
type Params struct {
	// Crop box in stored-image pixels; the whole image when not cropping.
	CropX, CropY, CropW, CropH int
	FlipH, FlipV               bool
	Angle                      float64 // radians
	Contrast                   float64 // 1: unchanged
}

// Identity returns the Params that leave an h x w image as it is.
func Identity(h, w int) Params {
	return Params{CropW: w, CropH: h, Contrast: 1}
}

// Sample draws the Params for one h x w image.
func (c Config) Sample(r *rand.Rand, h, w int) Params {
	p := Identity(h, w)
	if c.Crop != nil {
		p.CropX, p.CropY, p.CropW, p.CropH = c.Crop.sample(r, h, w)
	}
	switch c.Flip {
	case FlipHorizontal:
		p.FlipH = r.Float64() < 0.5
	case FlipVertical:
		p.FlipV = r.Float64() < 0.5
	case FlipHorizontalAndVertical:
		p.FlipH = r.Float64() < 0.5
		p.FlipV = r.Float64() < 0.5
	}
	if c.Rotation != 0 {
		p.Angle = (2*r.Float64() - 1) * c.Rotation * 2 * math.Pi
	}
	if c.Contrast != 0 {
		p.Contrast = 1 - c.Contrast + 2*c.Contrast*r.Float64()
	}
	return p
}

// sample is torchvision's RandomResizedCrop.get_params.
func (c Crop) sample(r *rand.Rand, h, w int) (x, y, cw, ch int) {
	area := float64(h * w)
	lr0, lr1 := math.Log(c.Ratio[0]), math.Log(c.Ratio[1])
	for range 10 {
		target := area * (c.Scale[0] + (c.Scale[1]-c.Scale[0])*r.Float64())
		aspect := math.Exp(lr0 + (lr1-lr0)*r.Float64())
		cw = int(math.Round(math.Sqrt(target * aspect)))
		ch = int(math.Round(math.Sqrt(target / aspect)))
		if cw > 0 && cw <= w && ch > 0 && ch <= h {
			return r.IntN(w - cw + 1), r.IntN(h - ch + 1), cw, ch
		}
	}
	// Fallback: a centre crop.
	in := float64(w) / float64(h)
	switch {
	case in < c.Ratio[0]:
		cw, ch = w, int(math.Round(float64(w)/c.Ratio[0]))
	case in > c.Ratio[1]:
		ch, cw = h, int(math.Round(float64(h)*c.Ratio[1]))
	default:
		cw, ch = w, h
	}
	cw, ch = max(1, min(cw, w)), max(1, min(ch, h))
	return (w - cw) / 2, (h - ch) / 2, cw, ch
}

// NewRand returns the generator for one example of one epoch. The same
// (seed, epoch, index) always gives the same draws.
func NewRand(seed uint64, epoch, index int) *rand.Rand {
	p := new(rand.PCG)
	SeedPCG(p, seed, epoch, index)
	return rand.New(p)
}

// SeedPCG reseeds p as NewRand seeds its generator, so a worker can reuse
// one generator for many examples without allocating.
func SeedPCG(p *rand.PCG, seed uint64, epoch, index int) {
	p.Seed(seed, mix(uint64(epoch)<<40^uint64(index)))
}

// mix is splitmix64's finaliser: it spreads nearby counters apart.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
