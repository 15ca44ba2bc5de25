package train

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/augment"
	"github.com/goresnet/goresnet/model/optim"
	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/runspec"
	"github.com/goresnet/goresnet/model/weights"
)

// Setup is everything a run builds from its settings and its dataset: the
// loaders, the network (with pretrained weights or a checkpoint loaded),
// the optimizer and the trainer. The train command and the browser's
// workers both build their runs with NewSetup, so they train alike.
type Setup struct {
	Settings runspec.Settings
	Dataset  *data.Dataset
	Classes  []string
	Size     int
	Augment  augment.Config
	Norm     augment.Norm

	Train    *data.Loader
	Val      *data.Loader // nil without validation
	ValSplit string       // the split Val reads ("" without validation)
	// Monitor is the metric save-best and early stopping watch: the
	// settings' SaveBest, or its training counterpart without validation.
	Monitor string

	Net     *resnet.Net
	Opt     *optim.Optimizer
	Trainer *Trainer
	Frozen  []string
	// FeatureCache is on for head-only runs without augmentation: the
	// backbone's features are computed once per image.
	FeatureCache bool
	// Notes say what the setup decided that a person should know (fc
	// replaced, no validation split).
	Notes []string
}

// SetupOptions adapt a setup to where it runs.
type SetupOptions struct {
	// Weights are pretrained weights (safetensors or .pth, read with
	// weights.Open or weights.Parse); ignored when resuming.
	Weights *weights.File
	// Resume is a checkpoint of the same run to continue from.
	Resume *Checkpoint
	// Part and Parts make the loaders yield part Part of Parts of every
	// batch (a data-parallel replica's slice); Parts 0 or 1: whole batches.
	Part, Parts int
	// Prefetch is the loaders' prefetch depth (default 2).
	Prefetch int
	// MemoryBudget bounds the shard bytes a loader holds (default 1 GiB).
	MemoryBudget int64
}

