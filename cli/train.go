package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/goresnet/goresnet/internal/atomicfile"
	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/kernels"
	"github.com/goresnet/goresnet/model/netgraph"
	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/runspec"
	"github.com/goresnet/goresnet/model/train"
	"github.com/goresnet/goresnet/model/weights"
)

func init() {
	register(&command{name: "train", summary: "train or fine-tune a network on a dataset, with checkpoints, save-best, early stopping and history", run: runTrain})
}

const trainHelp = `
Trains a ResNet on a dataset made by import (a folder or URL), the way the
Keras notebook's fit does: epochs of shuffled, augmented batches, a
validation pass after each, and callbacks: a checkpoint per epoch named by
--checkpoint-pattern, the best one by --save-best kept as best.safetensors,
early stopping, a learning-rate schedule, and the history written as
history.json and history.csv after every epoch. A progress bar shows
images/s, ETA, running loss and accuracy; Ctrl-C stops cleanly after saving
a checkpoint, and --resume continues the run exactly where it stopped.

Bad numbers: a NaN or Inf in the loss, the gradients, the running
statistics or the updated weights stops training with the step and a
suggestion to lower the learning rate (a NaN in the input: to check the
data); nothing from that step is saved, so last.safetensors is the last
good state: go on from it with --resume and a lower --lr.

Fine-tuning: --weights takes ImageNet (or any) weights in safetensors or
PyTorch .pth format under torchvision's names; when the class count
differs, the fc layer is replaced by a freshly initialised one. Frozen
layers (--freeze, --head-only) keep their batch norms in eval mode. With
--head-only and no augmentation, backbone features are computed once and
cached, so later epochs cost only the head.

Checkpoints hold the weights (torchvision names: they load as plain
weights too), the optimizer state and the run's metadata; predict,
evaluate, export and the browser app read them.

Examples:
  goresnet train --data data/digits --arch resnet18 --width-div 4 --epochs 3 --batch 32 --lr 0.05
  goresnet train --data data/dogs --weights resnet50.pth --head-only --epochs 20 --optimizer adam --lr 1e-3
  goresnet train --data data/dogs --checkpoint-dir runs/dogs --resume`

// trainFlags are the run's settings, saved in checkpoints for --resume
// (runspec.Settings, which the browser's workers use too).
type trainFlags = runspec.Settings

