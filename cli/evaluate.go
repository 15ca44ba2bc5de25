package cli

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/goresnet/goresnet/internal/atomicfile"
	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/augment"
	"github.com/goresnet/goresnet/model/kernels"
	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/train"
)

func init() {
	register(&command{name: "evaluate", summary: "loss, top-1, top-5, per-class accuracy and confusion matrix (PNG, CSV) of a checkpoint on a split", run: runEvaluate})
}

const evaluateHelp = `
Runs a checkpoint in eval mode over a split of a dataset and prints the
loss, top-1 and top-5 accuracy and each class's accuracy; writes the
confusion matrix (rows: true class, columns: predicted) as CSV and as a
PNG heat map. The checkpoint's class names must match the dataset's.

Example:
  goresnet evaluate --checkpoint runs/latest/best.safetensors --data data/digits --split test`

func runEvaluate(env *Env, args []string) error {
	fs := newFlags(env, "evaluate", "--checkpoint C --data D [--split test] [--batch N] [--out-dir DIR]", evaluateHelp)
	ckPath := fs.String("checkpoint", "", "checkpoint (from train)")
	loc := fs.String("data", "", "dataset folder or URL")
	split := fs.String("split", "test", "split (tfds syntax: test, test[10%:])")
	batch := fs.Int("batch", 32, "batch size")
	outDir := fs.String("out-dir", "", "where to write confusion.csv and confusion.png (default: beside the checkpoint)")
	threads := fs.Int("threads", 0, "GEMM threads (default: all cores)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ckPath == "" || *loc == "" {
		fs.Usage()
		return fmt.Errorf("--checkpoint and --data are required")
	}
	if *threads > 0 {
		kernels.SetThreads(*threads)
	}
	ck, err := train.OpenCheckpoint(*ckPath)
	if err != nil {
		return err
	}
	net, err := ck.Net()
	if err != nil {
		return err
	}
	ctx := context.Background()
	ds, err := data.OpenPath(ctx, *loc, nil)
	if err != nil {
		return err
	}
	names := ds.Manifest.ClassNames()
	if err := sameClasses(ck.Meta.Classes, names, ck.Path, *loc); err != nil {
		return err
	}
	norm, err := checkpointNorm(ck)
	if err != nil {
		return err
	}
	size := ck.Meta.Preprocess.Size
	ld, err := data.NewLoader(ds, data.LoaderConfig{Split: *split, BatchSize: *batch, Size: size, Norm: norm, Prefetch: 2})
	if err != nil {
		return err
	}
	wss := map[int]*resnet.Workspace{}
	workspace := func(n int) (*resnet.Workspace, error) {
		if ws, ok := wss[n]; ok {
			return ws, nil
		}
		ws, err := net.NewWorkspace(n, size, size)
		wss[n] = ws
		return ws, err
	}
	it := ld.Epoch(ctx, 0)
	defer it.Close()
	m, err := train.Evaluate(ctx, net, workspace, it)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s on %s %s (%d examples): loss %.4f, top-1 %.4f, top-5 %.4f\n", ck.Path, ds.Manifest.Name, *split, m.N, m.Loss, m.Top1, m.Top5)
	fmt.Fprintf(env.Stdout, "\n%-24s %8s %9s\n", "class", "examples", "accuracy")
	for i, acc := range m.PerClass {
		n := 0
		for _, v := range m.Confusion[i] {
			n += v
		}
		a := "-"
		if !math.IsNaN(acc) {
			a = strconv.FormatFloat(acc, 'f', 4, 64)
		}
		fmt.Fprintf(env.Stdout, "%-24s %8d %9s\n", truncate(names[i], 24), n, a)
	}
	dir := *outDir
	if dir == "" {
		dir = filepath.Dir(ck.Path)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	csvPath, pngPath := filepath.Join(dir, "confusion.csv"), filepath.Join(dir, "confusion.png")
	if err := atomicfile.Write(csvPath, 0o644, func(w io.Writer) error { return writeConfusionCSV(w, names, m.Confusion) }); err != nil {
		return err
	}
	if err := writeConfusionPNG(pngPath, names, m.Confusion); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "\nconfusion matrix: %s, %s\n", csvPath, pngPath)
	return nil
}

func sameClasses(ck, ds []string, ckPath, dsPath string) error {
	if len(ck) != len(ds) {
		return fmt.Errorf("%s has %d classes, the dataset %s has %d", ckPath, len(ck), dsPath, len(ds))
	}
	for i := range ck {
		if ck[i] != ds[i] {
			return fmt.Errorf("%s and %s disagree on class %d: %q vs %q", ckPath, dsPath, i, ck[i], ds[i])
		}
	}
	return nil
}

// checkpointNorm is the normalisation the checkpoint was trained with.
func checkpointNorm(ck *train.Checkpoint) (augment.Norm, error) {
	p := ck.Meta.Preprocess
	if len(p.Mean) == 3 && len(p.Std) == 3 {
		return augment.Norm{Name: p.Norm, Mean: [3]float32{p.Mean[0], p.Mean[1], p.Mean[2]}, Std: [3]float32{p.Std[0], p.Std[1], p.Std[2]}}, nil
	}
	name := p.Norm
	if name == "" {
		name = "imagenet"
	}
	return augment.ParseNorm(name)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func writeConfusionCSV(w io.Writer, names []string, conf [][]int) error {
	cw := csv.NewWriter(w)
	cw.Write(append([]string{"true \\ predicted"}, names...))
	for i, row := range conf {
		rec := []string{names[i]}
		for _, v := range row {
			rec = append(rec, strconv.Itoa(v))
		}
		cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}