// NewSetup builds a run from its settings on an opened dataset.
func NewSetup(s runspec.Settings, ds *data.Dataset, o SetupOptions) (*Setup, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	st := &Setup{Settings: s, Dataset: ds, Classes: ds.Manifest.ClassNames()}
	st.Size = s.Size
	if st.Size == 0 {
		st.Size = ds.Manifest.Image.Height
	}
	var err error
	if st.Augment, err = augment.Parse(s.Augment); err != nil {
		return nil, err
	}
	if st.Norm, err = augment.ParseNorm(s.Norm); err != nil {
		return nil, err
	}
	if o.Prefetch == 0 {
		o.Prefetch = 2
	}
	st.Train, err = data.NewLoader(ds, data.LoaderConfig{Split: s.Split, BatchSize: s.Batch, Shuffle: true, Seed: s.Seed,
		DropRemainder: true, Size: st.Size, Augment: st.Augment, Norm: st.Norm, Prefetch: o.Prefetch, Workers: s.Workers,
		Part: o.Part, Parts: o.Parts, MemoryBudget: o.MemoryBudget})
	if err != nil {
		return nil, err
	}
	if st.Train.Batches() == 0 {
		return nil, fmt.Errorf("split %s has %d examples: fewer than one batch of %d", s.Split, st.Train.Len(), s.Batch)
	}
	st.ValSplit = s.ValSplit
	if st.ValSplit == "" {
		for _, name := range []string{"validation", "val"} {
			if _, err := ds.Manifest.Split(name); err == nil {
				st.ValSplit = name
			}
		}
	}
	if st.ValSplit == "none" {
		st.ValSplit = ""
	}
	if st.ValSplit != "" {
		if st.Val, err = data.NewLoader(ds, data.LoaderConfig{Split: st.ValSplit, BatchSize: s.Batch, Size: st.Size, Norm: st.Norm,
			Prefetch: o.Prefetch, Workers: s.Workers, Part: o.Part, Parts: o.Parts, MemoryBudget: o.MemoryBudget}); err != nil {
			return nil, err
		}
	}
	st.Monitor = s.SaveBest
	if st.Val == nil && strings.HasPrefix(st.Monitor, "val_") {
		if s.ValSplit != "none" {
			st.Notes = append(st.Notes, fmt.Sprintf("no validation split (give one, e.g. test[:10%%]): save-best and early stopping watch %s instead of %s",
				strings.TrimPrefix(st.Monitor, "val_"), st.Monitor))
		}
		st.Monitor = strings.TrimPrefix(st.Monitor, "val_")
	}

	cfg, err := NetConfig(s, len(st.Classes), st.Size)
	if err != nil {
		return nil, err
	}
	if st.Net, err = resnet.New(cfg); err != nil {
		return nil, err
	}
	if o.Weights != nil && o.Resume == nil {
		replaced, err := LoadPretrained(st.Net, o.Weights)
		if err != nil {
			return nil, err
		}
		if replaced > 0 {
			st.Notes = append(st.Notes, fmt.Sprintf("%s has %d classes: fc is replaced by a new %d-class layer", o.Weights.Path, replaced, cfg.Classes))
		}
	}
	st.Frozen = Frozen(s)
	if err := st.Net.SetTrainable(st.Frozen); err != nil {
		return nil, err
	}
	if st.Opt, err = optim.New(OptimConfig(s), st.Net); err != nil {
		return nil, err
	}
	if st.Trainer, err = NewTrainer(st.Net, st.Opt, TrainConfig(s, st.Train.Batches(), st.Monitor), st.Size, st.Size); err != nil {
		return nil, err
	}
	if ck := o.Resume; ck != nil {
		if ck.Config.Arch != cfg.Arch || ck.Config.Classes != cfg.Classes || ck.Config.WidthDiv != cfg.WidthDiv || ck.Config.Head != cfg.Head {
			return nil, fmt.Errorf("%s holds %s with %d classes, not this run's %s with %d", ck.Path, ck.Config.Arch, ck.Config.Classes, cfg.Arch, cfg.Classes)
		}
		if err := st.Trainer.Resume(ck); err != nil {
			return nil, err
		}
	}
	st.FeatureCache = s.HeadOnly && st.Augment.String() == "none"
	if st.FeatureCache {
		if err := st.Trainer.EnableFeatureCache(); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// NetConfig is the network the settings describe for a dataset of
// classes classes at size x size.
func NetConfig(s runspec.Settings, classes, size int) (resnet.Config, error) {
	head, err := resnet.ParseHead(s.Head)
	if err != nil {
		return resnet.Config{}, err
	}
	return resnet.Config{Arch: s.Arch, Classes: classes, WidthDiv: max(1, s.WidthDiv), Head: head, Dropout: float32(s.Dropout),
		InputSize: size, Seed: s.Seed}, nil
}

// Frozen lists the groups or prefixes the settings freeze.
func Frozen(s runspec.Settings) []string {
	if s.HeadOnly {
		return resnet.FreezeUnits[:len(resnet.FreezeUnits)-1]
	}
	if s.Freeze != "" {
		return strings.Split(s.Freeze, ",")
	}
	return nil
}

// OptimConfig is the optimizer the settings describe.
func OptimConfig(s runspec.Settings) optim.Config {
	oc := optim.Config{Kind: s.Optimizer, Momentum: float32(s.Momentum), Nesterov: s.Nesterov, WeightDecay: float32(s.WeightDecay), MaxNorm: float32(s.MaxNorm)}
	if s.Optimizer != "sgd" {
		oc.Momentum = 0
	}
	return oc
}

// TrainConfig is the loop's configuration for epochs of batches batches,
// watching monitor.
func TrainConfig(s runspec.Settings, batches int, monitor string) Config {
	steps := (batches + s.Accumulate - 1) / max(1, s.Accumulate)
	sched := Schedule{Kind: s.Schedule, BaseLR: s.LR, Warmup: s.Warmup, StepEvery: s.StepEpochs * steps, Gamma: s.Gamma, Total: s.Epochs * steps}
	return Config{Epochs: s.Epochs, Accumulate: s.Accumulate, LabelSmoothing: float32(s.Smoothing), Schedule: sched, Monitor: monitor, Patience: s.EarlyStop}
}

// LoadPretrained loads weights into net, replacing the fc layer (with the
// net's own fresh initialisation) when the file's class count differs; it
// returns the file's class count when it did (0 otherwise).
func LoadPretrained(net *resnet.Net, wf *weights.File) (replaced int, err error) {
	opts := weights.LoadOptions{}
	if _, shape, err := wf.Shape("fc.weight"); err == nil && len(shape) == 2 && shape[0] != net.Config.Classes {
		replaced = shape[0]
		opts.Skip = func(name string) bool { return strings.HasPrefix(name, "fc.") }
	}
	if err := weights.LoadNet(net, wf, opts); err != nil {
		return 0, err
	}
	if opts.Skip != nil {
		net.InitHead(rand.New(rand.NewPCG(net.Config.Seed, 0x4ead)))
	}
	return replaced, nil
}

// BaseMeta is the part of every checkpoint's metadata that a run fixes:
// classes, preprocessing, frozen layers, and the settings as JSON.
func (st *Setup) BaseMeta(settingsJSON []byte) Meta {
	return Meta{Classes: st.Classes, Preprocess: Preprocess{Size: st.Size, Norm: st.Norm.Name, Mean: st.Norm.Mean[:], Std: st.Norm.Std[:]},
		Frozen: st.Frozen, Train: settingsJSON}
}

// Hooks returns Fit's data hooks for the setup's loaders (Train, Val, and
// the feature cache's Order); the caller adds its callbacks.
func (st *Setup) Hooks(dataCtx context.Context) FitHooks {
	h := FitHooks{
		Train: func(_ context.Context, epoch int) (Iterator, int, error) {
			return st.Train.Epoch(dataCtx, epoch), st.Train.Batches(), nil
		},
		Examples:  st.Train.Len(),
		BatchSize: st.Settings.Batch,
	}
	if st.FeatureCache {
		h.Order = st.Train.EpochIndex
	}
	if st.Val != nil {
		h.Val = func(context.Context) (Iterator, error) { return st.Val.Epoch(dataCtx, 0), nil }
	}
	return h
}

// MemoryInput describes the setup for EstimateMemory and CheckMemory, for
// a replica of parts sharing each batch, with loaders holding at most
// budget bytes of shards (0: data's default).
func (st *Setup) MemoryInput(parts int, budget int64) MemoryInput {
	in := MemoryInput{Settings: st.Settings, Size: st.Size, Parts: parts, Examples: st.Train.Len(),
		FeatureCache: st.FeatureCache, MemoryBudget: budget}
	splitBytes := func(spec string) (total, largest int64) {
		sp, err := data.ParseSplitSpec(spec)
		if err != nil || len(sp.Parts) == 0 {
			return 0, 0
		}
		s, err := st.Dataset.Manifest.Split(sp.Parts[0].Split)
		if err != nil {
			return 0, 0
		}
		for _, sh := range s.Shards {
			total += sh.Bytes
			largest = max(largest, sh.Bytes)
		}
		return total, largest
	}
	in.TrainBytes, in.ShardBytes = splitBytes(st.Settings.Split)
	if st.Val != nil {
		var largest int64
		in.ValBytes, largest = splitBytes(st.ValSplit)
		in.ShardBytes = max(in.ShardBytes, largest)
		in.ValExamples = st.Val.Len()
	}
	return in
}