func runTrain(env *Env, args []string) error {
	fs := newFlags(env, "train", "--data D [--arch A] [--weights W] [--freeze P|--head-only|--full] [--epochs N] [--batch N] [flags]", trainHelp)
	var f trainFlags
	d := runspec.DefaultSettings()
	fs.StringVar(&f.Data, "data", "", "dataset folder or URL (made by import)")
	fs.StringVar(&f.Split, "split", d.Split, "training split (tfds syntax: train, train[:90%])")
	fs.StringVar(&f.ValSplit, "val-split", "", "validation split, e.g. test[:10%] as the notebook does (default: validation or val if the dataset has one; \"none\" for none)")
	fs.StringVar(&f.Arch, "arch", d.Arch, "architecture: "+strings.Join(resnet.ArchNames(), ", "))
	fs.IntVar(&f.WidthDiv, "width-div", d.WidthDiv, "divide every channel count by this (small, fast models for experiments)")
	fs.StringVar(&f.Head, "head", d.Head, "classifier head: standard or notebook")
	fs.Float64Var(&f.Dropout, "dropout", d.Dropout, "the notebook head's dropout rate")
	fs.IntVar(&f.Size, "size", 0, "input size (default: the dataset's image size)")
	fs.StringVar(&f.Weights, "weights", "", "pretrained weights (safetensors or .pth, torchvision names); fc is replaced when the class count differs")
	fs.StringVar(&f.Freeze, "freeze", "", "comma-separated groups or prefixes to freeze: "+strings.Join(resnet.FreezeUnits, ", "))
	fs.BoolVar(&f.HeadOnly, "head-only", false, "freeze everything but fc")
	full := fs.Bool("full", false, "train every layer (the default; says so explicitly)")
	fs.IntVar(&f.Epochs, "epochs", d.Epochs, "epochs")
	fs.IntVar(&f.Batch, "batch", d.Batch, "batch size")
	fs.IntVar(&f.Accumulate, "accumulate", d.Accumulate, "batches per optimizer step (gradient accumulation: an effective batch of batch x N)")
	fs.StringVar(&f.Optimizer, "optimizer", d.Optimizer, "sgd, adam or adamw")
	fs.Float64Var(&f.LR, "lr", d.LR, "learning rate")
	fs.Float64Var(&f.Momentum, "momentum", d.Momentum, "SGD momentum")
	fs.BoolVar(&f.Nesterov, "nesterov", false, "SGD with Nesterov momentum")
	fs.Float64Var(&f.WeightDecay, "weight-decay", 0, "weight decay (L2 for sgd/adam, decoupled for adamw)")
	fs.Float64Var(&f.MaxNorm, "max-norm", 0, "max-norm constraint on convolution kernels (the notebook's kernel_constraint; 0: off)")
	fs.StringVar(&f.Schedule, "schedule", d.Schedule, "learning-rate schedule: constant, step or cosine")
	fs.IntVar(&f.Warmup, "warmup", 0, "linear warm-up steps")
	fs.IntVar(&f.StepEpochs, "step-epochs", d.StepEpochs, "step schedule: epochs between decays")
	fs.Float64Var(&f.Gamma, "gamma", d.Gamma, "step schedule: decay factor")
	fs.Float64Var(&f.Smoothing, "label-smoothing", 0, "label smoothing")
	fs.StringVar(&f.Augment, "augment", d.Augment, "augmentations: none, notebook, finetune, or steps like flip,rotate=0.2,contrast=0.2,crop")
	fs.StringVar(&f.Norm, "norm", d.Norm, "input normalisation: imagenet (torchvision mean/std) or unit (/255, the notebook's)")
	fs.StringVar(&f.CheckpointDir, "checkpoint-dir", d.CheckpointDir, "folder for checkpoints and history")
	fs.StringVar(&f.Pattern, "checkpoint-pattern", d.Pattern, "per-epoch checkpoint name (Keras-style {epoch:02d}); empty: only last and best")
	fs.StringVar(&f.SaveBest, "save-best", d.SaveBest, "metric whose best epoch is kept as best.safetensors: val_loss, val_accuracy, loss, accuracy")
	fs.IntVar(&f.EarlyStop, "early-stop", 0, "stop after this many epochs without improvement of --save-best's metric (0: never)")
	fs.Uint64Var(&f.Seed, "seed", d.Seed, "seed for initialisation, shuffling, augmentation and dropout")
	fs.IntVar(&f.Workers, "workers", d.Workers, "goroutines preparing each batch")
	threads := fs.Int("threads", 0, "GEMM threads (default: all cores)")
	resume := fs.Bool("resume", false, "continue the run in --checkpoint-dir from its last checkpoint, with its saved settings (--epochs, and --lr and its schedule's flags, may change)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *threads > 0 {
		kernels.SetThreads(*threads)
	}
	var ck *train.Checkpoint
	if *resume {
		var err error
		if ck, err = lastCheckpoint(f.CheckpointDir); err != nil {
			return err
		}
		var saved trainFlags
		if err := json.Unmarshal(ck.Meta.Train, &saved); err != nil {
			return fmt.Errorf("%s: no run settings to resume with: %w", ck.Path, err)
		}
		// The saved settings win, except the ones that say where to go on,
		// and the learning rate and its schedule: after a divergence the
		// run goes on from its last good checkpoint with a lower rate.
		given, dir := f, f.CheckpointDir
		explicit := map[string]bool{}
		fs.Visit(func(fl *flag.Flag) { explicit[fl.Name] = true })
		f = saved
		if explicit["epochs"] {
			f.Epochs = given.Epochs
		}
		for _, o := range []struct {
			name string
			set  func()
		}{
			{"lr", func() { f.LR = given.LR }},
			{"schedule", func() { f.Schedule = given.Schedule }},
			{"gamma", func() { f.Gamma = given.Gamma }},
			{"step-epochs", func() { f.StepEpochs = given.StepEpochs }},
			{"warmup", func() { f.Warmup = given.Warmup }},
		} {
			if explicit[o.name] {
				o.set()
				fmt.Fprintf(env.Stdout, "resuming with --%s changed\n", o.name)
			}
		}
		f.CheckpointDir = dir
		fmt.Fprintf(env.Stdout, "resuming %s at epoch %d, batch %d (step %d)\n", ck.Path, ck.Meta.Epoch+1, ck.Meta.BatchInEpoch+1, ck.Meta.Step)
	}
	if f.Data == "" {
		fs.Usage()
		return fmt.Errorf("--data is required")
	}
	if *full && (f.Freeze != "" || f.HeadOnly) {
		return fmt.Errorf("--full trains every layer: it cannot go with --freeze or --head-only")
	}
	return trainRun(env, f, ck)
}

