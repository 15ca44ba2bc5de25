package cli

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/weights"
)

const onnxCheckDir = "../tools/onnxcheck"

var (
	onnxSetup    sync.Once
	onnxSetupErr error
	onnxSkip     string
)

// onnxRuntime makes sure tools/onnxcheck has onnxruntime-node installed
// (npm ci --ignore-scripts from its package-lock.json, once, when
// node_modules lacks it) and returns a function that runs an ONNX file on
// an input there. The test is skipped only where node or npm is missing.
func onnxRuntime(t *testing.T) func(model string, x []float32, shape []int) []float32 {
	t.Helper()
	onnxSetup.Do(func() {
		if _, err := exec.LookPath("node"); err != nil {
			onnxSkip = "node is not installed, so the exported ONNX file cannot be run in onnxruntime-node"
			return
		}
		bin := map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH]
		binding := filepath.Join(onnxCheckDir, "node_modules/onnxruntime-node/bin/napi-v6", runtime.GOOS, bin, "onnxruntime_binding.node")
		if _, err := os.Stat(binding); err == nil {
			return
		}
		if _, err := exec.LookPath("npm"); err != nil {
			onnxSkip = "npm is not installed, so onnxruntime-node cannot be installed to run the exported ONNX file"
			return
		}
		start := time.Now()
		cmd := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
		cmd.Dir = onnxCheckDir
		out, err := cmd.CombinedOutput()
		if err != nil {
			onnxSetupErr = &exec.Error{Name: "npm ci in tools/onnxcheck: " + strings.TrimSpace(string(out)), Err: err}
			return
		}
		t.Logf("installed onnxruntime-node in tools/onnxcheck in %.1fs", time.Since(start).Seconds())
	})
	if onnxSkip != "" {
		t.Skip(onnxSkip)
	}
	if onnxSetupErr != nil {
		t.Fatal(onnxSetupErr)
	}
	return func(model string, x []float32, shape []int) []float32 {
		t.Helper()
		dir := t.TempDir()
		in, out := filepath.Join(dir, "x.bin"), filepath.Join(dir, "y.bin")
		raw := make([]byte, 4*len(x))
		for i, v := range x {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		if err := os.WriteFile(in, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		dims := make([]string, len(shape))
		for i, d := range shape {
			dims[i] = strconv.Itoa(d)
		}
		abs, _ := filepath.Abs(model)
		cmd := exec.Command("node", "run.js", abs, in, strings.Join(dims, ","), out)
		cmd.Dir = onnxCheckDir
		stdout, err := cmd.Output()
		if err != nil {
			msg := ""
			if ee, ok := err.(*exec.ExitError); ok {
				msg = string(ee.Stderr)
			}
			t.Fatalf("onnxruntime on %s: %v\n%s", model, err, msg)
		}
		var info struct {
			Inputs, Outputs []string
			Shape           []int
		}
		if err := json.Unmarshal(stdout, &info); err != nil {
			t.Fatalf("run.js printed %q: %v", stdout, err)
		}
		if len(info.Inputs) != 1 || info.Inputs[0] != "input" || len(info.Outputs) != 1 || info.Outputs[0] != "logits" {
			t.Errorf("the model's inputs are %v and outputs %v, want [input] and [logits]", info.Inputs, info.Outputs)
		}
		y, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		v := make([]float32, len(y)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(y[4*i:]))
		}
		if len(info.Shape) != 2 || info.Shape[0] != shape[0] || info.Shape[0]*info.Shape[1] != len(v) {
			t.Fatalf("onnxruntime's output has shape %v (%d values) for a batch of %d", info.Shape, len(v), shape[0])
		}
		return v
	}
}

