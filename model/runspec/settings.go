// Package runspec describes a training run without depending on the model
// code: its settings (the command line's train flags, which checkpoints
// save for --resume), the history it produces (Keras' metric names) and
// the best epoch. The CLI (model/train), the browser's workers and the
// browser's UI (app.wasm, which must not link the network) share it.
package runspec

import (
	"fmt"
	"strings"
)

// Settings are a run's settings: the train command's flags. Checkpoints
// keep them as JSON (Meta.Train) so that a run resumes with them; the JSON
// names are those of the first checkpoints, so old files still resume.
type Settings struct {
	Data          string  `json:"data"`      // a dataset folder or URL (the browser: the server's /data/NAME/)
	Split         string  `json:"split"`     // training split, tfds syntax
	ValSplit      string  `json:"val_split"` // "" picks validation or val when present; "none" for none
	Arch          string  `json:"arch"`
	WidthDiv      int     `json:"width_div"`
	Head          string  `json:"head"`
	Dropout       float64 `json:"dropout"`
	Size          int     `json:"size"`    // 0: the dataset's image size
	Weights       string  `json:"weights"` // pretrained weights (a path, or in the browser the picked file's name)
	Freeze        string  `json:"freeze"`  // comma-separated groups or prefixes
	HeadOnly      bool    `json:"head_only"`
	Epochs        int     `json:"epochs"`
	Batch         int     `json:"batch"`
	Accumulate    int     `json:"accumulate"`
	Optimizer     string  `json:"optimizer"`
	LR            float64 `json:"lr"`
	Momentum      float64 `json:"momentum"`
	Nesterov      bool    `json:"nesterov"`
	WeightDecay   float64 `json:"weight_decay"`
	MaxNorm       float64 `json:"max_norm"`
	Schedule      string  `json:"schedule"`
	Warmup        int     `json:"warmup"`
	StepEpochs    int     `json:"step_epochs"`
	Gamma         float64 `json:"gamma"`
	Smoothing     float64 `json:"label_smoothing"`
	Augment       string  `json:"augment"`
	Norm          string  `json:"norm"`
	CheckpointDir string  `json:"checkpoint_dir"`
	Pattern       string  `json:"checkpoint_pattern"`
	SaveBest      string  `json:"save_best"`
	EarlyStop     int     `json:"early_stop"`
	Seed          uint64  `json:"seed"`
	Workers       int     `json:"workers"` // goroutines preparing each batch
	// Replicas is the number of data-parallel workers (the browser's Web
	// Workers, each holding a replica of the model); 0 or 1: one.
	Replicas int `json:"replicas,omitempty"`
}

// DefaultSettings are the train command's defaults (and the Train page's).
func DefaultSettings() Settings {
	return Settings{
		Split: "train", Arch: "resnet50", WidthDiv: 1, Head: "standard", Dropout: 0.5,
		Epochs: 20, Batch: 8, Accumulate: 1, Optimizer: "sgd", LR: 0.01, Momentum: 0.9,
		Schedule: "constant", StepEpochs: 7, Gamma: 0.1, Augment: "none", Norm: "imagenet",
		CheckpointDir: "runs/latest", Pattern: "checkpoint_{epoch:02d}", SaveBest: "val_loss",
		Seed: 1, Workers: 1,
	}
}

// Optimizers, Schedules and Monitors list the accepted values.
var (
	Optimizers = []string{"sgd", "adam", "adamw"}
	Schedules  = []string{"constant", "step", "cosine"}
	Monitors   = []string{"val_loss", "val_accuracy", "loss", "accuracy"}
)

// Check finds settings that cannot work, before anything is built: the
// model code checks the rest (architecture, optimizer and schedule names,
// augmentation syntax, freeze prefixes) with the names it knows.
func (s *Settings) Check() error {
	switch {
	case s.Epochs < 1:
		return fmt.Errorf("epochs must be at least 1, got %d", s.Epochs)
	case s.Batch < 1:
		return fmt.Errorf("the batch size must be at least 1, got %d", s.Batch)
	case s.Accumulate < 1:
		return fmt.Errorf("accumulate must be at least 1, got %d", s.Accumulate)
	case !(s.LR > 0):
		return fmt.Errorf("the learning rate must be positive, got %v", s.LR)
	case s.Warmup < 0:
		return fmt.Errorf("warm-up must not be negative")
	case s.Smoothing < 0 || s.Smoothing >= 1:
		return fmt.Errorf("label smoothing must be in [0, 1), got %v", s.Smoothing)
	case s.HeadOnly && s.Freeze != "":
		return fmt.Errorf("head-only freezes everything but fc: it cannot go with a freeze list")
	case s.Replicas > 1 && s.Batch < s.Replicas:
		return fmt.Errorf("a batch of %d cannot be split across %d workers: use a batch of at least %d", s.Batch, s.Replicas, s.Replicas)
	}
	if !oneOf(s.SaveBest, Monitors) {
		return fmt.Errorf("unknown metric %q to save the best by (have %s)", s.SaveBest, strings.Join(Monitors, ", "))
	}
	return nil
}

// ReplicaCount is Replicas, at least 1.
func (s *Settings) ReplicaCount() int { return max(1, s.Replicas) }

func oneOf(s string, list []string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
