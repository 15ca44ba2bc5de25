//go:build !(js && wasm)

// The downloads these tests read are kept by download_other.go: the
// browser's build downloads through blob: URLs instead (the e2e tests).

package app

import (
	"context"
	"testing"

	"github.com/goresnet/goresnet/model/runspec"
	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// fakeStore is the browser's storage in memory.
type fakeStore struct {
	runs []storage.Run
	cks  []storage.Checkpoint
}

func (s *fakeStore) Runs(ctx context.Context) ([]storage.Run, error) { return s.runs, nil }
func (s *fakeStore) Run(ctx context.Context, id string) (*storage.Run, error) {
	for i := range s.runs {
		if s.runs[i].ID == id {
			return &s.runs[i], nil
		}
	}
	return nil, storage.ErrNotFound
}
func (s *fakeStore) PutRun(ctx context.Context, r *storage.Run) error { return nil }
func (s *fakeStore) Checkpoints(ctx context.Context, run string) ([]storage.Checkpoint, error) {
	return s.cks, nil
}
func (s *fakeStore) Checkpoint(ctx context.Context, id string) (*storage.Checkpoint, error) {
	return nil, storage.ErrNotFound
}
func (s *fakeStore) DeleteRun(ctx context.Context, id string) error { return nil }

// TestExportPage: the stored checkpoints and runs are listed; exports go
// to the workers and their outcome shows; a run's history downloads as
// the CLI's history.csv.
func TestExportPage(t *testing.T) {
	hist := runspec.History{Epochs: []runspec.EpochStats{
		{Epoch: 1, Loss: 2.5, Accuracy: 0.25, LR: 0.05, Seconds: 3, Images: 480, HasVal: true, ValLoss: 2, ValAccuracy: 0.4, ValTop5: 0.9},
		{Epoch: 2, Loss: 1.5, Accuracy: 0.5, LR: 0.025, Seconds: 3, Images: 480},
	}}
	s := runspec.DefaultSettings()
	s.Arch, s.WidthDiv, s.Epochs = "resnet18", 8, 2
	st := &fakeStore{
		runs: []storage.Run{{ID: "20261127-101010.123", Dataset: "digits", Settings: s, State: storage.StateFinished, History: hist}},
		cks: []storage.Checkpoint{{ID: "20261127-101010.123/epoch-002", Run: "20261127-101010.123", Name: "r1-checkpoint_02.safetensors", Kind: storage.KindEpoch,
			Epoch: 2, Best: true, Arch: "resnet18", WidthDiv: 8, Classes: 10, Size: 32, Metrics: &hist.Epochs[0]}},
	}
	SetStore(st, nil)
	defer SetStore(nil, nil)
	f := &fakeModels{answer: resnet50}
	SetModels(f)
	defer SetModels(nil)
	p := &ExportPage{}
	e := app.NewTestEngine()
	if err := e.Load(p); err != nil {
		t.Fatal(err)
	}
	e.ConsumeAll()
	p.refresh(p.pageCtx)
	e.ConsumeAll()
	html := render(t, p)
	mustContain(t, html, `id="gr-export-checkpoints"`, `data-id="20261127-101010.123/epoch-002"`, "resnet18 1/8, 10 classes, 32×32", "★ best", "0.4000",
		`class="gr-export-safetensors"`, `class="gr-export-onnx"`, `id="gr-export-runs"`, `data-epochs="2"`, "2 of 2", `class="gr-export-csv"`)

	p.export(p.pageCtx, "20261127-101010.123/epoch-002", "safetensors")
	e.ConsumeAll()
	if len(f.exports) != 1 || f.exports[0].Checkpoint != "20261127-101010.123/epoch-002" || f.exports[0].Name != "r1-checkpoint_02.safetensors" || f.exports[0].Format != "safetensors" {
		t.Errorf("exports %+v", f.exports)
	}
	mustContain(t, render(t, p), `data-state="done"`, "Downloaded r1-checkpoint_01.safetensors (2.1 MB): resnet18, 10 classes: 122 tensors.")
	p.export(p.pageCtx, "20261127-101010.123/epoch-002", "onnx")
	e.ConsumeAll()
	mustContain(t, render(t, p), `data-state="error"`, "Export of r1-checkpoint_02.safetensors as onnx: checkpoint r1/epoch-001: not found")

	p.historyCSV(p.pageCtx, "20261127-101010.123")
	e.ConsumeAll()
	downloadsMu.Lock()
	csv := string(downloads["history-20261127-101010-123.csv"])
	downloadsMu.Unlock()
	want := "epoch,loss,accuracy,val_loss,val_accuracy,val_top5,lr,seconds,images\n1,2.5,0.25,2,0.4,0.9,0.05,3,480\n2,1.5,0.5,,,,0.025,3,480\n"
	if csv != want {
		t.Errorf("history CSV:\n%s\nwant\n%s", csv, want)
	}
	mustContain(t, render(t, p), "Downloaded history-20261127-101010-123.csv: 2 epochs.")
}
