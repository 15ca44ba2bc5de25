package cli

import (
	"bytes"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/weights"
)

const fixtureDir = "../model/resnet/testdata/"

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return out.String(), errb.String(), code
}

// splitFixture writes a parity fixture's weights and its input/labels as
// the two files the forward contract takes.
func splitFixture(t *testing.T, fixture string) (w, x string, f *weights.File) {
	t.Helper()
	f, err := weights.Open(fixtureDir + fixture)
	if err != nil {
		t.Fatal(err)
	}
	cfg := resnet.Config{Arch: f.Metadata["arch"]}
	cfg.Head, _ = resnet.ParseHead(f.Metadata["head"])
	in, xs, _ := f.Float32("input")
	cfg.InputSize = xs[2]
	if err := weights.InferConfig(f, &cfg); err != nil {
		t.Fatal(err)
	}
	net, err := resnet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	isState := map[string]bool{}
	for _, e := range net.State() {
		isState[e.Name] = true
	}
	if err := weights.LoadNet(net, f, weights.LoadOptions{Ignore: func(n string) bool { return !isState[n] }}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w = filepath.Join(dir, "w.safetensors")
	if err := weights.SaveNet(net, w, nil); err != nil {
		t.Fatal(err)
	}
	labels, _, _ := f.Int64("labels")
	x = filepath.Join(dir, "x.safetensors")
	if err := weights.WriteFile(x, []weights.Tensor{
		{Name: "input", Shape: xs, F32: in},
		{Name: "labels", Shape: []int{len(labels)}, I64: labels},
	}, nil); err != nil {
		t.Fatal(err)
	}
	return w, x, f
}

func maxRel(got, want []float32) float64 {
	var d, s float64
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i]-want[i])))
		s = math.Max(s, math.Abs(float64(want[i])))
	}
	return d / math.Max(s, 1e-30)
}

// TestForwardContract runs the forward subcommand exactly as DESIGN.md
// section 4 specifies and checks its output file against PyTorch.
func TestForwardContract(t *testing.T) {
	for _, fx := range []string{"parity_resnet18_w8.safetensors", "parity_resnet18_w8_notebook.safetensors"} {
		t.Run(fx, func(t *testing.T) {
			w, x, ref := splitFixture(t, fx)
			outPath := filepath.Join(t.TempDir(), "out.safetensors")
			stdout, stderr, code := run(t, "forward", "--arch", ref.Metadata["arch"], "--weights", w, "--input", x,
				"--train-mode", "--grad", "--out", outPath)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, "loss") {
				t.Errorf("stdout %q", stdout)
			}
			out, err := weights.Open(outPath)
			if err != nil {
				t.Fatal(err)
			}
			logits, _, _ := out.Float32("logits")
			want, _, _ := ref.Float32("out.logits")
			if e := maxRel(logits, want); e > 1e-4 {
				t.Errorf("logits: relative error %.3g", e)
			}
			loss, ls, _ := out.Float32("loss")
			wl, _, _ := ref.Float32("out.loss")
			if len(ls) != 0 || math.Abs(float64(loss[0]-wl[0])) > 1e-4*math.Abs(float64(wl[0])) {
				t.Errorf("loss %v (shape %v), want %v as a 0-d tensor", loss, ls, wl)
			}
			grads := 0
			for _, name := range ref.Names() {
				switch {
				case strings.HasPrefix(name, "grad."):
					g, _, err := out.Float32(name)
					if err != nil {
						t.Fatal(err)
					}
					wg, _, _ := ref.Float32(name)
					if e := maxRel(g, wg); e > 1e-3 {
						t.Errorf("%s: relative error %.3g", name, e)
					}
					grads++
				case strings.HasPrefix(name, "out.") && strings.HasSuffix(name, "num_batches_tracked"):
					v, _, err := out.Int64(strings.TrimPrefix(name, "out."))
					wv, _, _ := ref.Int64(name)
					if err != nil || v[0] != wv[0] {
						t.Errorf("%s: %v %v, want %v", name, v, err, wv)
					}
				case strings.HasPrefix(name, "out.running") || strings.Contains(name, ".running_"):
					if !strings.HasPrefix(name, "out.") {
						continue
					}
					v, _, err := out.Float32(strings.TrimPrefix(name, "out."))
					if err != nil {
						t.Fatal(err)
					}
					wv, _, _ := ref.Float32(name)
					if e := maxRel(v, wv); e > 1e-4 {
						t.Errorf("%s: relative error %.3g", name, e)
					}
				}
			}
			if grads == 0 {
				t.Fatal("no gradients compared")
			}
		})
	}
}

