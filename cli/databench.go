package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/augment"
)

func init() {
	register(&command{name: "data-bench", summary: "measure the input pipeline in examples/s, first batch included and excluded (like tfds.benchmark)", run: runDataBench})
}

const dataBenchHelp = `
Runs the input pipeline over a split (one epoch, or --batches batches) as
training would, and reports examples per second with the first batch
included, the first batch alone, and the first batch excluded, as
tfds.benchmark does. The first batch pays for reading and verifying the
first shards; later ones come from memory (and, with --cache-mb, so does
a second epoch: try --epochs 2).

--augment takes a preset (none, notebook = flip=horizontal_and_vertical,
rotation=0.2, contrast=0.2; finetune = crop,flip=horizontal) or a list of
steps: crop[=MIN:MAX], flip=horizontal|vertical|horizontal_and_vertical,
rotation=F, contrast=F.

Example:
  goresnet data-bench --data data/digits --batch 64 --augment notebook`

func runDataBench(env *Env, args []string) error {
	fs := newFlags(env, "data-bench", "--data DIR|URL [--split S] [--batch N] [--batches N] [--augment A] [flags]", dataBenchHelp)
	loc := fs.String("data", "", "dataset folder or URL")
	split := fs.String("split", "train", "split")
	batch := fs.Int("batch", 32, "batch size")
	batches := fs.Int("batches", 0, "stop after this many batches (default: a whole epoch)")
	epochs := fs.Int("epochs", 1, "epochs to run (each reported)")
	aug := fs.String("augment", "none", "augmentations")
	size := fs.Int("size", 0, "output size (default: the stored size)")
	norm := fs.String("norm", "imagenet", "normalisation: imagenet (torchvision mean/std) or unit (/255)")
	prefetch := fs.Int("prefetch", 2, "batches prepared ahead by a goroutine (0: none)")
	workers := fs.Int("workers", 1, "goroutines preparing each batch")
	cacheMB := fs.Int("cache-mb", 1024, "keep shards in memory up to this many MiB (0: no cache)")
	seed := fs.Uint64("seed", 0, "shuffle and augmentation seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *loc == "" {
		fs.Usage()
		return fmt.Errorf("--data is required")
	}
	acfg, err := augment.Parse(*aug)
	if err != nil {
		return err
	}
	nm, err := augment.ParseNorm(*norm)
	if err != nil {
		return err
	}
	var cache data.Cache
	if *cacheMB > 0 {
		cache = data.NewMemoryCache(int64(*cacheMB) << 20)
	}
	ctx := context.Background()
	ds, err := data.OpenPath(ctx, *loc, cache)
	if err != nil {
		return err
	}
	l, err := data.NewLoader(ds, data.LoaderConfig{Split: *split, BatchSize: *batch, Shuffle: true, Seed: *seed,
		Size: *size, Augment: acfg, Norm: nm, Prefetch: *prefetch, Workers: *workers})
	if err != nil {
		return err
	}
	cfg := l.Config()
	fmt.Fprintf(env.Stdout, "%s/%s: %d examples, batch %d, %dx%d, augment %s, norm %s, prefetch %d, workers %d\n",
		ds.Manifest.Name, *split, l.Len(), *batch, cfg.Size, cfg.Size, acfg, nm.Name, *prefetch, *workers)
	for e := range *epochs {
		it := l.Epoch(ctx, e)
		start := time.Now()
		var first time.Duration
		var n, n1, nb int
		for *batches == 0 || nb < *batches {
			b, err := it.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				it.Close()
				return err
			}
			if nb == 0 {
				first, n1 = time.Since(start), b.N
			}
			n += b.N
			nb++
		}
		total := time.Since(start)
		it.Close()
		rate := func(n int, d time.Duration) float64 { return float64(n) / max(d.Seconds(), 1e-9) }
		fmt.Fprintf(env.Stdout, "************ Summary (epoch %d) ************\n", e)
		fmt.Fprintf(env.Stdout, "Examples/sec (First included) %.2f ex/sec (total: %d ex, %.2f sec)\n", rate(n, total), n, total.Seconds())
		fmt.Fprintf(env.Stdout, "Examples/sec (First only) %.2f ex/sec (total: %d ex, %.2f sec)\n", rate(n1, first), n1, first.Seconds())
		fmt.Fprintf(env.Stdout, "Examples/sec (First excluded) %.2f ex/sec (total: %d ex, %.2f sec)\n", rate(n-n1, total-first), n-n1, (total - first).Seconds())
	}
	return nil
}
