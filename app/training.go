package app

import (
	"context"
	"sync"

	"github.com/goresnet/goresnet/model/runspec"
	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/goresnet/goresnet/worker/msg"
)

// TrainStart is what the Train page asks for: a run's settings on a
// dataset, with K workers, from scratch (optionally from pretrained
// weights) or resumed from a stored checkpoint.
type TrainStart struct {
	Run      string // the run's ID (storage.NewRunID)
	Dataset  string // the dataset's name on the server
	Settings runspec.Settings
	Workers  int
	// Weights is a pretrained weights file the person picked (a File in
	// the browser), WeightsName its name.
	Weights     any
	WeightsName string
	Resume      string // a stored checkpoint's ID to continue from
}

// Training event kinds.
const (
	EventStarting = "starting" // the workers are building their replicas
	EventStarted  = "started"  // Info says what they built
	EventProgress = "progress"
	EventSaving   = "saving" // Saving: a checkpoint is being written
	EventEpoch    = "epoch"
	EventState    = "state" // paused, training, stopping
	EventDone     = "done"  // Result says how it ended
	EventFailed   = "failed"
)

// TrainEvent is a change in the training the page shows.
type TrainEvent struct {
	Kind     string
	Run      string
	Info     *msg.ModelInfo
	Progress *msg.ProgressReport
	Saving   *msg.SavingReport
	Epoch    *msg.EpochReport
	State    string
	Result   *msg.TrainResult
	Err      string
	// Largest is, when a batch was refused for memory, the largest batch
	// that fits.
	Largest int
}

// Training is what the Train page sees of training in the workers
// (wasm/trainer in the browser; a fake in tests).
type Training interface {
	// Start builds the replicas and starts training; it returns once the
	// workers train (or could not start), and reports through Watch.
	Start(ctx context.Context, s TrainStart) error
	// Command pauses, resumes or stops the running training.
	Command(c string) error
	// Watch calls fn with every event, from any goroutine, until stop is
	// called; fn must not block.
	Watch(fn func(TrainEvent)) (stop func())
	// Running reports the run in training ("" when none) and the last
	// events of it (to show after navigating back to the page).
	Running() (run string, events []TrainEvent)
	// Workers is how many workers the pool has.
	Workers() int
	// ImportCheckpoint stores a checkpoint file the person picked (a File
	// in the browser), checked by a worker.
	ImportCheckpoint(ctx context.Context, file any, name string) (*storage.Checkpoint, error)
	// Download offers a stored checkpoint as a file download.
	Download(ctx context.Context, id string) error
}

// Store is what the pages read of the browser's storage (wasm/storage's
// DB in the browser).
type Store interface {
	Runs(ctx context.Context) ([]storage.Run, error)
	Run(ctx context.Context, id string) (*storage.Run, error)
	PutRun(ctx context.Context, r *storage.Run) error
	Checkpoints(ctx context.Context, run string) ([]storage.Checkpoint, error)
	Checkpoint(ctx context.Context, id string) (*storage.Checkpoint, error)
	DeleteRun(ctx context.Context, id string) error
}

var (
	servicesMu  sync.Mutex
	theTraining Training
	theStore    Store
	storeErr    error
)

// SetTraining installs the training service (the wasm main does).
func SetTraining(t Training) {
	servicesMu.Lock()
	theTraining = t
	servicesMu.Unlock()
}

// SetStore installs the storage (the wasm main does), or the error that
// kept it from opening.
func SetStore(s Store, err error) {
	servicesMu.Lock()
	theStore, storeErr = s, err
	servicesMu.Unlock()
}

func training() Training {
	servicesMu.Lock()
	defer servicesMu.Unlock()
	return theTraining
}

func store() (Store, error) {
	servicesMu.Lock()
	defer servicesMu.Unlock()
	return theStore, storeErr
}
