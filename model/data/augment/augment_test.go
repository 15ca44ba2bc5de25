package augment

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// img makes an h x w image whose channel c at (x, y) is base[c] + 10*y + x.
func img(h, w int) Image {
	m := Image{H: h, W: w, Pix: make([]uint8, h*w*3)}
	for y := range h {
		for x := range w {
			for c := range 3 {
				m.Pix[(y*w+x)*3+c] = uint8(c*100 + 10*y + x)
			}
		}
	}
	return m
}

// raw applies p with no normalisation and returns channel c as rows of
// values in [0, 255].
func raw(t *testing.T, src Image, outH, outW int, p Params, c int) [][]float32 {
	t.Helper()
	dst := make([]float32, 3*outH*outW)
	Apply(dst, outH, outW, src, p, Norm{Std: [3]float32{1.0 / 255, 1.0 / 255, 1.0 / 255}})
	rows := make([][]float32, outH)
	for y := range outH {
		rows[y] = dst[c*outH*outW+y*outW : c*outH*outW+(y+1)*outW]
	}
	return rows
}

func near(t *testing.T, what string, got, want [][]float32, tol float64) {
	t.Helper()
	for y := range want {
		for x := range want[y] {
			if math.Abs(float64(got[y][x]-want[y][x])) > tol {
				t.Fatalf("%s: at (%d,%d) got %v, want %v\ngot  %v\nwant %v", what, x, y, got[y][x], want[y][x], got, want)
			}
		}
	}
}

func TestFlip(t *testing.T) {
	src := img(2, 3)
	p := Identity(2, 3)
	near(t, "none", raw(t, src, 2, 3, p, 0), [][]float32{{0, 1, 2}, {10, 11, 12}}, 0)
	p.FlipH = true
	near(t, "horizontal", raw(t, src, 2, 3, p, 1), [][]float32{{102, 101, 100}, {112, 111, 110}}, 0)
	p.FlipH, p.FlipV = false, true
	near(t, "vertical", raw(t, src, 2, 3, p, 2), [][]float32{{210, 211, 212}, {200, 201, 202}}, 0)
	p.FlipH = true
	near(t, "both", raw(t, src, 2, 3, p, 0), [][]float32{{12, 11, 10}, {2, 1, 0}}, 0)
	// The general (resampling) path must agree with the copy path.
	p.Angle = 1e-300 // forces resample with an exact identity rotation
	near(t, "both, resampled", raw(t, src, 2, 3, p, 0), [][]float32{{12, 11, 10}, {2, 1, 0}}, 1e-4)
}

func TestReflect(t *testing.T) {
	// TensorFlow's map_coord for fill_mode="reflect", len 4: (dcba|abcd|dcba).
	for _, c := range []struct{ in, want float64 }{
		{0, 0}, {2.5, 2.5}, {3, 3}, {-1, 0}, {-2, 1}, {-4, 3}, {-5, 3}, {-6, 2}, {4, 3}, {5, 2}, {7, 0}, {8, 0}, {9, 1},
		{-0.5, 0}, {3.5, 3}, {-1.5, 0.5},
	} {
		if got := Reflect(c.in, 4); got != c.want {
			t.Errorf("Reflect(%v, 4) = %v, want %v", c.in, got, c.want)
		}
	}
	if got := Reflect(-3, 1); got != 0 {
		t.Errorf("Reflect(-3, 1) = %v", got)
	}
}

