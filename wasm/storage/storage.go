// Package storage keeps the browser app's work across reloads: training
// runs (settings, history, state), their checkpoints (the CLI's
// safetensors checkpoint bytes, train.MarshalCheckpoint), the "current
// model" that Predict, Evaluate and Export use, and a persistent cache of
// dataset shards so that a dataset downloads once.
//
// Runs and checkpoints live in IndexedDB (database "goresnet"), where every
// write is one transaction: a reload or a closed tab in the middle of a
// save leaves the previous checkpoint or the new one, never a broken one.
// Shards live in Cache Storage ("goresnet-shards"), keyed by their sha256.
// Both work on the page and in Web Workers (the workers write checkpoints,
// so 100 MB of weights never cross the UI thread).
//
// The IndexedDB and Cache Storage code builds only with GOOS=js
// GOARCH=wasm; the record types in this file are portable, so that the
// app's components can use them and be tested natively.
//
// Use (js/wasm):
//
//	db, err := storage.Open(ctx)
//	runs, err := db.Runs(ctx)                    // newest first
//	cks, err := db.Checkpoints(ctx, runs[0].ID)  // the listing, newest first (no bytes)
//	b, err := db.CheckpointData(ctx, cks[0].ID)  // the safetensors bytes
//	ck, err := train.ParseCheckpoint(b, cks[0].Name)
//	cur, err := db.Current(ctx)                  // the current model (ErrNotFound when none)
package storage

import (
	"errors"
	"fmt"
	"time"

	"github.com/goresnet/goresnet/model/runspec"
)

// Run states.
const (
	StateTraining = "training" // a worker is training it (or was, when the tab closed: it can resume)
	StatePaused   = "paused"
	StateStopped  = "stopped"  // stopped by the person; it can resume
	StateFinished = "finished" // every epoch done, or early stopping
	StateFailed   = "failed"   // an error or a worker that died; the last checkpoint stays
)

// Run is one training run.
type Run struct {
	ID       string           `json:"id"`
	Created  time.Time        `json:"created"`
	Updated  time.Time        `json:"updated"`
	Dataset  string           `json:"dataset"` // the dataset's name (the server's /data/NAME/)
	Settings runspec.Settings `json:"settings"`
	Classes  []string         `json:"classes,omitempty"`
	State    string           `json:"state"`
	Error    string           `json:"error,omitempty"`
	History  runspec.History  `json:"history"`
	Best     *runspec.Best    `json:"best,omitempty"`
	// Last and BestCheckpoint are checkpoint IDs: the newest, and the one
	// with the best monitored metric.
	Last           string `json:"last,omitempty"`
	BestCheckpoint string `json:"best_checkpoint,omitempty"`
}

// Resumable reports whether the run can continue from its last
// checkpoint.
func (r *Run) Resumable() bool {
	return r.Last != "" && r.State != StateFinished
}

// Checkpoint kinds.
const (
	KindEpoch  = "epoch"  // saved after an epoch
	KindStop   = "stop"   // saved where training was stopped, mid-epoch
	KindImport = "import" // picked from disk (e.g. made by the CLI)
)

// Checkpoint describes a stored checkpoint; its bytes are kept apart
// (CheckpointData), so listing is cheap.
type Checkpoint struct {
	ID           string              `json:"id"`  // unique: "RUN/epoch-003", "RUN/stop-003-0042"
	Run          string              `json:"run"` // the run's ID ("" for an imported file)
	Name         string              `json:"name"`
	Kind         string              `json:"kind"`
	Epoch        int                 `json:"epoch"` // epochs completed
	Step         int                 `json:"step"`
	BatchInEpoch int                 `json:"batch_in_epoch"`
	Metrics      *runspec.EpochStats `json:"metrics,omitempty"` // the epoch's history row
	Best         bool                `json:"best"`              // the run's best by its monitored metric
	Created      time.Time           `json:"created"`
	Bytes        int64               `json:"bytes"`
	Arch         string              `json:"arch"`
	WidthDiv     int                 `json:"width_div"`
	Classes      int                 `json:"classes"`
	Size         int                 `json:"size"`
	Settings     *runspec.Settings   `json:"settings,omitempty"`
	Extra        map[string]string   `json:"extra,omitempty"`
}

// EpochCheckpointID and StopCheckpointID name a run's checkpoints.
func EpochCheckpointID(run string, epoch int) string { return fmt.Sprintf("%s/epoch-%03d", run, epoch) }

// StopCheckpointID names the checkpoint saved where a run stopped.
func StopCheckpointID(run string, epoch, batch int) string {
	return fmt.Sprintf("%s/stop-%03d-%05d", run, epoch, batch)
}

// NewRunID makes a run ID from the time: sortable, readable, unique enough
// for one person's browser.
func NewRunID(t time.Time) string { return t.UTC().Format("20060102-150405.000") }

// SaveOptions say what else a checkpoint save changes, in the same
// transaction.
type SaveOptions struct {
	// Keep is how many epoch checkpoints of the run to keep besides the
	// best and the newest (0: DefaultKeep); older ones are deleted.
	Keep int
	// SetCurrent makes the run's best checkpoint (or this one, when the
	// run has no best) the current model.
	SetCurrent bool
	// Issued, if set, is called once the transaction's writes have been
	// issued, before it commits: from then on a reload or a closed tab
	// either aborts it (the previous state stays) or finds it committed.
	// Training workers tell the page a save is under way with it.
	Issued func()
}

// DefaultKeep is how many epoch checkpoints a run keeps by default (with
// ResNet-50 each is ~200 MB with the optimizer's state).
const DefaultKeep = 3

// ErrNotFound is returned for a run, checkpoint or current model that is
// not stored.
var ErrNotFound = errors.New("not found in the browser's storage")

// ShardCacheName is the Cache Storage cache that holds dataset shards.
const ShardCacheName = "goresnet-shards"

// DBName and DBVersion name the IndexedDB database.
const (
	DBName    = "goresnet"
	DBVersion = 1
)