// lastCheckpoint finds the newest checkpoint of a run (last.safetensors,
// which every epoch and every interruption rewrite).
func lastCheckpoint(dir string) (*train.Checkpoint, error) {
	p := filepath.Join(dir, "last.safetensors")
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("--resume: no checkpoint in %s (%v)", dir, err)
	}
	return train.OpenCheckpoint(p)
}

func trainRun(env *Env, f trainFlags, ck *train.Checkpoint) error {
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	// The trainer stops at a batch boundary: cancel the data only after.
	dataCtx := context.Background()

	ds, err := data.OpenPath(dataCtx, f.Data, data.NewMemoryCache(2<<30))
	if err != nil {
		return err
	}
	opts := train.SetupOptions{Resume: ck}
	if f.Weights != "" && ck == nil {
		if opts.Weights, err = weights.Open(f.Weights); err != nil {
			return err
		}
	}
	st, err := train.NewSetup(f, ds, opts)
	if err != nil {
		return err
	}
	for _, n := range st.Notes {
		if strings.HasPrefix(n, "no validation split") {
			fmt.Fprintf(env.Stderr, "note: %s\n", n)
		} else {
			fmt.Fprintln(env.Stdout, n)
		}
	}
	net, opt, tr, cfg, size := st.Net, st.Opt, st.Trainer, st.Net.Config, st.Size
	if err := os.MkdirAll(f.CheckpointDir, 0o755); err != nil {
		return err
	}
	// A run killed mid-save leaves a temporary file beside the complete
	// checkpoints; it is never read, only tidied away.
	if n, _ := atomicfile.RemoveStale(f.CheckpointDir); n > 0 {
		fmt.Fprintf(env.Stderr, "removed %d unfinished checkpoint file(s) from an interrupted save in %s\n", n, f.CheckpointDir)
	}
	settings, _ := json.Marshal(f)
	baseMeta := st.BaseMeta(settings)
	save := func(path string) error {
		meta, err := tr.CheckpointMeta(baseMeta)
		if err != nil {
			return err
		}
		return train.SaveCheckpoint(path, net, opt, meta)
	}

	total, trainable, _ := net.NumParams()
	fmt.Fprintf(env.Stdout, "%s (%s head, width 1/%d), %d classes, %dx%d input: %s parameters, %s trainable\n",
		cfg.Arch, cfg.Head, cfg.WidthDiv, cfg.Classes, size, size, netgraph.Commas(total), netgraph.Commas(trainable))
	fmt.Fprintf(env.Stdout, "training on %s %s: %d examples, %d batches of %d per epoch", ds.Manifest.Name, f.Split, st.Train.Len(), st.Train.Batches(), f.Batch)
	if st.Val != nil {
		fmt.Fprintf(env.Stdout, "; validating on %s (%d examples)", st.ValSplit, st.Val.Len())
	}
	fmt.Fprintf(env.Stdout, "; %s, lr %g (%s)", f.Optimizer, f.LR, f.Schedule)
	if st.FeatureCache {
		fmt.Fprintf(env.Stdout, "; head only, backbone features cached after the first epoch")
	}
	fmt.Fprintln(env.Stdout)
	monitor := st.Monitor

	var bar *progressbar.ProgressBar
	tr.OnBatch = func(b train.BatchInfo) {
		if bar == nil {
			bar = progressbar.NewOptions(b.Batches,
				progressbar.OptionSetWriter(env.Stderr),
				progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", b.Epoch, f.Epochs)),
				progressbar.OptionSetWidth(24),
				progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionSetElapsedTime(true),
				progressbar.OptionClearOnFinish(),
				progressbar.OptionThrottle(200*time.Millisecond))
		}
		ips := float64(b.Images) / max(b.Elapsed.Seconds(), 1e-9)
		bar.Describe(fmt.Sprintf("epoch %d/%d  loss %.4f  acc %.3f  %.0f img/s", b.Epoch, f.Epochs, b.Loss, b.Accuracy, ips))
		bar.Set(b.Batch)
	}
	// Ctrl-C: stop at the next batch boundary, save, exit.
	go func() {
		<-ctx.Done()
		tr.Stop()
	}()
	hooks := st.Hooks(dataCtx)
	hooks.EpochEnd = func(st train.EpochStats, improved bool) error {
		if bar != nil {
			bar.Finish()
			bar = nil
		}
		line := fmt.Sprintf("epoch %d/%d: loss %.4f - accuracy %.4f", st.Epoch, f.Epochs, st.Loss, st.Accuracy)
		if st.HasVal {
			line += fmt.Sprintf(" - val_loss %.4f - val_accuracy %.4f - val_top5 %.4f", st.ValLoss, st.ValAccuracy, st.ValTop5)
		}
		line += fmt.Sprintf(" - lr %.3g - %.1fs (%.0f img/s)", st.LR, st.Seconds, float64(st.Images)/st.Seconds)
		if f.Pattern != "" {
			name := expandPattern(f.Pattern, st.Epoch) + ".safetensors"
			if err := save(filepath.Join(f.CheckpointDir, name)); err != nil {
				return err
			}
		}
		if err := save(filepath.Join(f.CheckpointDir, "last.safetensors")); err != nil {
			return err
		}
		if improved {
			if err := save(filepath.Join(f.CheckpointDir, "best.safetensors")); err != nil {
				return err
			}
			line += fmt.Sprintf(" - %s improved, saved best.safetensors", monitor)
		}
		fmt.Fprintln(env.Stdout, line)
		return tr.History.Save(filepath.Join(f.CheckpointDir, "history"))
	}
	hooks.Interrupted = func() error {
		if bar != nil {
			bar.Exit()
		}
		p := filepath.Join(f.CheckpointDir, "last.safetensors")
		if err := save(p); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "\nstopped at epoch %d, batch %d: saved %s (continue with --resume --checkpoint-dir %s)\n", tr.Epoch+1, tr.BatchInEpoch, p, f.CheckpointDir)
		return nil
	}
	res, err := tr.Fit(ctx, hooks)
	if bar != nil {
		bar.Exit()
	}
	var nf *train.NonFiniteError
	switch {
	case errors.Is(err, train.ErrStopped):
		return nil
	case errors.As(err, &nf):
		// Nothing from the bad step was saved: the checkpoints on disk are
		// the last good state, to go on from with a lower rate.
		last := filepath.Join(f.CheckpointDir, "last.safetensors")
		if ck, cerr := train.OpenCheckpoint(last); cerr == nil {
			return fmt.Errorf("%w\nthe last good checkpoint is %s (epoch %d, step %d): go on from it with a lower rate: goresnet train --resume --checkpoint-dir %s --lr %.3g",
				err, last, ck.Meta.Epoch, ck.Meta.Step, f.CheckpointDir, f.LR/10)
		}
		if nf.Input {
			return err
		}
		return fmt.Errorf("%w\nno checkpoint was saved before it: start again with a lower rate (--lr %.3g)", err, f.LR/10)
	case err != nil:
		return err
	}
	if res.EarlyStopped {
		fmt.Fprintf(env.Stdout, "early stopping: %s has not improved for %d epochs (best %.4f at epoch %d)\n", monitor, f.EarlyStop, tr.Best.Value, tr.Best.Epoch)
	}
	if tr.Best != nil {
		fmt.Fprintf(env.Stdout, "best %s %.4f at epoch %d: %s\n", tr.Best.Monitor, tr.Best.Value, tr.Best.Epoch, filepath.Join(f.CheckpointDir, "best.safetensors"))
	}
	return nil
}

var patternField = regexp.MustCompile(`\{epoch(?::0?(\d+)d)?\}`)

// expandPattern fills Keras' {epoch:02d} into a checkpoint name.
func expandPattern(p string, epoch int) string {
	return patternField.ReplaceAllStringFunc(p, func(m string) string {
		sub := patternField.FindStringSubmatch(m)
		if sub[1] == "" {
			return strconv.Itoa(epoch)
		}
		w, _ := strconv.Atoi(sub[1])
		return fmt.Sprintf("%0*d", w, epoch)
	})
}