func TestRotation(t *testing.T) {
	src := img(3, 3)
	p := Identity(3, 3)
	// A half turn reverses the image.
	p.Angle = math.Pi
	near(t, "pi", raw(t, src, 3, 3, p, 0), [][]float32{{22, 21, 20}, {12, 11, 10}, {2, 1, 0}}, 1e-4)
	// A quarter turn: Keras maps output (x, y) to input (cos*x - sin*y + ox,
	// sin*x + cos*y + oy) = (2 - y, x) here, so out(x, y) = in(2-y, x).
	p.Angle = math.Pi / 2
	near(t, "pi/2", raw(t, src, 3, 3, p, 0), [][]float32{{2, 12, 22}, {1, 11, 21}, {0, 10, 20}}, 1e-4)
	// 45 degrees on 3x3: the centre stays; output (0, 0) maps to input
	// (ox, oy) = (1, 1 - sqrt2) = (1, -0.414), which reflects to -0.586 and
	// clamps to 0; on the ramp 10y + x bilinear sampling is exact.
	p.Angle = math.Pi / 4
	c, s := math.Cos(p.Angle), math.Sin(p.Angle)
	ox := (2 - (c*2 - s*2)) / 2 // 1
	oy := (2 - (s*2 + c*2)) / 2 // 1 - sqrt2
	u, v := ox, oy              // output (0, 0)
	v = -v - 1                  // reflect: -0.414 -> -0.586 -> clamped to 0
	if v < 0 {
		v = 0
	}
	want00 := float32(10*v + u)
	// Output (2, 1) maps to (1.707, 1.121), inside the image.
	u21, v21 := c*2-s*1+ox, s*2+c*1+oy
	want21 := float32(10*v21 + u21)
	got := raw(t, src, 3, 3, p, 0)
	if math.Abs(float64(got[0][0]-want00)) > 1e-4 || math.Abs(float64(got[1][2]-want21)) > 1e-4 || math.Abs(float64(got[1][1]-11)) > 1e-4 {
		t.Errorf("pi/4: got %v, want (0,0)=%v (2,1)=%v centre=11", got, want00, want21)
	}
	// A 4x4 ramp rotated by 0.3 rad samples beyond the edges and reflects.
	src4 := img(4, 4)
	p = Identity(4, 4)
	p.Angle = 0.3
	got = raw(t, src4, 4, 4, p, 0)
	c, s = math.Cos(0.3), math.Sin(0.3)
	ox = (3 - (c*3 - s*3)) / 2
	oy = (3 - (s*3 + c*3)) / 2
	for y := range 4 {
		for x := range 4 {
			u := Reflect(c*float64(x)-s*float64(y)+ox, 4)
			v := Reflect(s*float64(x)+c*float64(y)+oy, 4)
			if want := float32(10*v + u); math.Abs(float64(got[y][x]-want)) > 1e-3 {
				t.Errorf("0.3 rad: (%d,%d) = %v, want %v", x, y, got[y][x], want)
			}
		}
	}
}

func TestContrast(t *testing.T) {
	src := Image{H: 1, W: 2, Pix: []uint8{0, 10, 250, 100, 30, 255}}
	p := Identity(1, 2)
	p.Contrast = 2
	// Channel means 50, 20, 252.5: (v - m)*2 + m, clipped to [0, 255].
	near(t, "r", raw(t, src, 1, 2, p, 0), [][]float32{{0, 150}}, 1e-4)
	near(t, "g", raw(t, src, 1, 2, p, 1), [][]float32{{0, 40}}, 1e-4)
	near(t, "b", raw(t, src, 1, 2, p, 2), [][]float32{{247.5, 255}}, 1e-4)
	p.Contrast = 0.5
	near(t, "r 0.5", raw(t, src, 1, 2, p, 0), [][]float32{{25, 75}}, 1e-4)
}

func TestCropResize(t *testing.T) {
	src := img(4, 4)
	p := Identity(4, 4)
	p.CropX, p.CropY, p.CropW, p.CropH = 1, 1, 2, 2
	// torchvision: resized_crop of the box x,y in [1,2] to 4x4, bilinear,
	// half-pixel centres: source x = 1 + (u+0.5)/2 - 0.5 clamped to [1, 2]
	// = 1, 1.25, 1.75, 2.
	xs := []float32{1, 1.25, 1.75, 2}
	want := make([][]float32, 4)
	for y := range 4 {
		for x := range 4 {
			want[y] = append(want[y], 10*xs[y]+xs[x])
		}
	}
	near(t, "crop", raw(t, src, 4, 4, p, 0), want, 1e-4)
	// A whole-image "crop" to a smaller size is a plain bilinear resize.
	p = Identity(4, 4)
	got := raw(t, src, 2, 2, p, 0)
	// 4 -> 2: source = (u+0.5)*2 - 0.5 = 0.5, 2.5.
	near(t, "resize", got, [][]float32{{5.5, 7.5}, {25.5, 27.5}}, 1e-4)
}

