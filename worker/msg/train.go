package msg

import (
	"github.com/goresnet/goresnet/model/runspec"
)

// Training messages (worker/README.md describes them for JavaScript
// readers). Requests carry their fields in Body; big data in buffers.
const (
	DatasetOpen = "dataset-open" // DatasetOpenRequest -> DatasetInfo
	ModelInit   = "model-init"   // ModelInitRequest (+ buffer "weights") -> ModelInfo
	Train       = "train"        // TrainRequest (+ buffer "shared", a SharedArrayBuffer) -> TrainResult
	Evaluate    = "evaluate"     // EvaluateRequest -> EvaluateResult
	// CheckpointImport checks and stores a checkpoint file (buffer "file":
	// a File, Blob or ArrayBuffer) -> storage.Checkpoint.
	CheckpointImport = "checkpoint-import"
	Status           = "status" // -> WorkerState, answered at once
	PauseReq         = "pause"  // -> WorkerState, answered at once: the group pauses at its next step
	ResumeReq        = "resume" // -> WorkerState, answered at once
	StopReq          = "stop"   // -> WorkerState, answered at once: the group stops at its next step and saves

	// Posted by worker 0 while training (no id: they answer nothing).
	Progress   = "progress"    // ProgressReport, a few times a second
	Saving     = "saving"      // SavingReport: a checkpoint's transaction is under way
	EpochEnd   = "epoch"       // EpochReport, after each epoch (checkpoint saved)
	TrainState = "train-state" // WorkerState: paused, training again
)

// DatasetOpenRequest opens a dataset the server offers (URL, default
// "/data/NAME/"), or one registered in the worker by a local import.
type DatasetOpenRequest struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

// DatasetInfo describes an opened dataset.
type DatasetInfo struct {
	Name    string         `json:"name"`
	Classes []string       `json:"classes"`
	Size    int            `json:"size"` // stored image height (= width)
	Splits  map[string]int `json:"splits"`
	Source  string         `json:"source"`
}

// ModelInitRequest builds a worker's replica for a run: the network the
// settings describe for the dataset (classes and size from it), with
// pretrained weights (buffer "weights": safetensors or .pth bytes, fc
// replaced when the class count differs, as the CLI does) or resumed from
// a stored checkpoint, the loaders for the worker's part of every batch,
// the optimizer and the trainer. The memory it will need is estimated
// first: a batch that does not fit is refused, naming the largest that
// does (the error's body: BatchTooLarge).
type ModelInitRequest struct {
	Run      string           `json:"run"`
	Dataset  string           `json:"dataset"`
	Settings runspec.Settings `json:"settings"`
	Rank     int              `json:"rank"`
	Parts    int              `json:"parts"`
	Weights  string           `json:"weights,omitempty"` // the weights file's name (bytes in buffer "weights")
	Resume   string           `json:"resume,omitempty"`  // a stored checkpoint's ID to continue from
}

// ModelInfo describes a worker's replica.
type ModelInfo struct {
	Arch          string          `json:"arch"`
	Classes       int             `json:"classes"`
	Size          int             `json:"size"`
	Params        int             `json:"params"`
	Trainable     int             `json:"trainable"`
	Batches       int             `json:"batches"`  // per epoch
	Examples      int             `json:"examples"` // per epoch
	ValExamples   int             `json:"val_examples"`
	ValSplit      string          `json:"val_split,omitempty"`
	Monitor       string          `json:"monitor"`
	FeatureCache  bool            `json:"feature_cache"`
	Notes         []string        `json:"notes,omitempty"`
	ReduceFloats  int             `json:"reduce_floats"` // the shared buffer's capacity a step needs
	Memory        Memory          `json:"memory"`
	Epoch         int             `json:"epoch"` // epochs completed (a resumed run)
	Step          int             `json:"step"`
	BatchInEpoch  int             `json:"batch_in_epoch"`
	History       runspec.History `json:"history"`
	Best          *runspec.Best   `json:"best,omitempty"`
	CheckpointFmt string          `json:"checkpoint_format,omitempty"`
}

// Memory is a worker's memory estimate, in bytes (model/train.Memory).
type Memory struct {
	Params    int64 `json:"params"`
	Grads     int64 `json:"grads"`
	Optimizer int64 `json:"optimizer"`
	Workspace int64 `json:"workspace"`
	Data      int64 `json:"data"`
	Runtime   int64 `json:"runtime"`
	Total     int64 `json:"total"`
	PerImage  int64 `json:"per_image"`
	Budget    int64 `json:"budget"`
}

// BatchTooLarge is the body of the error that refuses a batch that would
// not fit in a worker's memory.
type BatchTooLarge struct {
	Batch   int `json:"batch"`
	Largest int `json:"largest"`
}

