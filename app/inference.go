package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/goresnet/goresnet/worker/msg"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Inference is what the Evaluate and Predict pages ask of the workers
// (wasm/trainer's Trainer implements it beside Training; a fake in
// tests). Both run on one worker, never on the UI thread.
type Inference interface {
	// Evaluate opens the dataset in a free worker and evaluates a stored
	// checkpoint on a split.
	Evaluate(ctx context.Context, req msg.EvaluateRequest) (*msg.EvaluateResult, error)
	// Predict classifies one picture (a File or Blob in the browser) with
	// a stored checkpoint.
	Predict(ctx context.Context, image any, req msg.PredictRequest) (*msg.PredictResult, error)
	// InferenceBusy says why no worker is free now ("" when one is):
	// training may use every worker, and a worker does one thing at a
	// time.
	InferenceBusy() string
}

// uiContext is what the Evaluate and Predict pages use of app.Context
// for work that waits (the native tests give a synchronous one: go-app's
// test engine mounts components on the client only).
type uiContext interface {
	Async(fn func())
	Dispatch(fn func(app.Context))
}

// inference is the installed Inference, nil when there is none (the
// server's prerendering).
func inference() Inference {
	i, _ := training().(Inference)
	return i
}

// currentStore is the part of wasm/storage's DB that knows the current
// model (the Store interface of the Train page does not need it).
type currentStore interface {
	Current(ctx context.Context) (*storage.Checkpoint, error)
}

// modelList is the stored checkpoints the Evaluate and Predict pages
// offer, newest first, and the current model's ID.
type modelList struct {
	checkpoints []storage.Checkpoint
	current     string
	err         string
	loaded      bool
}

// loadModels reads the stored checkpoints and the current model.
func loadModels(ctx context.Context) modelList {
	db, err := store()
	if db == nil {
		if err == nil {
			err = fmt.Errorf("the browser's storage is not open")
		}
		return modelList{err: err.Error(), loaded: true}
	}
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cks, err := db.Checkpoints(c, "")
	if err != nil {
		return modelList{err: "reading the browser's storage: " + err.Error(), loaded: true}
	}
	l := modelList{checkpoints: cks, loaded: true}
	if cs, ok := db.(currentStore); ok {
		if cur, err := cs.Current(c); err == nil && cur != nil {
			l.current = cur.ID
		}
	}
	return l
}

// preferred is the checkpoint a page starts with: the current model (the
// best checkpoint of the last training, or the last import), else the
// newest.
func (l modelList) preferred() string {
	if l.current != "" && l.find(l.current) != nil {
		return l.current
	}
	if len(l.checkpoints) > 0 {
		return l.checkpoints[0].ID
	}
	return ""
}

func (l modelList) find(id string) *storage.Checkpoint {
	for i := range l.checkpoints {
		if l.checkpoints[i].ID == id {
			return &l.checkpoints[i]
		}
	}
	return nil
}

// checkpointLabel names a checkpoint in a list: its file, epoch, input
// size and what marks it.
func (l modelList) label(ck storage.Checkpoint) string {
	parts := []string{ck.Name}
	if ck.Epoch > 0 {
		parts = append(parts, fmt.Sprintf("epoch %d", ck.Epoch))
	}
	if ck.Arch != "" {
		parts = append(parts, fmt.Sprintf("%s %dx%d, %d classes", ck.Arch, ck.Size, ck.Size, ck.Classes))
	}
	if ck.Metrics != nil && ck.Metrics.HasVal {
		parts = append(parts, fmt.Sprintf("val. acc. %.1f%%", 100*ck.Metrics.ValAccuracy))
	}
	var marks []string
	if ck.ID == l.current {
		marks = append(marks, "current model")
	}
	if ck.Best {
		marks = append(marks, "best")
	}
	if ck.Kind == storage.KindImport {
		marks = append(marks, "imported")
	}
	s := strings.Join(parts, " · ")
	if len(marks) > 0 {
		s += " (" + strings.Join(marks, ", ") + ")"
	}
	return s
}

// checkpointVersion tells a re-saved checkpoint from the one a worker
// built before (see msg.PredictRequest.Version).
func checkpointVersion(ck *storage.Checkpoint) string {
	if ck == nil {
		return ""
	}
	return fmt.Sprintf("%d/%d", ck.Created.UnixNano(), ck.Bytes)
}
