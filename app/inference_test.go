package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goresnet/goresnet/model/runspec"
	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/goresnet/goresnet/worker/msg"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// fakeInference is the workers for the Evaluate and Predict pages: it
// records the requests and answers with what the test gives.
type fakeInference struct {
	fakeTraining
	busy     string
	evals    []msg.EvaluateRequest
	evalRes  *msg.EvaluateResult
	preds    []msg.PredictRequest
	pictures []any
	predRes  *msg.PredictResult
	err      error
}

func (f *fakeInference) Evaluate(ctx context.Context, req msg.EvaluateRequest) (*msg.EvaluateResult, error) {
	f.evals = append(f.evals, req)
	return f.evalRes, f.err
}
func (f *fakeInference) Predict(ctx context.Context, image any, req msg.PredictRequest) (*msg.PredictResult, error) {
	f.preds = append(f.preds, req)
	f.pictures = append(f.pictures, image)
	return f.predRes, f.err
}
func (f *fakeInference) InferenceBusy() string { return f.busy }

// inferenceStore holds checkpoints and the current model.
type inferenceStore struct {
	cks     []storage.Checkpoint
	current string
}

func (s *inferenceStore) Runs(ctx context.Context) ([]storage.Run, error) { return nil, nil }
func (s *inferenceStore) Run(ctx context.Context, id string) (*storage.Run, error) {
	return nil, storage.ErrNotFound
}
func (s *inferenceStore) PutRun(ctx context.Context, r *storage.Run) error { return nil }
func (s *inferenceStore) DeleteRun(ctx context.Context, id string) error   { return nil }
func (s *inferenceStore) Checkpoint(ctx context.Context, id string) (*storage.Checkpoint, error) {
	return nil, storage.ErrNotFound
}
func (s *inferenceStore) Checkpoints(ctx context.Context, run string) ([]storage.Checkpoint, error) {
	return s.cks, nil
}
func (s *inferenceStore) Current(ctx context.Context) (*storage.Checkpoint, error) {
	for i := range s.cks {
		if s.cks[i].ID == s.current {
			return &s.cks[i], nil
		}
	}
	return nil, storage.ErrNotFound
}

func testModels() *inferenceStore {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	return &inferenceStore{current: "r1/epoch-002", cks: []storage.Checkpoint{
		{ID: "r1/epoch-003", Run: "r1", Name: "r1-checkpoint_03.safetensors", Kind: storage.KindEpoch, Epoch: 3, Created: t0.Add(2 * time.Minute), Arch: "resnet18", Classes: 3, Size: 32},
		{ID: "r1/epoch-002", Run: "r1", Name: "r1-checkpoint_02.safetensors", Kind: storage.KindEpoch, Epoch: 2, Best: true, Created: t0.Add(time.Minute), Arch: "resnet18", Classes: 3, Size: 32,
			Metrics: &runspec.EpochStats{HasVal: true, ValAccuracy: 0.875}},
		{ID: "import/x/cli.safetensors", Name: "cli.safetensors", Kind: storage.KindImport, Created: t0, Arch: "resnet18", Classes: 3, Size: 32},
	}}
}

// syncContext runs a page's waiting work at once, in order.
type syncContext struct{}

func (syncContext) Async(fn func())               { fn() }
func (syncContext) Dispatch(fn func(app.Context)) { fn(app.Context{}) }

