package app

import (
	"context"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/runspec"
	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/goresnet/goresnet/worker/msg"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// fakeTraining records what the page asks for.
type fakeTraining struct {
	starts   []TrainStart
	commands []string
}

func (f *fakeTraining) Start(ctx context.Context, s TrainStart) error {
	f.starts = append(f.starts, s)
	return nil
}
func (f *fakeTraining) Command(c string) error           { f.commands = append(f.commands, c); return nil }
func (f *fakeTraining) Watch(fn func(TrainEvent)) func() { return func() {} }
func (f *fakeTraining) Running() (string, []TrainEvent)  { return "", nil }
func (f *fakeTraining) Workers() int                     { return 2 }
func (f *fakeTraining) ImportCheckpoint(ctx context.Context, file any, name string) (*storage.Checkpoint, error) {
	return nil, nil
}
func (f *fakeTraining) Download(ctx context.Context, id string) error { return nil }

func TestTrainPageDefaults(t *testing.T) {
	SetTraining(&fakeTraining{})
	defer SetTraining(nil)
	html := render(t, &TrainPage{})
	mustContain(t, html,
		`id="gr-train-form"`, `id="gr-f-arch"`, `id="gr-f-epochs"`, `value="5"`, `id="gr-f-workers"`,
		`id="gr-train-start"`, `id="gr-train-pause"`, `id="gr-train-continue"`, `id="gr-train-stop"`, `id="gr-chart-loss"`, `id="gr-chart-accuracy"`,
		"DistributedDataParallel does without SyncBatchNorm", "largest that does", `id="gr-import-file"`,
	)
	// go-app writes an element's attributes in no fixed order.
	mustSelect(t, html, "gr-f-workers", "2")
}

// TestTrainPageFollowsTraining: the events of a run show as the phase,
// the progress (loss, images/s, time left), the charts, the epoch table,
// and an error offering the largest batch that fits.
func TestTrainPageFollowsTraining(t *testing.T) {
	SetTraining(&fakeTraining{})
	defer SetTraining(nil)
	p := &TrainPage{}
	p.OnInit()
	p.manifest = &data.Manifest{Name: "digits"}
	var ctx app.Context
	p.apply(ctx, TrainEvent{Kind: EventStarting, Run: "r1"})
	if p.phase != "starting" {
		t.Fatalf("phase %q", p.phase)
	}
	p.apply(ctx, TrainEvent{Kind: EventStarted, Run: "r1", Info: &msg.ModelInfo{Arch: "resnet18", Classes: 10, Size: 32, Params: 1000, Trainable: 1000, Batches: 6, Examples: 96,
		Memory: msg.Memory{Total: 300 << 20}}})
	p.apply(ctx, TrainEvent{Kind: EventProgress, Run: "r1", Progress: &msg.ProgressReport{Run: "r1", Epoch: 1, Epochs: 2, Batch: 3, Batches: 6, Images: 48,
		Loss: 2.25, Accuracy: 0.125, ImagesPerSecond: 24, Step: 3}})
	html := render(t, p)
	mustContain(t, html, `data-phase="training"`, `id="gr-progress"`, `data-loss="2.25"`, `data-step="3"`, "24.0 images/s", "6 s left", "300 MiB of memory per worker",
		`class="gr-series gr-s-live"`)
	p.apply(ctx, TrainEvent{Kind: EventSaving, Run: "r1", Saving: &msg.SavingReport{Run: "r1", Epoch: 1, Checkpoint: "r1/epoch-001", Bytes: 215320160}})
	mustContain(t, render(t, p), `id="gr-train-saving"`, `data-checkpoint="r1/epoch-001"`, "Saving the checkpoint of epoch 1 (215.3 MB)")
	p.apply(ctx, TrainEvent{Kind: EventEpoch, Run: "r1", Epoch: &msg.EpochReport{Run: "r1", Stats: runspec.EpochStats{Epoch: 1, Loss: 2.1, Accuracy: 0.2, HasVal: true, ValLoss: 2, ValAccuracy: 0.3, Images: 96, Seconds: 4}}})
	p.apply(ctx, TrainEvent{Kind: EventState, Run: "r1", State: "paused"})
	html = render(t, p)
	mustContain(t, html, `data-phase="paused"`, `id="gr-epochs"`, `data-epoch="1"`, "0.3000", "24.0", `class="gr-series gr-s-val"`)
	if strings.Contains(html, `id="gr-train-saving"`) {
		t.Error("still saving after the epoch's report")
	}
	if strings.Contains(html, `id="gr-train-continue" disabled="true"`) {
		t.Error("resume is disabled while paused")
	}
	p.apply(ctx, TrainEvent{Kind: EventFailed, Run: "r1", Err: "a batch of 512 needs about 9 GiB per worker: the largest batch that fits is 96", Largest: 96})
	html = render(t, p)
	mustContain(t, html, `id="gr-train-error"`, "the largest batch that fits is 96", `id="gr-train-use-largest"`, "Use a batch of 96")
}

// TestTrainPageOffersResume: a run that was training when the page went
// away is offered for resuming from its last checkpoint.
func TestTrainPageOffersResume(t *testing.T) {
	SetTraining(&fakeTraining{})
	defer SetTraining(nil)
	p := &TrainPage{}
	p.OnInit()
	s := runspec.DefaultSettings()
	s.Epochs = 4
	p.runs = []storage.Run{{ID: "r2", Created: time.Now(), Dataset: "digits", Settings: s, State: storage.StateTraining, Last: "r2/epoch-001",
		History: runspec.History{Epochs: []runspec.EpochStats{{Epoch: 1, Loss: 1}}}}}
	p.checkpoints = []storage.Checkpoint{{ID: "r2/epoch-001", Run: "r2", Name: "r2-checkpoint_01.safetensors", Kind: storage.KindEpoch, Epoch: 1, Best: true, Bytes: 2 << 20}}
	html := render(t, p)
	mustContain(t, html, `id="gr-train-resume-run"`, "was interrupted", "after 1 of 4 epochs", `data-id="r2/epoch-001"`, `data-best="yes"`, "★ best", "2.1 MB")
	// The offer and the controls are on the page together: the browser
	// tests find them by id (the offer and the paused run's Resume
	// button once shared one).
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(` id="([^"]+)"`).FindAllStringSubmatch(html, -1) {
		if seen[m[1]] {
			t.Errorf("two elements have the id %q", m[1])
		}
		seen[m[1]] = true
	}
}

func TestChartSVG(t *testing.T) {
	c := Chart{ID: "x", Title: "Loss", XMax: 3, Series: []Series{
		{Name: "train", Class: "gr-s-train", Points: [][2]float64{{1, 2}, {2, 1.5}, {3, math.NaN()}}, Dots: true},
		{Name: "validation", Class: "gr-s-val"},
	}}
	svg := c.SVG()
	for _, want := range []string{`<svg xmlns="http://www.w3.org/2000/svg" id="x"`, `<polyline class="gr-series gr-s-train"`, `<circle class="gr-dot gr-s-train"`, ">validation</text>", "</svg>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q:\n%s", want, svg)
		}
	}
	if strings.Count(svg, "<circle") != 2 || strings.Contains(svg, "NaN") {
		t.Errorf("NaN points drawn:\n%s", svg)
	}
	if empty := (Chart{ID: "e", Title: "Accuracy", YMax: 1}).SVG(); !strings.Contains(empty, "</svg>") || strings.Contains(empty, "NaN") {
		t.Errorf("empty chart:\n%s", empty)
	}
}
