package app

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/worker/msg"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// fakeModels answers as a worker would, and records the requests.
type fakeModels struct {
	mu       sync.Mutex
	requests []msg.ModelDescribeRequest
	weights  []any
	answer   func(req msg.ModelDescribeRequest) (*msg.ModelDescription, error)
	exports  []msg.CheckpointExportRequest
}

func (f *fakeModels) Describe(ctx context.Context, req msg.ModelDescribeRequest, weights any) (*msg.ModelDescription, error) {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.weights = append(f.weights, weights)
	f.mu.Unlock()
	return f.answer(req)
}

func (f *fakeModels) Export(ctx context.Context, req msg.CheckpointExportRequest) (*msg.ExportResult, error) {
	f.mu.Lock()
	f.exports = append(f.exports, req)
	f.mu.Unlock()
	if req.Format == "onnx" {
		return nil, errors.New("checkpoint r1/epoch-001: not found")
	}
	return &msg.ExportResult{Name: "r1-checkpoint_01.safetensors", Format: req.Format, Bytes: 2 << 20, Summary: "resnet18, 10 classes: 122 tensors"}, nil
}

// resnet50 is what the worker answers for ResNet-50 (cut short).
func resnet50(req msg.ModelDescribeRequest) (*msg.ModelDescription, error) {
	d := &msg.ModelDescription{Arch: req.Arch, WidthDiv: req.WidthDiv, Head: req.Head, Classes: req.Classes, Size: req.Size,
		Total: 25557032, Trainable: 25557032, Buffers: 53120, MACs: 4089184256, Graph: `<svg class="gr-netgraph"><g class="gr-node" data-name="conv1"></g></svg>`,
		Layers: []msg.LayerRow{{Name: "input", Kind: "Input", Shape: []int{-1, 3, 224, 224}},
			{Name: "conv1", Kind: "Conv2d", Shape: []int{-1, 64, 112, 112}, Params: 9408, Trainable: 9408, Inputs: []int{0}}}}
	if req.HeadOnly {
		d.Trainable, d.NonTrainable = 2049000, 25557032-2049000
		d.Layers[1].Trainable = 0
	}
	if req.FromWeights {
		d.Arch, d.WidthDiv = "resnet50", 1
	}
	if req.Weights != "" {
		d.Weights = &msg.WeightsReport{Name: req.Weights, Tensors: 320, Arch: "resnet50", Classes: 1000, WidthDiv: 1, Replaced: 1000}
		if strings.HasPrefix(req.Weights, "bad") {
			d.Weights = &msg.WeightsReport{Name: req.Weights, Err: `bad.safetensors does not fit resnet50 with 10 classes (width divisor 1, standard head):
  tensor "layer2.0.conv2.weight" has shape [128 64 3 6] in the file, the network needs [128 128 3 3]`}
		}
	}
	return d, nil
}

// mustSelect checks that the select with that id has exactly the option
// of that value selected (go-app writes attributes in any order).
func mustSelect(t *testing.T, html, id, value string) {
	t.Helper()
	i := strings.Index(html, `id="`+id+`"`)
	if i < 0 {
		t.Errorf("no select %s", id)
		return
	}
	block := html[i:]
	block = block[:strings.Index(block, "</select>")]
	var sel []string
	for _, tag := range regexp.MustCompile(`<option[^>]*>`).FindAllString(block, -1) {
		if regexp.MustCompile(`\sselected(\s|>|="true")`).MatchString(tag) {
			sel = append(sel, regexp.MustCompile(`value="([^"]*)"`).FindStringSubmatch(tag)[1])
		}
	}
	if len(sel) != 1 || sel[0] != value {
		t.Errorf("select %s has %v selected, want %s", id, sel, value)
	}
}

func mountModelPage(t *testing.T, f *fakeModels) (*ModelPage, app.TestEngine) {
	t.Helper()
	resetModel()
	t.Cleanup(resetModel)
	SetModels(f)
	t.Cleanup(func() { SetModels(nil) })
	p := &ModelPage{}
	e := app.NewTestEngine()
	if err := e.Load(p); err != nil {
		t.Fatal(err)
	}
	e.ConsumeAll()
	p.dataset, p.manifest = "digits", &data.Manifest{Name: "digits", Classes: make([]data.Class, 10), Image: data.Image{Height: 32, Width: 32, Channels: 3}}
	return p, e
}