// TrainRequest starts (or continues) training the replica model-init
// built; the buffer "shared" is the group's SharedArrayBuffer
// (worker/allreduce), initialised by the page.
type TrainRequest struct {
	Run string `json:"run"`
	// Save: worker 0 writes a checkpoint after every epoch (and where a
	// stop happens) to the browser's storage, with the run's history.
	Save bool `json:"save"`
	Keep int  `json:"keep,omitempty"` // epoch checkpoints kept (storage.DefaultKeep)
	// MaxSteps stops after that many optimizer steps in all (0: the
	// settings' epochs); for tests and benchmarks.
	MaxSteps int `json:"max_steps,omitempty"`
	// CheckEvery compares the replicas' weights (a sum of them) every that
	// many all-reduces (default 20; -1: never).
	CheckEvery int `json:"check_every,omitempty"`
	// Hash asks for a sha256 of the weights at the end (TrainResult.Weights).
	Hash bool `json:"hash,omitempty"`
	// ReturnWeights asks for the parameter slab at the end (buffer "params").
	ReturnWeights bool `json:"return_weights,omitempty"`
	// StepTimes asks for every optimizer step's duration in the result.
	StepTimes bool `json:"step_times,omitempty"`
}

// TrainResult says how training ended.
type TrainResult struct {
	State     string          `json:"state"` // "finished", "early-stopped", "stopped"
	Epoch     int             `json:"epoch"`
	Step      int             `json:"step"`
	Weights   string          `json:"weights,omitempty"` // sha256 of the parameters and running statistics
	History   runspec.History `json:"history"`
	Seconds   float64         `json:"seconds"`
	Images    int             `json:"images"` // trained on by the group
	StepTimes []float64       `json:"step_times,omitempty"`
	Reduces   int             `json:"reduces"`
	// ReduceSeconds is the time spent in all-reduces (copies, waits, sums).
	ReduceSeconds float64 `json:"reduce_seconds"`
	Checkpoint    string  `json:"checkpoint,omitempty"` // the last checkpoint saved
}

// ProgressReport is worker 0's report during an epoch.
type ProgressReport struct {
	Run      string  `json:"run"`
	Epoch    int     `json:"epoch"`
	Epochs   int     `json:"epochs"`
	Batch    int     `json:"batch"`
	Batches  int     `json:"batches"`
	Images   int     `json:"images"` // this epoch, all workers
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
	LR       float64 `json:"lr"`
	Elapsed  float64 `json:"elapsed"` // seconds, this epoch
	Step     int     `json:"step"`
	// ImagesPerSecond is the group's throughput over this epoch so far.
	ImagesPerSecond float64 `json:"images_per_second"`
}

// SavingReport says that worker 0 has issued the storage transaction of
// a checkpoint (posted from storage.SaveOptions.Issued): until it
// commits, a reload keeps the run's previous checkpoint; an EpochReport
// (or the train answer, for a stop) follows once it has committed.
type SavingReport struct {
	Run        string `json:"run"`
	Epoch      int    `json:"epoch"` // epochs completed
	Checkpoint string `json:"checkpoint"`
	Bytes      int64  `json:"bytes"`
}

// EpochReport is worker 0's report after an epoch: its history row and
// the checkpoint saved.
type EpochReport struct {
	Run        string             `json:"run"`
	Stats      runspec.EpochStats `json:"stats"`
	Improved   bool               `json:"improved"`
	Best       *runspec.Best      `json:"best,omitempty"`
	Checkpoint string             `json:"checkpoint,omitempty"` // its storage ID ("" when not saved)
	SaveError  string             `json:"save_error,omitempty"`
}

// EvaluateRequest evaluates a stored checkpoint (or the replica's current
// weights when Checkpoint is "") on a split of an opened dataset.
type EvaluateRequest struct {
	Dataset    string `json:"dataset"`
	Split      string `json:"split"`
	Batch      int    `json:"batch,omitempty"`
	Checkpoint string `json:"checkpoint,omitempty"`
}

// EvaluateResult is evaluate's metrics.
type EvaluateResult struct {
	Loss      float64   `json:"loss"`
	Top1      float64   `json:"top1"`
	Top5      float64   `json:"top5"`
	N         int       `json:"n"`
	PerClass  []float64 `json:"per_class"` // -1 for a class without examples
	Confusion [][]int   `json:"confusion"` // [true][predicted]
	Classes   []string  `json:"classes"`
	Seconds   float64   `json:"seconds"`
}

// WorkerState is a worker's state (status, pause, resume, stop, and the
// train-state reports).
type WorkerState struct {
	State   string `json:"state"` // "idle", "ready" (a replica is built), "training", "paused", "stopping"
	Run     string `json:"run,omitempty"`
	Rank    int    `json:"rank"`
	Parts   int    `json:"parts"`
	Dataset string `json:"dataset,omitempty"`
	Epoch   int    `json:"epoch"` // epochs completed
	Step    int    `json:"step"`
	Batch   int    `json:"batch"` // of the current epoch
	// MemoryBytes is the size of the worker's WebAssembly memory.
	MemoryBytes int64 `json:"memory_bytes"`
}

// CheckpointImportRequest names the imported file.
type CheckpointImportRequest struct {
	Name string `json:"name"`
}