func TestNormalize(t *testing.T) {
	src := Image{H: 1, W: 1, Pix: []uint8{255, 0, 128}}
	dst := make([]float32, 3)
	Apply(dst, 1, 1, src, Identity(1, 1), ImageNet)
	want := []float32{(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (128.0/255 - 0.406) / 0.225}
	for i := range want {
		if math.Abs(float64(dst[i]-want[i])) > 1e-5 {
			t.Errorf("imagenet: %v, want %v", dst, want)
		}
	}
	Apply(dst, 1, 1, src, Identity(1, 1), Unit)
	if dst[0] != 1 || dst[1] != 0 || math.Abs(float64(dst[2])-128.0/255) > 1e-7 {
		t.Errorf("unit: %v", dst)
	}
}

func TestSampleDeterministic(t *testing.T) {
	cfg, err := Parse("crop,flip=horizontal_and_vertical,rotation=0.2,contrast=0.2")
	if err != nil {
		t.Fatal(err)
	}
	src := img(16, 20)
	run := func(seed uint64, epoch, idx int) ([]float32, Params) {
		p := cfg.Sample(NewRand(seed, epoch, idx), src.H, src.W)
		dst := make([]float32, 3*12*12)
		Apply(dst, 12, 12, src, p, ImageNet)
		return dst, p
	}
	a, pa := run(7, 3, 11)
	b, pb := run(7, 3, 11)
	if !slices.Equal(a, b) || pa != pb {
		t.Fatal("same seed, epoch and index gave different images")
	}
	differ := 0
	for _, k := range [][3]int{{8, 3, 11}, {7, 4, 11}, {7, 3, 12}} {
		if _, p := run(uint64(k[0]), k[1], k[2]); p != pa {
			differ++
		}
	}
	if differ != 3 {
		t.Errorf("changing the seed, epoch or index changed the draws in %d of 3 cases", differ)
	}
	// Ranges over many draws.
	var fh, fv int
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		p := cfg.Sample(r, 100, 150)
		if p.Angle < -0.4*math.Pi || p.Angle > 0.4*math.Pi || p.Contrast < 0.8 || p.Contrast > 1.2 {
			t.Fatalf("out of range: %+v", p)
		}
		area := float64(p.CropW*p.CropH) / 15000
		ratio := float64(p.CropW) / float64(p.CropH)
		if p.CropX < 0 || p.CropY < 0 || p.CropX+p.CropW > 150 || p.CropY+p.CropH > 100 || area < 0.07 || area > 1.01 || ratio < 0.7 || ratio > 1.4 {
			t.Fatalf("crop out of range: %+v (area %.3f ratio %.3f)", p, area, ratio)
		}
		if p.FlipH {
			fh++
		}
		if p.FlipV {
			fv++
		}
	}
	if fh < 900 || fh > 1100 || fv < 900 || fv > 1100 {
		t.Errorf("flips: %d horizontal, %d vertical of 2000", fh, fv)
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"none", "notebook", "finetune", "flip=horizontal", "crop=0.5:1,contrast=0.1"} {
		c, err := Parse(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if _, err := Parse(c.String()); err != nil {
			t.Errorf("%s: String %q does not parse back: %v", s, c, err)
		}
	}
	if c, _ := Parse("notebook"); c.String() != "flip=horizontal_and_vertical,rotation=0.2,contrast=0.2" {
		t.Errorf("notebook = %s", c)
	}
	for _, s := range []string{"flip=sideways", "rotation=x", "crop=0:1", "blur"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("%s: no error", s)
		}
	}
}