// startTag is the start tag of the element with that id (go-app writes
// attributes in no fixed order).
func startTag(html, id string) string {
	i := strings.Index(html, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	s := strings.LastIndex(html[:i], "<")
	e := strings.Index(html[i:], ">")
	return html[s : i+e+1]
}

// disabled reports whether a start tag disables its element (go-app
// writes a false boolean attribute as ="false").
func disabled(tag string) bool {
	return strings.Contains(tag, " disabled") && !strings.Contains(tag, `disabled="false"`)
}

func installFakes(t *testing.T, inf *fakeInference, st *inferenceStore) {
	SetTraining(inf)
	SetStore(st, nil)
	t.Cleanup(func() { SetTraining(nil); SetStore(nil, nil) })
}

// mount loads a page in go-app's test engine.
func mount(t *testing.T, c app.Composer) app.TestEngine {
	t.Helper()
	e := app.NewTestEngine()
	if err := e.Load(c); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestEvaluatePage: the page offers the stored checkpoints (the current
// model first chosen) and the server's datasets and splits (test chosen),
// asks a worker to evaluate, and draws the result: the summary, each
// class's accuracy and the confusion matrix with class names on both
// axes.
func TestEvaluatePage(t *testing.T) {
	inf := &fakeInference{evalRes: &msg.EvaluateResult{Loss: 0.3125, Top1: 0.75, Top5: 1, N: 8, Classes: []string{"cat", "dog", "owl"},
		PerClass: []float64{1, 0.5, -1}, Confusion: [][]int{{4, 0, 0}, {2, 2, 0}, {0, 0, 0}}, Seconds: 1.5}}
	st := testModels()
	installFakes(t, inf, st)
	p := &EvaluatePage{}
	p.setModels(loadModels(context.Background()))
	p.setIndex(&DatasetIndex{Datasets: []DatasetSummary{
		{Name: "pets", Classes: 3, Splits: []SplitSummary{{"train", 40}, {"validation", 8}, {"test", 8}}},
		{Name: "digits", Classes: 10, Splits: []SplitSummary{{"train", 300}}},
	}}, nil)
	if p.checkpoint != "r1/epoch-002" || p.dataset != "pets" || p.split != "test" {
		t.Fatalf("chose %q on %s/%s, want the current model on pets/test", p.checkpoint, p.dataset, p.split)
	}
	html := render(t, p)
	mustContain(t, html, `id="gr-eval-checkpoint"`, "resnet18 32x32, 3 classes · val. acc. 87.5% (current model, best)",
		"(imported)", "test (8 examples)</option>", "digits (10 classes)")
	if disabled(startTag(html, "gr-eval-run")) {
		t.Errorf("Evaluate is disabled: %q %s", p.problem(), startTag(html, "gr-eval-run"))
	}

	p.run(syncContext{})
	if len(inf.evals) != 1 || inf.evals[0] != (msg.EvaluateRequest{Dataset: "pets", Split: "test", Checkpoint: "r1/epoch-002", Batch: 32}) {
		t.Fatalf("requests %+v", inf.evals)
	}
	html = render(t, p)
	mustContain(t, html, `id="gr-eval-result"`, `data-loss="0.3125"`, `data-top1="0.75"`, `data-top5="1"`, `data-n="8"`,
		"r1-checkpoint_02.safetensors on pets / test", "75.00%", "0.3125",
		`data-accuracy="0.5"`, "50.00%", "gr-w-50", "no examples",
		`id="gr-confusion"`, `title="owl"`, ">owl</th>", `<th class="gr-true">dog</th>`,
		`title="true dog, predicted cat: 2 of 4"`, "gr-heat-o-5", "gr-heat-d-10")
	noInlineStyle(t, html)

	// Choosing the other dataset picks its only split.
	p.dataset = "digits"
	p.pickSplit()
	if p.split != "train" {
		t.Errorf("split %q on digits", p.split)
	}

	// A failure is shown with its message.
	inf.err = errors.New("the checkpoint has 3 classes, dataset digits 10")
	p.run(syncContext{})
	mustContain(t, render(t, p), `id="gr-eval-error"`, "Evaluation failed: the checkpoint has 3 classes, dataset digits 10")
}

// TestEvaluatePageWaits: while training takes every worker, the page says
// so and does not send; with no stored model it says how to get one.
func TestEvaluatePageWaits(t *testing.T) {
	inf := &fakeInference{busy: "Training uses all 2 workers: this waits until training ends."}
	installFakes(t, inf, testModels())
	p := &EvaluatePage{}
	p.setModels(loadModels(context.Background()))
	p.setIndex(&DatasetIndex{Datasets: []DatasetSummary{{Name: "digits", Classes: 10, Splits: []SplitSummary{{"test", 100}}}}}, nil)
	p.updateBusy()
	html := render(t, p)
	mustContain(t, html, `id="gr-eval-busy"`, "this waits until training ends", `id="gr-eval-run"`)
	if !disabled(startTag(html, "gr-eval-run")) {
		t.Errorf("Evaluate is enabled: %s", startTag(html, "gr-eval-run"))
	}
	p.run(syncContext{})
	if len(inf.evals) != 0 {
		t.Errorf("evaluated while the workers train: %+v", inf.evals)
	}

	SetStore(&inferenceStore{}, nil)
	q := &EvaluatePage{}
	q.setModels(loadModels(context.Background()))
	html = render(t, q)
	mustContain(t, html, `id="gr-eval-why"`, "There is no stored model yet")
	if !disabled(startTag(html, "gr-eval-run")) {
		t.Error("Evaluate is enabled without a model")
	}
}

// TestPredictPage: a picked picture goes to a worker with the current
// model (and its version); the top 5 show with bars; errors name the
// picture; the page without a model says how to get one.
func TestPredictPage(t *testing.T) {
	inf := &fakeInference{predRes: &msg.PredictResult{Checkpoint: "r1/epoch-002", Size: 32, Classes: 3, Seconds: 0.05, Top: []msg.ClassScore{
		{Class: "dog", Index: 1, Probability: 0.8125}, {Class: "cat", Index: 0, Probability: 0.125}, {Class: "owl", Index: 2, Probability: 0.0625}}}}
	st := testModels()
	installFakes(t, inf, st)
	p := &PredictPage{}
	p.reload(syncContext{})
	if p.checkpoint != "r1/epoch-002" {
		t.Fatalf("model %q, want the current one", p.checkpoint)
	}
	html := render(t, p)
	mustContain(t, html, `id="gr-predict-checkpoint"`, `id="gr-predict-drop"`, `id="gr-predict-file"`, `accept="image/*"`, `id="gr-camera-start"`)

	picture := struct{ name string }{"dog.jpg"}
	p.classify(syncContext{}, picture, "dog.jpg", false)
	if len(inf.preds) != 1 || inf.pictures[0] != picture {
		t.Fatalf("requests %+v", inf.preds)
	}
	if r := inf.preds[0]; r.Checkpoint != "r1/epoch-002" || r.Top != 5 || r.Name != "dog.jpg" || r.Version != checkpointVersion(&st.cks[1]) {
		t.Errorf("request %+v", r)
	}
	html = render(t, p)
	mustContain(t, html, `data-top1="dog"`, `data-probability="0.8125"`, "gr-w-81",
		"81.25%", "6.25%", "dog.jpg, classified by r1-checkpoint_02.safetensors (resized to 32x32")
	noInlineStyle(t, html)

	// The person chooses another model; a broken picture is reported.
	p.checkpoint = "import/x/cli.safetensors"
	inf.err = errors.New("notes.txt: image: unknown format")
	p.classify(syncContext{}, picture, "notes.txt", false)
	if inf.preds[1].Checkpoint != "import/x/cli.safetensors" {
		t.Errorf("request %+v", inf.preds[1])
	}
	mustContain(t, render(t, p), `id="gr-predict-error"`, "notes.txt: image: unknown format")

	// No picture: nothing is sent.
	p.classify(syncContext{}, nil, "", false)
	if len(inf.preds) != 2 || !strings.Contains(p.err, "No picture") {
		t.Errorf("no picture: %d requests, error %q", len(inf.preds), p.err)
	}

	// The camera needs the browser.
	p.startCamera(syncContext{})
	mustContain(t, render(t, p), `id="gr-camera-error"`, "the camera needs the browser app", `id="gr-camera-start"`)

	SetStore(&inferenceStore{}, nil)
	q := &PredictPage{}
	q.reload(syncContext{})
	mustContain(t, render(t, q), `id="gr-predict-nomodel"`, "There is no stored model yet")
}

// noInlineStyle fails on a style="" attribute: the server's CSP
// (style-src 'self') would block it, so bars and shades are classes.
func noInlineStyle(t *testing.T, html string) {
	t.Helper()
	if strings.Contains(html, "style=") {
		t.Errorf("the HTML has a style attribute, which the Content-Security-Policy blocks")
	}
}
