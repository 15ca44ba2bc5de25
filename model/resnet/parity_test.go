package resnet_test

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/weights"
)

// The fixtures come from testdata/make_parity.py (torchvision's own blocks
// at reduced width, one train-mode and one eval-mode forward and backward).
var parityFixtures = []string{
	"testdata/parity_resnet50_w8.safetensors",
	"testdata/parity_resnet18_w8.safetensors",
	"testdata/parity_resnet18_w8_notebook.safetensors",
}

// relErr is max|got - want| / max|want| over a tensor.
func relErr(got, want []float32) float64 {
	var d, s float64
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-float64(want[i])))
		s = math.Max(s, math.Abs(float64(want[i])))
	}
	if s == 0 {
		return d
	}
	return d / s
}

// loadFixture builds the fixture's network with its initial weights.
func loadFixture(t *testing.T, f *weights.File) (*resnet.Net, []float32, []int, []int) {
	t.Helper()
	md := f.Metadata
	wd, _ := strconv.Atoi(md["width_div"])
	classes, _ := strconv.Atoi(md["classes"])
	head, err := resnet.ParseHead(md["head"])
	if err != nil {
		t.Fatal(err)
	}
	x, xs, err := f.Float32("input")
	if err != nil {
		t.Fatal(err)
	}
	cfg := resnet.Config{Arch: md["arch"], Classes: classes, WidthDiv: wd, Head: head, Dropout: 0, InputSize: xs[2]}
	net, err := resnet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fixtureOnly := func(name string) bool {
		return name == "input" || name == "labels" || strings.HasPrefix(name, "out.") ||
			strings.HasPrefix(name, "grad.") || strings.HasPrefix(name, "eval.") || strings.HasPrefix(name, "smooth.")
	}
	if err := weights.LoadNet(net, f, weights.LoadOptions{Ignore: fixtureOnly}); err != nil {
		t.Fatal(err)
	}
	l64, _, err := f.Int64("labels")
	if err != nil {
		t.Fatal(err)
	}
	labels := make([]int, len(l64))
	for i, v := range l64 {
		labels[i] = int(v)
	}
	return net, x, xs, labels
}

func scalar(t *testing.T, f *weights.File, name string) float64 {
	v, _, err := f.Float32(name)
	if err != nil || len(v) != 1 {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return float64(v[0])
}

// TestPyTorchParity runs each fixture's network in training and in eval
// mode and compares logits and loss (1e-4 relative), every parameter
// gradient (1e-3 relative, per tensor) and the updated running statistics
// with what PyTorch computed.
func TestPyTorchParity(t *testing.T) {
	for _, path := range parityFixtures {
		t.Run(strings.TrimSuffix(strings.TrimPrefix(path, "testdata/parity_"), ".safetensors"), func(t *testing.T) {
			f, err := weights.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, mode := range []string{"out", "eval"} {
				net, x, xs, labels := loadFixture(t, f)
				ws, err := net.NewWorkspace(xs[0], xs[2], xs[3])
				if err != nil {
					t.Fatal(err)
				}
				train := mode == "out"
				logits, err := ws.Forward(x, train)
				if err != nil {
					t.Fatal(err)
				}
				want, _, _ := f.Float32(mode + ".logits")
				worst := map[string]float64{}
				check := func(what string, e, tol float64) {
					if e > tol || math.IsNaN(e) {
						t.Errorf("%s %s: relative error %.3g > %.0g", mode, what, e, tol)
					}
					k := strings.SplitN(what, " ", 2)[0]
					worst[k] = math.Max(worst[k], e)
				}
				check("logits", relErr(logits, want), 1e-4)
				loss, err := ws.Loss(labels, 0)
				if err != nil {
					t.Fatal(err)
				}
				wl := scalar(t, f, mode+".loss")
				check("loss", math.Abs(loss-wl)/math.Abs(wl), 1e-4)
				if train {
					sl, _ := ws.Loss(labels, 0.1)
					ws.Loss(labels, 0) // Backward starts from the plain loss
					ws := scalar(t, f, "smooth.loss")
					check("smoothed-loss", math.Abs(sl-ws)/math.Abs(ws), 1e-4)
				}
				net.ZeroGrad()
				if err := ws.Backward(); err != nil {
					t.Fatal(err)
				}
				gradPrefix := "grad."
				if !train {
					gradPrefix = "eval.grad."
				}
				for _, p := range net.Params() {
					if !f.Has(gradPrefix + p.Name) {
						continue // the resnet50 fixture keeps no eval-mode gradients
					}
					g, _, err := f.Float32(gradPrefix + p.Name)
					if err != nil {
						t.Fatal(err)
					}
					check("gradient "+p.Name, relErr(p.Grad, g), 1e-3)
				}
				if train {
					for _, e := range net.State() {
						if e.Counter != nil {
							v, _, _ := f.Int64("out." + e.Name)
							if *e.Counter != v[0] {
								t.Errorf("%s = %d, PyTorch has %d", e.Name, *e.Counter, v[0])
							}
							continue
						}
						if e.Param != nil {
							continue
						}
						v, _, _ := f.Float32("out." + e.Name)
						check("running-stat "+e.Name, relErr(e.Data, v), 1e-4)
					}
				}
				var parts []string
				for _, k := range []string{"logits", "loss", "smoothed-loss", "gradient", "running-stat"} {
					if v, ok := worst[k]; ok {
						parts = append(parts, fmt.Sprintf("%s %.2g", k, v))
					}
				}
				t.Logf("%s mode, worst relative errors: %s", map[bool]string{true: "train", false: "eval"}[train], strings.Join(parts, ", "))
			}
		})
	}
}