// TestModelPageDescribes: the page asks the workers for the network the
// choice describes (the dataset's classes and size by default) and shows
// the summary's totals, the layers and the graph.
func TestModelPageDescribes(t *testing.T) {
	f := &fakeModels{answer: resnet50}
	p, e := mountModelPage(t, f)
	updateModel(p.pageCtx, func(m *ModelChoice) { m.Arch, m.WidthDiv, m.Size, m.Classes = "resnet50", 1, 224, 1000 })
	p.describe(p.pageCtx, false)
	e.ConsumeAll()
	if len(f.requests) != 1 {
		t.Fatalf("%d requests", len(f.requests))
	}
	if r := f.requests[0]; r.Arch != "resnet50" || r.WidthDiv != 1 || r.Classes != 1000 || r.Size != 224 || !r.Graph || r.HeadOnly || r.FromWeights {
		t.Errorf("request %+v", r)
	}
	html := render(t, p)
	mustContain(t, html, `id="gr-model-totals"`, `data-total="25557032"`, `data-trainable="25557032"`, `data-non-trainable="0"`,
		"25,557,032 (102.2 MB)", "4.09 GMAC (8.18 GFLOP) at 224×224", `data-name="conv1"`, "conv1 (Conv2d)", "(None, 64, 112, 112)", "9,408",
		`id="gr-model-graph"`, `class="gr-netgraph"`, `data-state="none"`)
	mustSelect(t, html, "gr-m-arch", "resnet50")
	if strings.Contains(html, "Trainable</th>") {
		t.Error("a Trainable column without frozen layers")
	}

	// Head only: the non-trainable parameters and the Trainable column.
	p.change(p.pageCtx, func(m *ModelChoice) { m.Freeze = "head" })
	e.ConsumeAll()
	if r := f.requests[len(f.requests)-1]; !r.HeadOnly || r.Freeze != "" {
		t.Errorf("head only: %+v", r)
	}
	mustContain(t, render(t, p), `data-non-trainable="23508032"`, "Trainable</th>", "<td>N</td>")

	// Defaults: the dataset's classes and size.
	resetModel()
	p.describe(p.pageCtx, false)
	e.ConsumeAll()
	if r := f.requests[len(f.requests)-1]; r.Arch != "resnet18" || r.WidthDiv != 8 || r.Classes != 10 || r.Size != 32 {
		t.Errorf("defaults: %+v", r)
	}
}

// TestModelPageWeights: a picked file is sent with the architecture taken
// from it; the verdict shows (fc replaced, or the tensor at fault), and
// the choice the Train page trains follows.
func TestModelPageWeights(t *testing.T) {
	f := &fakeModels{answer: resnet50}
	p, e := mountModelPage(t, f)
	file := struct{ name string }{"imagenet"}
	updateModel(p.pageCtx, func(m *ModelChoice) { m.Weights, m.WeightsName = file, "resnet50-imagenet.safetensors" })
	p.describe(p.pageCtx, true)
	e.ConsumeAll()
	if r := f.requests[0]; !r.FromWeights || r.Weights != "resnet50-imagenet.safetensors" || f.weights[0] != file {
		t.Errorf("request %+v with %v", r, f.weights[0])
	}
	mustContain(t, render(t, p), `data-state="ok"`, "resnet50-imagenet.safetensors fits: 320 tensors of resnet50 with 1000 classes",
		"fc is replaced by a new 10-class layer (the file&#39;s has 1000)", `id="gr-m-weights-clear"`)
	if m := currentModel(); m.Arch != "resnet50" || m.WidthDiv != 1 || m.WeightsErr != "" {
		t.Errorf("the choice after the file: %+v", m)
	}
	tp := &TrainPage{}
	tp.OnInit()
	if s := tp.settings(); s.Arch != "resnet50" || s.WidthDiv != 1 || s.Weights != "resnet50-imagenet.safetensors" {
		t.Errorf("the Train page would train %s 1/%d from %q", s.Arch, s.WidthDiv, s.Weights)
	}
	html := render(t, tp)
	mustContain(t, html, "picked: resnet50-imagenet.safetensors")
	mustSelect(t, html, "gr-f-arch", "resnet50")

	updateModel(p.pageCtx, func(m *ModelChoice) { m.WeightsName = "bad.safetensors" })
	p.describe(p.pageCtx, true)
	e.ConsumeAll()
	html = render(t, p)
	mustContain(t, html, `data-state="error"`, `id="gr-model-weights-error"`, "bad.safetensors cannot be used with this network",
		`tensor &#34;layer2.0.conv2.weight&#34; has shape [128 64 3 6] in the file`)
	if m := currentModel(); !strings.Contains(m.WeightsErr, "layer2.0.conv2.weight") {
		t.Errorf("the choice does not know the file is bad: %+v", m)
	}
}

// TestModelChoiceShared: the Train form edits the same choice.
func TestModelChoiceShared(t *testing.T) {
	resetModel()
	defer resetModel()
	tp := &TrainPage{}
	tp.OnInit()
	updateModel(app.Context{}, func(m *ModelChoice) {
		m.Arch, m.WidthDiv, m.Head, m.Size, m.Freeze, m.FreezeUpTo = "resnet34", 2, "notebook", 64, "up-to", "layer3"
	})
	s := tp.settings()
	if s.Arch != "resnet34" || s.WidthDiv != 2 || s.Head != "notebook" || s.Size != 64 || s.Freeze != "conv1,layer1,layer2,layer3" || s.HeadOnly {
		t.Errorf("settings %+v", s)
	}
	html := render(t, tp)
	mustContain(t, html, `href="/model"`)
	mustSelect(t, html, "gr-f-arch", "resnet34")
	mustSelect(t, html, "gr-f-head", "notebook")
	mustSelect(t, html, "gr-f-freeze-up-to", "layer3")
	mp := &ModelPage{}
	html = render(t, mp)
	mustContain(t, html, `id="gr-m-size"`, `value="64"`, `id="gr-m-weights"`)
	mustSelect(t, html, "gr-m-arch", "resnet34")
	mustSelect(t, html, "gr-m-width", "2")
	mustSelect(t, html, "gr-m-freeze-up-to", "layer3")
}