func TestForwardEvalAndLabelsFlag(t *testing.T) {
	w, x, ref := splitFixture(t, "parity_resnet18_w8.safetensors")
	labels, _, _ := ref.Int64("labels")
	var ls []string
	for _, l := range labels {
		ls = append(ls, strconv.Itoa(int(l)))
	}
	outPath := filepath.Join(t.TempDir(), "out.safetensors")
	if _, stderr, code := run(t, "forward", "--arch", "resnet18", "--weights", w, "--input", x, "--labels", strings.Join(ls, ","), "--out", outPath); code != 0 {
		t.Fatal(stderr)
	}
	out, _ := weights.Open(outPath)
	logits, _, _ := out.Float32("logits")
	want, _, _ := ref.Float32("eval.logits")
	if e := maxRel(logits, want); e > 1e-4 {
		t.Errorf("eval logits: relative error %.3g", e)
	}
	if out.Has("grad.fc.weight") || out.Has("bn1.running_mean") {
		t.Error("eval without --grad wrote gradients or running statistics")
	}
}

func TestForwardBadInput(t *testing.T) {
	w, x, _ := splitFixture(t, "parity_resnet18_w8.safetensors")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.safetensors")
	weights.WriteFile(bad, []weights.Tensor{{Name: "input", Shape: []int{1, 3, 50, 64}, F32: make([]float32, 3*50*64)}}, nil)
	nan := filepath.Join(dir, "nan.safetensors")
	nanIn := make([]float32, 2*3*64*64)
	nanIn[7] = float32(math.NaN())
	weights.WriteFile(nan, []weights.Tensor{{Name: "input", Shape: []int{2, 3, 64, 64}, F32: nanIn}}, nil)
	out := filepath.Join(dir, "out.safetensors")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--weights", w, "--input", bad, "--out", out}, "multiples of 32"},
		{[]string{"--weights", w, "--input", x, "--classes", "9", "--out", out}, "fc.weight has shape [7 64]"},
		{[]string{"--weights", w, "--input", x, "--labels", "1,2", "--out", out}, "2 labels for a batch of 3"},
		{[]string{"--weights", w, "--input", x, "--labels", "1,2,7", "--out", out}, "label 7"},
		{[]string{"--weights", w, "--input", nan, "--grad", "--out", out}, "--grad needs labels"},
		{[]string{"--weights", x, "--input", x, "--out", out}, "no fc.weight"},
		{[]string{"--weights", w, "--input", w, "--out", out}, `no tensor "input"`},
		{[]string{"--weights", w, "--out", out}, "required"},
		{[]string{"--arch", "resnet34", "--weights", w, "--input", x, "--out", out}, "missing tensor"},
	} {
		args := append([]string{"forward", "--arch", "resnet18"}, c.args...)
		_, stderr, code := run(t, args...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error saying %q", c.args, code, stderr, c.want)
		}
	}
	// NaN in the input: a reported NaN loss, not a crash.
	_, stderr, code := run(t, "forward", "--arch", "resnet18", "--weights", w, "--input", nan, "--labels", "0,1", "--out", out)
	if code != 0 || !strings.Contains(stderr, "NaN") {
		t.Errorf("NaN input: exit %d, stderr %q", code, stderr)
	}
}

func TestHelp(t *testing.T) {
	stdout, _, code := run(t, "help")
	if code != 0 || !strings.Contains(stdout, "forward") {
		t.Errorf("help: %d %q", code, stdout)
	}
	if _, stderr, code := run(t, "nosuch"); code != 2 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command: %d %q", code, stderr)
	}
	if _, stderr, code := run(t, "forward", "-h"); code != 0 || !strings.Contains(stderr, "--train-mode") {
		t.Errorf("forward -h: %d %q", code, stderr)
	}
}
