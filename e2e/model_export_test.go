//go:build !js

package e2e

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/protobuf/proto"

	"github.com/goresnet/goresnet/internal/onnxpb"
	"github.com/goresnet/goresnet/model/data/datatest"
	"github.com/goresnet/goresnet/model/onnx"
	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/train"
	"github.com/goresnet/goresnet/model/weights"
)

// TestBrowserModelExport: on the Model page, a weights file with a
// wrongly shaped tensor is refused naming the tensor, and a good one
// (ImageNet's 1000 classes) is accepted with fc replaced and sets the
// architecture; the summary's totals are the native network's (ResNet-50
// with 1000 classes: 25,557,032) and the graph has a box per layer. The
// Train page trains that choice from those weights; on the Export page
// the checkpoint downloads as safetensors (the checkpoint's weights
// exactly) and ONNX (what model/onnx writes for it, run in onnxruntime
// when tools/onnxcheck is installed), and the run's history as CSV.
func TestBrowserModelExport(t *testing.T) {
	t0 := time.Now()
	digits := datatest.Digits(t, 192, 64, 32)
	h := newTrainHarness(t, digits)
	b := h.browser

	// The weights files, written with the project's own code: a 1/16-width
	// ResNet-18 for 1000 classes, and the same with one tensor misshapen.
	src, err := resnet.New(resnet.Config{Arch: "resnet18", Classes: 1000, WidthDiv: 16, InputSize: 32, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "imagenet-r18.safetensors"), filepath.Join(dir, "broken.safetensors")
	if err := weights.WriteFile(good, weights.NetTensors(src), weights.NetMetadata(src)); err != nil {
		t.Fatal(err)
	}
	ts := weights.NetTensors(src)
	for i := range ts {
		if ts[i].Name == "layer3.1.conv1.weight" {
			ts[i].Shape = []int{ts[i].Shape[0], ts[i].Shape[1], 1, 9}
		}
	}
	if err := weights.WriteFile(bad, ts, weights.NetMetadata(src)); err != nil {
		t.Fatal(err)
	}

	b.do(chromedp.Navigate(h.base + "/model"))
	b.waitFor("the model page", pageReady("/model"), 60*time.Second)
	b.waitFor("the workers", workersReady, 90*time.Second)
	totals := func() [3]int {
		return eval[[3]int](b, `(() => { const d = document.querySelector("#gr-model-totals").dataset; return [+d.total, +d.trainable, +d.nonTrainable]; })()`)
	}
	// The default: a 1/8-width ResNet-18 for the digits' 10 classes at 32.
	b.waitFor("the summary", `!!document.querySelector("#gr-model-totals") && !document.querySelector("#gr-model-pending")`, 60*time.Second)
	want := nativeParams(t, resnet.Config{Arch: "resnet18", Classes: 10, WidthDiv: 8, InputSize: 32})
	if got := totals(); got != [3]int{want, want, 0} {
		t.Errorf("resnet18 1/8 totals %v, want %d", got, want)
	}
	t.Logf("the model page's first summary after %v", time.Since(t0).Round(time.Millisecond))

	// The bad file: refused, naming the tensor and both shapes.
	b.do(chromedp.SetUploadFiles("#gr-m-weights", []string{bad}, chromedp.NodeReady))
	b.waitFor("the bad file's verdict", `document.querySelector("#gr-model-weights")?.dataset.state === "error"`, 60*time.Second)
	msg := eval[string](b, `document.querySelector("#gr-model-weights-error").textContent`)
	if !strings.Contains(msg, `tensor "layer3.1.conv1.weight" has shape [16 16 1 9] in the file, the network needs [16 16 3 3]`) || !strings.Contains(msg, "broken.safetensors") {
		t.Errorf("the bad file's message: %q", msg)
	}
	b.screenshot("model-weights-error")

	// The good file: the architecture and width come from it, fc is
	// replaced for the digits' 10 classes.
	b.do(chromedp.SetUploadFiles("#gr-m-weights", []string{good}, chromedp.NodeReady))
	b.waitFor("the good file's verdict", `document.querySelector("#gr-model-weights")?.dataset.state === "ok"`, 60*time.Second)
	ok := eval[string](b, `document.querySelector("#gr-model-weights").textContent`)
	if !strings.Contains(ok, "imagenet-r18.safetensors fits: 122 tensors of resnet18 at width 1/16 with 1000 classes") ||
		!strings.Contains(ok, "fc is replaced by a new 10-class layer (the file's has 1000)") {
		t.Errorf("the good file's verdict: %q", ok)
	}
	b.waitFor("the file's width", `document.querySelector("#gr-m-width").value === "16" && document.querySelector("#gr-m-arch").value === "resnet18"`, 10*time.Second)
	want = nativeParams(t, resnet.Config{Arch: "resnet18", Classes: 10, WidthDiv: 16, InputSize: 32})
	if got := totals(); got != [3]int{want, want, 0} {
		t.Errorf("resnet18 1/16 totals %v, want %d", got, want)
	}
	layers := eval[int](b, `document.querySelectorAll("#gr-model-layers tbody tr").length`)
	boxes := eval[int](b, `document.querySelectorAll("#gr-model-graph svg .gr-node").length`)
	r18, err := resnet.New(resnet.Config{Arch: "resnet18", Classes: 10, WidthDiv: 16, InputSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	native, err := r18.Layers(0, 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	if layers != len(native) || boxes != layers {
		t.Errorf("%d layers in the table, %d boxes in the graph (resnet18 has %d)", layers, boxes, len(native))
	}
	b.screenshot("model-weights")

	// The Train page trains that choice, from those weights.
	b.do(chromedp.Click("#gr-nav-train", chromedp.NodeVisible))
	b.waitFor("the train page", pageReady("/train")+` && !document.querySelector("#gr-train-start").disabled`, 30*time.Second)
	form := eval[[]string](b, `["arch", "width"].map((f) => document.querySelector("#gr-f-" + f).value)`)
	if !slices.Equal(form, []string{"resnet18", "16"}) || !strings.Contains(eval[string](b, `document.querySelector("#gr-train-form").textContent`), "picked: imagenet-r18.safetensors") {
		t.Errorf("the train form shows %v, without the picked weights", form)
	}
	h.setField("epochs", "2")
	h.setField("batch", "16")
	h.setField("lr", "0.05")
	h.setField("val", "test")
	b.do(chromedp.Click("#gr-train-start", chromedp.NodeVisible))
	b.waitFor("the end of training", `document.querySelector("#gr-train-phase").dataset.phase === "done"`, 240*time.Second)
	if info := eval[string](b, `document.querySelector("#gr-train-status").textContent`); !strings.Contains(info, "imagenet-r18.safetensors has 1000 classes: fc is replaced by a new 10-class layer") {
		t.Errorf("training did not start from the weights: %q", info)
	}
	t.Logf("trained after %v", time.Since(t0).Round(time.Millisecond))

	// The checkpoint itself, downloaded from the Train page, to compare.
	ckID := eval[string](b, `document.querySelector("#gr-checkpoints tr[data-kind=epoch]").dataset.id`)
	ckName := eval[string](b, `document.querySelector("#gr-checkpoints tr[data-kind=epoch] td").textContent`)
	ckPath := filepath.Join(h.downloads, ckName)
	h.download(`#gr-checkpoints tr[data-id="`+ckID+`"] .gr-download`, ckPath, func(p string) error { _, err := train.OpenCheckpoint(p); return err })
	ck, err := train.OpenCheckpoint(ckPath)
	if err != nil {
		t.Fatal(err)
	}
	net, err := ck.Net()
	if err != nil {
		t.Fatal(err)
	}

	// The Export page.
	b.do(chromedp.Click("#gr-nav-export", chromedp.NodeVisible))
	b.waitFor("the export page", pageReady("/export")+` && !!document.querySelector("#gr-export-checkpoints") && !!document.querySelector("#gr-export-runs")`, 30*time.Second)
	base := strings.TrimSuffix(ckName, ".safetensors")
	row := `#gr-export-checkpoints tr[data-id="` + ckID + `"] `

	stPath := filepath.Join(h.downloads, base+"-weights.safetensors")
	h.download(row+".gr-export-safetensors", stPath, func(p string) error { _, err := weights.Open(p); return err })
	wf, err := weights.Open(stPath)
	if err != nil {
		t.Fatal(err)
	}
	back, err := resnet.New(net.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := weights.LoadNet(back, wf, weights.LoadOptions{}); err != nil {
		t.Fatalf("the exported safetensors does not load: %v", err)
	}
	if !slices.Equal(back.ParamData, net.ParamData) || !slices.Equal(back.BufferData, net.BufferData) || len(wf.Names()) != len(net.State()) {
		t.Errorf("the exported weights (%d tensors) differ from the checkpoint's (%d)", len(wf.Names()), len(net.State()))
	}
	if wf.Metadata["arch"] != "resnet18" || wf.Metadata["classes"] != "10" || !strings.Contains(wf.Metadata["class_names"], `"0"`) {
		t.Errorf("safetensors metadata %v", wf.Metadata)
	}
	b.waitFor("the export's notice", `document.querySelector("#gr-export-notice")?.dataset.state === "done"`, 30*time.Second)
	if n := eval[string](b, `document.querySelector("#gr-export-notice").textContent`); !strings.Contains(n, "Downloaded "+base+"-weights.safetensors") {
		t.Errorf("notice %q", n)
	}

	onnxPath := filepath.Join(h.downloads, base+".onnx")
	h.download(row+".gr-export-onnx", onnxPath, func(p string) error {
		b, err := os.ReadFile(p)
		if err == nil {
			err = proto.Unmarshal(b, &onnxpb.ModelProto{})
		}
		return err
	})
	ob, err := os.ReadFile(onnxPath)
	if err != nil {
		t.Fatal(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(ob, &m); err != nil {
		t.Fatal(err)
	}
	in, out := m.Graph.Input, m.Graph.Output
	dims := func(v *onnxpb.ValueInfoProto) string {
		var s []string
		for _, d := range v.Type.GetTensorType().Shape.Dim {
			if p := d.GetDimParam(); p != "" {
				s = append(s, p)
			} else {
				s = append(s, fmt.Sprint(d.GetDimValue()))
			}
		}
		return v.Name + "[" + strings.Join(s, " ") + "]"
	}
	if len(in) != 1 || len(out) != 1 || dims(in[0]) != "input[batch 3 32 32]" || dims(out[0]) != "logits[batch 10]" || m.OpsetImport[0].Version != onnx.Opset {
		t.Errorf("onnx inputs %v outputs %v", in, out)
	}
	wantONNX, err := onnx.Export(net, onnx.Options{Size: 32, DocString: fmt.Sprintf("resnet18 from %s, exported by goresnet in the browser", ckID)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ob, wantONNX) {
		t.Errorf("the browser's ONNX (%d bytes) differs from model/onnx's for the checkpoint (%d bytes)", len(ob), len(wantONNX))
	}
	compareOnnxruntime(t, onnxPath, net)

	runID := eval[string](b, `document.querySelector("#gr-export-runs tbody tr").dataset.id`)
	csvPath := filepath.Join(h.downloads, "history-"+strings.ReplaceAll(runID, ".", "-")+".csv")
	h.download(`#gr-export-runs tr[data-id="`+runID+`"] .gr-export-csv`, csvPath, func(p string) error {
		b, err := os.ReadFile(p)
		if err == nil && !bytes.HasSuffix(b, []byte("\n")) {
			err = fmt.Errorf("incomplete")
		}
		return err
	})
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || strings.Join(rows[0], ",") != "epoch,loss,accuracy,val_loss,val_accuracy,val_top5,lr,seconds,images" || rows[1][0] != "1" || rows[2][0] != "2" || rows[2][3] == "" {
		t.Errorf("history CSV %v", rows)
	}
	// The checkpoint downloaded above may be epoch 1's or epoch 2's (the
	// table's first row): its history ends at its own epoch, the CSV
	// holds the run's, so they are compared at the checkpoint's last epoch.
	if n := len(ck.Meta.History.Epochs); len(rows) == 3 && n >= 1 && n <= 2 {
		last := ck.Meta.History.Epochs[n-1].Loss
		if v, err := strconv.ParseFloat(rows[n][1], 64); err != nil || math.Abs(v-last) > 1e-6*math.Abs(last) {
			t.Errorf("the CSV's loss of epoch %d is %s, the checkpoint's %v", n, rows[n][1], last)
		}
	} else if len(rows) == 3 {
		t.Errorf("the checkpoint's history has %d epochs", n)
	}
	b.screenshot("export-downloads")

	// ResNet-50 for ImageNet: torchvision's count.
	b.do(chromedp.Click("#gr-nav-model", chromedp.NodeVisible))
	b.waitFor("the model page again", pageReady("/model")+` && !!document.querySelector("#gr-m-weights-clear")`, 30*time.Second)
	b.do(chromedp.Click("#gr-m-weights-clear", chromedp.NodeVisible))
	for _, f := range [][2]string{{"arch", "resnet50"}, {"width", "1"}, {"size", "224"}, {"classes", "1000"}} {
		js := fmt.Sprintf(`(() => { const e = document.getElementById("gr-m-%s"); e.value = %q; e.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`, f[0], f[1])
		eval[bool](b, js)
	}
	b.waitFor("the ResNet-50 summary", `document.querySelector("#gr-model-totals")?.dataset.total === "25557032" && !document.querySelector("#gr-model-pending")`, 120*time.Second)
	if n := eval[int](b, `document.querySelectorAll("#gr-model-graph svg .gr-node").length`); n != 176 {
		t.Errorf("the ResNet-50 graph has %d boxes, want 176", n)
	}
	b.screenshot("model-resnet50")

	// The choice is remembered across a reload (the weights file is not:
	// a File cannot be kept).
	b.do(chromedp.Reload())
	b.waitFor("the model page after a reload", pageReady("/model")+` && document.querySelector("#gr-model-totals")?.dataset.total === "25557032"`, 120*time.Second)
	after := eval[[]string](b, `["arch", "width", "size", "classes"].map((f) => document.querySelector("#gr-m-" + f).value)`)
	if !slices.Equal(after, []string{"resnet50", "1", "224", "1000"}) {
		t.Errorf("after a reload the model page shows %v", after)
	}
	t.Logf("TestBrowserModelExport took %v", time.Since(t0).Round(time.Millisecond))
}

func nativeParams(t *testing.T, cfg resnet.Config) int {
	t.Helper()
	n, err := resnet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	total, _, _ := n.NumParams()
	return total
}

// download clicks sel (again every 10 s) until path exists and check
// accepts it.
func (h *trainHarness) download(sel, path string, check func(string) error) {
	h.t.Helper()
	clicked := time.Time{}
	var last error
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Since(clicked) > 10*time.Second {
			h.browser.do(chromedp.Click(sel, chromedp.NodeVisible))
			clicked = time.Now()
		}
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			if last = check(path); last == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			ents, _ := os.ReadDir(h.downloads)
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			h.t.Fatalf("no download %s after clicking %s (the folder has %v; last check: %v; notice %q)", filepath.Base(path), sel, names, last,
				eval[string](h.browser, `document.querySelector("#gr-export-notice, #gr-train-notice")?.textContent || ""`))
		}
	}
}

// compareOnnxruntime runs the exported file in onnxruntime-node
// (tools/onnxcheck, when its node_modules are installed: the CLI's export
// test installs them) and compares the logits with our forward pass.
func compareOnnxruntime(t *testing.T, model string, net *resnet.Net) {
	t.Helper()
	tool, err := filepath.Abs("../tools/onnxcheck")
	if err != nil {
		t.Fatal(err)
	}
	bin := map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH]
	binding := filepath.Join(tool, "node_modules/onnxruntime-node/bin/napi-v6", runtime.GOOS, bin, "onnxruntime_binding.node")
	if _, err := exec.LookPath("node"); err != nil {
		t.Logf("onnxruntime comparison skipped: no node")
		return
	}
	if _, err := os.Stat(binding); err != nil {
		t.Logf("onnxruntime comparison skipped: tools/onnxcheck has no onnxruntime-node (go test ./cli -run ONNX installs it)")
		return
	}
	const n, s = 2, 32
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, n*3*s*s)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	tmp := t.TempDir()
	inPath, outPath := filepath.Join(tmp, "x.bin"), filepath.Join(tmp, "y.bin")
	raw := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(inPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "run.js", model, inPath, fmt.Sprintf("%d,3,%d,%d", n, s, s), outPath)
	cmd.Dir = tool
	stdout, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("onnxruntime: %v\n%s%s", err, stdout, stderr)
	}
	var info struct {
		Inputs  []string `json:"inputs"`
		Outputs []string `json:"outputs"`
		Shape   []int    `json:"shape"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout), &info); err != nil {
		t.Fatalf("run.js printed %q: %v", stdout, err)
	}
	if !slices.Equal(info.Inputs, []string{"input"}) || !slices.Equal(info.Outputs, []string{"logits"}) || !slices.Equal(info.Shape, []int{n, net.Config.Classes}) {
		t.Errorf("onnxruntime sees inputs %v, outputs %v, output shape %v", info.Inputs, info.Outputs, info.Shape)
	}
	yb, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := net.NewWorkspace(n, s, s)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ws.Forward(x, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(yb) != 4*len(want) {
		t.Fatalf("onnxruntime gave %d floats, we %d", len(yb)/4, len(want))
	}
	var maxDiff, maxAbs float64
	for i, w := range want {
		g := math.Float32frombits(binary.LittleEndian.Uint32(yb[4*i:]))
		maxDiff = max(maxDiff, math.Abs(float64(g-w)))
		maxAbs = max(maxAbs, math.Abs(float64(w)))
	}
	t.Logf("onnxruntime vs our forward pass on the exported checkpoint: max |diff| %.3g (max |logit| %.3g); %s", maxDiff, maxAbs, strings.TrimSpace(string(stdout)))
	if !(maxDiff <= 1e-4*max(1, maxAbs)) {
		t.Errorf("onnxruntime's logits differ from ours by %.3g (max |logit| %.3g)", maxDiff, maxAbs)
	}
}
