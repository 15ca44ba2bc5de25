package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/imageio"
	"github.com/goresnet/goresnet/model/data/importer"
)

func init() {
	register(&command{name: "import", summary: "import images (ImageFolder, Stanford Dogs, MNIST) into a dataset of checksummed shards", run: runImport})
}

const importHelp = `
Reads a folder of images and writes a dataset folder: shard files of
S x S RGB records (about 48 MB each) and manifest.json with the classes,
the splits and every shard's size and sha256. Each image is decoded (JPEG,
PNG, GIF, WebP), turned upright by its EXIF orientation, converted to RGB,
and resized with padding to S x S with a Lanczos-3 kernel (antialiased),
as the notebook's format_image does; normalisation happens at load time.

Formats:
  imagefolder    one folder per class (or train/, test/, val/ folders each
                 holding one folder per class). Without split folders, a
                 seeded stratified split puts --test-fraction of each class
                 in "test". A folder "n02085620-Chihuahua" is the class
                 "Chihuahua" (its synset is kept in the manifest).
  stanford-dogs  Stanford Dogs as distributed: Images/<synset>-<breed>/*.jpg,
                 with the official splits from train_list.mat and
                 test_list.mat when they are in --from (MATLAB v5/v7 files),
                 else a seeded stratified split in the official proportion.
  mnist          the four IDX files (train-images-idx3-ubyte[.gz] ...).

--split picks and names the output splits with tfds' syntax, e.g. the
notebook's split=['train', 'test[0%:10%]', 'test[10%:]'] is
  --split 'train,val=test[0%:10%],test=test[10%:]'
(an item without NAME= is named by its expression; '+' concatenates).

Bad files (empty, truncated, corrupt, not an image, an unsupported format,
a header declaring more than --max-pixels, unreadable) and empty classes
are skipped and listed in DIR/NAME/import-report.json; the import goes on.
Two classes with the same name, or no image at all, stop it. The dataset
appears only when complete (it is written to a hidden temporary folder and
renamed).

Examples:
  goresnet import --from ~/Pictures/pets --format imagefolder --size 224 --out data/pets
  goresnet import --from ~/stanford-dogs --format stanford-dogs --size 224 \
      --split 'train,val=test[0%:10%],test=test[10%:]' --out data/dogs`

func runImport(env *Env, args []string) error {
	fs := newFlags(env, "import", "--from DIR --format imagefolder|stanford-dogs|mnist --size S --out DIR/NAME [--split SPECS] [flags]", importHelp)
	from := fs.String("from", "", "source folder")
	format := fs.String("format", "imagefolder", "source format: "+strings.Join(importer.Formats, ", "))
	size := fs.Int("size", 224, "stored image size S (S x S)")
	out := fs.String("out", "", "dataset folder to write (its base name is the dataset name unless --name)")
	splits := fs.String("split", "", "output splits, e.g. 'train,val=test[0%:10%],test=test[10%:]' (default: the source's splits)")
	name := fs.String("name", "", "dataset name (default: the base name of --out)")
	desc := fs.String("description", "", "dataset description")
	seed := fs.Uint64("seed", 0, "seed for the example order and the stratified split")
	testFrac := fs.Float64("test-fraction", -1, "share of each class put in test when the source has no splits (default 0.2; Stanford Dogs: its official 8580/20580)")
	maxPix := fs.Int("max-pixels", imageio.DefaultMaxPixels, "refuse images whose header declares more pixels")
	shardMB := fs.Int("shard-mb", importer.DefaultShardBytes>>20, "target shard size in MiB")
	workers := fs.Int("workers", 0, "decoding goroutines (default: GOMAXPROCS)")
	force := fs.Bool("force", false, "replace an existing dataset folder")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" || *out == "" {
		fs.Usage()
		return fmt.Errorf("--from and --out are required")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	opts := importer.Options{Format: *format, Size: *size, Name: *name, Description: *desc, Seed: *seed,
		TestFraction: *testFrac, MaxPixels: *maxPix, ShardBytes: int64(*shardMB) << 20, Workers: *workers}
	if opts.Name == "" {
		opts.Name = filepath.Base(filepath.Clean(*out))
	}
	if *splits != "" {
		var err error
		if opts.Splits, err = data.ParseSplitList(*splits); err != nil {
			return err
		}
	}
	last := time.Now()
	opts.Progress = func(split string, done, total int) {
		if done == total || time.Since(last) > 2*time.Second {
			fmt.Fprintf(env.Stderr, "%s: %d/%d\n", split, done, total)
			last = time.Now()
		}
	}
	start := time.Now()
	m, rep, err := importer.ImportDir(context.Background(), opts, *from, *out, *force)
	if err != nil {
		return err
	}
	var n, shards int
	var bytes int64
	for _, s := range m.Splits {
		n += s.Count
		shards += len(s.Shards)
		for _, sh := range s.Shards {
			bytes += sh.Bytes
		}
	}
	fmt.Fprintf(env.Stdout, "%s: %d images, %d classes, %dx%d RGB, %d shards (%.1f MB) in %s (%.1fs)\n",
		m.Name, n, len(m.Classes), m.Image.Width, m.Image.Height, shards, float64(bytes)/1e6, *out, time.Since(start).Seconds())
	for _, s := range m.Splits {
		fmt.Fprintf(env.Stdout, "  %-14s %7d  (%s)\n", s.Name, s.Count, m.Source.Splits[s.Name])
	}
	for _, note := range rep.Notes {
		fmt.Fprintf(env.Stdout, "note: %s\n", note)
	}
	if k := len(rep.Skipped); k > 0 {
		rep.SortSkipped()
		fmt.Fprintf(env.Stderr, "skipped %d files (all listed in %s):\n", k, filepath.Join(*out, importer.ReportName))
		for i, s := range rep.Skipped {
			if i == 20 {
				fmt.Fprintf(env.Stderr, "  ... and %d more\n", k-20)
				break
			}
			fmt.Fprintf(env.Stderr, "  %s: %s\n", s.File, s.Reason)
		}
	}
	return nil
}