// TestRotationReflectPaths: the inline single-reflection path agrees with
// Reflect over many angles and sizes.
func TestRotationReflectPaths(t *testing.T) {
	src := img(7, 9)
	for _, angle := range []float64{0.1, -0.7, 1.3, 2.9, -2.2, 4} {
		p := Identity(7, 9)
		p.Angle = angle
		got := raw(t, src, 7, 9, p, 0)
		c, s := math.Cos(angle), math.Sin(angle)
		ox := (8 - (c*8 - s*6)) / 2
		oy := (6 - (s*8 + c*6)) / 2
		for y := range 7 {
			for x := range 9 {
				u := Reflect(c*float64(x)-s*float64(y)+ox, 9)
				v := Reflect(s*float64(x)+c*float64(y)+oy, 7)
				if want := float32(10*v + u); math.Abs(float64(got[y][x]-want)) > 1e-3 {
					t.Fatalf("angle %v: (%d,%d) = %v, want %v", angle, x, y, got[y][x], want)
				}
			}
		}
	}
}

// TestRotationInterior: the lean interior loop gives the same pixels as
// the fully checked one, for random crops, flips, angles and sizes.
func TestRotationInterior(t *testing.T) {
	cfg, _ := Parse("crop,flip=horizontal_and_vertical,rotation=0.2")
	src := Image{H: 37, W: 53, Pix: make([]uint8, 37*53*3)}
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7919 % 251)
	}
	a := make([]float32, 3*31*29)
	b := make([]float32, len(a))
	for i := range 200 {
		p := cfg.Sample(NewRand(3, 0, i), src.H, src.W)
		if i%2 == 0 {
			p.CropX, p.CropY, p.CropW, p.CropH = 0, 0, src.W, src.H
		}
		noInterior = true
		Apply(a, 31, 29, src, p, Unit)
		noInterior = false
		Apply(b, 31, 29, src, p, Unit)
		for k := range a {
			if math.Abs(float64(a[k]-b[k])) > 1e-5 {
				t.Fatalf("draw %d %+v: element %d: %v (checked) vs %v (interior)", i, p, k, a[k], b[k])
			}
		}
	}
}

// refApply is the readable reference for Apply: every output pixel is
// mapped back through the rotation (Reflect into the frame), the flips and
// the crop box, one at a time, and sampled bilinearly from the uint8
// source in float64; then the contrast (channel means of the whole
// rotated image) and the normalisation, in float64.
func refApply(outH, outW int, src Image, p Params, norm Norm) []float64 {
	fw, fh := float64(outW-1), float64(outH-1)
	cos, sin := math.Cos(p.Angle), math.Sin(p.Angle)
	ox := (fw - (cos*fw - sin*fh)) / 2
	oy := (fh - (sin*fw + cos*fh)) / 2
	at := func(x, y, c int) float64 { return float64(src.Pix[(y*src.W+x)*3+c]) }
	hw := outH * outW
	out := make([]float64, 3*hw)
	var sum [3]float64
	for y := range outH {
		for x := range outW {
			// Rotation (Keras), then flips, then the crop box (torchvision).
			u, v := float64(x), float64(y)
			if p.Angle != 0 {
				u = Reflect(cos*u-sin*v+ox, outW)
				v = Reflect(sin*float64(x)+cos*v+oy, outH)
			}
			if p.FlipH {
				u = fw - u
			}
			if p.FlipV {
				v = fh - v
			}
			sx := float64(p.CropX) + (u+0.5)*float64(p.CropW)/float64(outW) - 0.5
			sy := float64(p.CropY) + (v+0.5)*float64(p.CropH)/float64(outH) - 0.5
			sx = min(max(sx, float64(p.CropX)), float64(p.CropX+p.CropW-1))
			sy = min(max(sy, float64(p.CropY)), float64(p.CropY+p.CropH-1))
			ix, iy := int(sx), int(sy)
			fx, fy := sx-float64(ix), sy-float64(iy)
			jx, jy := min(ix+1, src.W-1), min(iy+1, src.H-1)
			for c := range 3 {
				t := at(ix, iy, c) + fx*(at(jx, iy, c)-at(ix, iy, c))
				b := at(ix, jy, c) + fx*(at(jx, jy, c)-at(ix, jy, c))
				val := t + fy*(b-t)
				out[c*hw+y*outW+x] = val
				sum[c] += val
			}
		}
	}
	for c := range 3 {
		mean := sum[c] / float64(hw)
		for i := c * hw; i < (c+1)*hw; i++ {
			v := out[i]
			if p.Contrast != 1 {
				v = min(max((v-mean)*p.Contrast+mean, 0), 255)
			}
			out[i] = (v/255 - float64(norm.Mean[c])) / float64(norm.Std[c])
		}
	}
	return out
}