// ourLogits runs our own eval-mode forward pass on a weights file.
func ourLogits(t *testing.T, wpath string, size int, x []float32, n int) []float32 {
	t.Helper()
	f, err := weights.Open(wpath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := resnet.Config{InputSize: size}
	if err := weights.InferConfig(f, &cfg); err != nil {
		t.Fatal(err)
	}
	net, err := resnet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := weights.LoadNet(net, f, weights.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	ws, err := net.NewWorkspace(n, size, size)
	if err != nil {
		t.Fatal(err)
	}
	y, err := ws.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// TestExportONNXMatchesOnnxruntime exports the parity fixtures' networks
// (bottleneck and basic blocks, both heads, batch norms folded or kept) to
// ONNX, runs the files in onnxruntime at two batch sizes (the batch
// dimension is open), and compares the logits with our forward pass.
func TestExportONNXMatchesOnnxruntime(t *testing.T) {
	runONNX := onnxRuntime(t)
	r50, _, _ := splitFixture(t, "parity_resnet50_w8.safetensors")
	r18nb, _, _ := splitFixture(t, "parity_resnet18_w8_notebook.safetensors")
	worst := 0.0
	for _, c := range []struct {
		name, weights string
		size          int
		extra         []string
	}{
		{"resnet18_pth_folded", "../model/weights/testdata/resnet18_w8.pth", 64, nil},
		{"resnet18_pth_batchnorm", "../model/weights/testdata/resnet18_w8_legacy.pth", 96, []string{"--keep-batchnorm"}},
		{"resnet50_folded", r50, 64, nil},
		{"resnet50_batchnorm", r50, 32, []string{"--keep-batchnorm"}},
		{"resnet18_notebook_folded", r18nb, 96, nil},
		{"resnet18_notebook_batchnorm", r18nb, 96, []string{"--keep-batchnorm"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			model := filepath.Join(t.TempDir(), "m.onnx")
			args := append([]string{"export", "--weights", c.weights, "--size", strconv.Itoa(c.size), "--out", model}, c.extra...)
			stdout, stderr, code := run(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, `ONNX opset 13, input "input"`) {
				t.Errorf("stdout %q", stdout)
			}
			for _, n := range []int{3, 1} {
				r := rand.New(rand.NewPCG(uint64(n), 7))
				x := make([]float32, n*3*c.size*c.size)
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				got := runONNX(model, x, []int{n, 3, c.size, c.size})
				want := ourLogits(t, c.weights, c.size, x, n)
				if len(got) != len(want) {
					t.Fatalf("batch %d: onnxruntime gives %d logits, we give %d", n, len(got), len(want))
				}
				e := maxRel(got, want)
				worst = math.Max(worst, e)
				if e > 1e-4 || math.IsNaN(e) {
					t.Errorf("batch %d: onnxruntime's logits differ from ours by %.3g (relative)", n, e)
				}
				t.Logf("batch %d: relative difference from our logits %.2g", n, e)
			}
		})
	}
	t.Logf("worst relative difference between onnxruntime and our forward pass: %.2g", worst)
}

// TestExportSafetensors converts a PyTorch .pth to safetensors and checks
// that the file loads to the same network, with its description in the
// metadata.
func TestExportSafetensors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "w.safetensors")
	stdout, stderr, code := run(t, "export", "--weights", "../model/weights/testdata/resnet18_w8.pth", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "resnet18 at 1/8 width (177,167 parameters, 7 classes, standard head): 122 tensors") {
		t.Errorf("stdout %q", stdout)
	}
	a, _ := weights.Open("../model/weights/testdata/resnet18_w8.pth")
	b, err := weights.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if b.Metadata["arch"] != "resnet18" || b.Metadata["source"] != "resnet18_w8.pth" || b.Metadata["input_size"] != "224" {
		t.Errorf("metadata %v", b.Metadata)
	}
	an, bn := a.Names(), b.Names()
	if strings.Join(an, ",") != strings.Join(bn, ",") {
		t.Fatalf("tensors %v, want %v", bn, an)
	}
	for _, name := range an {
		dt, _, _ := a.Shape(name)
		if dt == "I64" {
			x, _, _ := a.Int64(name)
			y, _, _ := b.Int64(name)
			if x[0] != y[0] {
				t.Errorf("%s: %v, want %v", name, y, x)
			}
			continue
		}
		x, _, _ := a.Float32(name)
		y, _, _ := b.Float32(name)
		if maxRel(y, x) != 0 {
			t.Errorf("%s changed on the way", name)
		}
	}

	// The notebook head's input size travels in the metadata.
	w, _, _ := splitFixture(t, "parity_resnet18_w8_notebook.safetensors")
	out2 := filepath.Join(t.TempDir(), "nb.safetensors")
	if _, stderr, code := run(t, "export", "--weights", w, "--size", "96", "--out", out2); code != 0 {
		t.Fatal(stderr)
	}
	if stdout, stderr, code := run(t, "summary", "--weights", out2); code != 0 || !strings.Contains(stdout, "input (None, 3, 96, 96)") {
		t.Errorf("summary of the exported notebook-head weights: exit %d %s\n%s", code, stderr, stdout)
	}
}

func TestExportBadInput(t *testing.T) {
	dir := t.TempDir()
	pth := "../model/weights/testdata/resnet18_w8.pth"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--weights", pth}, "--out and one of --weights or --checkpoint are required"},
		{[]string{"--out", filepath.Join(dir, "a.onnx")}, "--out and one of --weights or --checkpoint are required"},
		{[]string{"--weights", pth, "--checkpoint", "c", "--out", filepath.Join(dir, "a.onnx")}, "one of --weights or --checkpoint"},
		{[]string{"--checkpoint", "c.ckpt", "--out", filepath.Join(dir, "a.onnx")}, "c.ckpt"},
		{[]string{"--weights", pth, "--out", filepath.Join(dir, "a.bin")}, `format "bin": want safetensors or onnx`},
		{[]string{"--weights", pth, "--format", "tflite", "--out", filepath.Join(dir, "a.onnx")}, `format "tflite"`},
		{[]string{"--weights", "../model/weights/testdata/odd.pth", "--out", filepath.Join(dir, "a.onnx")}, "no tensor named like a ResNet's"},
		{[]string{"--arch", "resnet18", "--weights", "../model/weights/testdata/odd.pth", "--out", filepath.Join(dir, "a.onnx")}, "no fc.weight"},
		{[]string{"--weights", pth, "--size", "100", "--out", filepath.Join(dir, "a.onnx")}, "multiples of 32"},
		{[]string{"--weights", pth, "--classes", "10", "--out", filepath.Join(dir, "a.onnx")}, "10 classes asked for"},
	} {
		_, stderr, code := run(t, append([]string{"export"}, c.args...)...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", c.args, code, stderr, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a.onnx")); err == nil {
		t.Error("a failed export left a file")
	}
}