// TestApplyReference: Apply agrees with refApply, for random draws of
// every step together and of the presets, on a noisy image and on a
// smooth one, at 224, odd and tiny sizes. The tolerance, in normalised units
// (ImageNet: 1 is about 58 levels of 255), is float32 rounding: 3e-5 is
// 0.002 levels.
func TestApplyReference(t *testing.T) {
	noisy := Image{H: 224, W: 224, Pix: make([]uint8, 224*224*3)}
	for i := range noisy.Pix {
		noisy.Pix[i] = uint8(i * 7919 % 251)
	}
	smooth := Image{H: 61, W: 47, Pix: make([]uint8, 61*47*3)}
	for i := range smooth.Pix {
		smooth.Pix[i] = uint8(128 + 120*math.Sin(float64(i)/97))
	}
	wide := Image{H: 4, W: 60, Pix: noisy.Pix[:4*60*3]} // reflects more than once at large angles
	tall := Image{H: 60, W: 4, Pix: noisy.Pix[:60*4*3]}
	const tol = 3e-5
	var sc Scratch
	worst := 0.0
	for _, spec := range []string{"notebook", "finetune", "crop,flip,rotation=0.5,contrast=0.9", "rotation=0.2", "flip,contrast=0.5"} {
		cfg, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			src        Image
			outH, outW int
		}{{noisy, 224, 224}, {smooth, 61, 47}, {smooth, 33, 52}, {wide, 4, 60}, {tall, 60, 4}, {wide, 1, 1}, {tall, 2, 3}} {
			n := 12
			if testing.Short() {
				n = 3
			}
			for i := range n {
				p := cfg.Sample(NewRand(5, 1, i), tc.src.H, tc.src.W)
				dst := make([]float32, 3*tc.outH*tc.outW)
				sc.Apply(dst, tc.outH, tc.outW, tc.src, p, ImageNet)
				want := refApply(tc.outH, tc.outW, tc.src, p, ImageNet)
				for k, w := range want {
					d := math.Abs(float64(dst[k]) - w)
					worst = max(worst, d)
					if d > tol {
						t.Fatalf("%s %dx%d draw %d %+v: element %d = %v, want %v", spec, tc.outH, tc.outW, i, p, k, dst[k], w)
					}
				}
			}
		}
	}
	t.Logf("largest difference %.3g (vector path: %s)", worst, vecPath())
}

// TestRotationRuns: the lean loop's runs cover nearly all of a rotated
// 224x224 image, reflected parts included (the checked loop is slow), and
// never overlap.
func TestRotationRuns(t *testing.T) {
	const n = 224
	fw := float64(n - 1)
	for _, angle := range []float64{0.05, -0.3, 0.7, 1.2, -1.25, 2.5} {
		cos, sin := math.Cos(angle), math.Sin(angle)
		g := rotGeom{fw: fw, fh: fw, outW: n, outH: n, ax: 1, ay: 1, x1: fw, y1: fw, cos: cos, sin: sin, w3: 3 * n, wm: n - 1, hm: n - 1}
		ox := (fw - (cos*fw - sin*fw)) / 2
		oy := (fw - (sin*fw + cos*fw)) / 2
		covered := 0
		for y := range n {
			rs := g.runs(nil, ox-sin*float64(y), oy+cos*float64(y))
			x := 0
			for _, r := range rs {
				if r.a < x || r.b <= r.a || r.b > n {
					t.Fatalf("angle %v row %d: runs %v", angle, y, rs)
				}
				covered += r.b - r.a
				x = r.b
			}
		}
		if f := float64(covered) / (n * n); f < 0.98 { // 0.991-0.993 here
			t.Errorf("angle %v: runs cover %.3f of the image", angle, f)
		}
	}
}
