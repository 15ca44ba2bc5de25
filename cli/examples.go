package cli

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"

	"github.com/goresnet/goresnet/internal/atomicfile"
	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/augment"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

func init() {
	register(&command{name: "examples", summary: "draw a labelled grid of a dataset's images as a PNG (like tfds.show_examples)", run: runExamples})
}

const examplesHelp = `
Draws rows x cols examples of a split, picked at random (seeded), each
with its class name and label under it, into a PNG, as the notebook does
with tfds.show_examples. Small images are enlarged (nearest neighbour) to
at least --cell pixels. With --augment, each image is shown as the
training pipeline would feed it (e.g. --augment notebook).

Example:
  goresnet examples --data data/digits --split train --rows 3 --cols 3 --out grid.png`

func runExamples(env *Env, args []string) error {
	fs := newFlags(env, "examples", "--data DIR|URL --out grid.png [--split S] [--rows R] [--cols C] [--seed N] [--augment A]", examplesHelp)
	loc := fs.String("data", "", "dataset folder or URL")
	split := fs.String("split", "train", "split to draw from")
	rows := fs.Int("rows", 3, "grid rows")
	cols := fs.Int("cols", 3, "grid columns")
	seed := fs.Uint64("seed", 0, "seed for picking (and augmenting) the examples")
	cell := fs.Int("cell", 128, "minimum drawn image size in pixels")
	aug := fs.String("augment", "none", "augmentations to show: none, notebook, finetune, or steps (see data-bench -h)")
	out := fs.String("out", "", "output PNG")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *loc == "" || *out == "" {
		fs.Usage()
		return fmt.Errorf("--data and --out are required")
	}
	if *rows < 1 || *cols < 1 || *rows**cols > 400 {
		return fmt.Errorf("--rows x --cols must be 1 to 400 images")
	}
	acfg, err := augment.Parse(*aug)
	if err != nil {
		return err
	}
	ctx := context.Background()
	ds, err := data.OpenPath(ctx, *loc, nil)
	if err != nil {
		return err
	}
	m := ds.Manifest
	sp, err := m.Split(*split)
	if err != nil {
		return err
	}
	if sp.Count == 0 {
		return fmt.Errorf("split %s is empty", *split)
	}
	n := min(*rows**cols, sp.Count)
	r := rand.New(rand.NewPCG(*seed, 0xe8a3))
	picks := r.Perm(sp.Count)[:n]

	h, w := m.Image.Height, m.Image.Width
	k := max(1, (*cell+max(h, w)-1)/max(h, w))
	face := basicfont.Face7x13
	const pad, textH = 6, 16
	cw, ch := w*k+pad, h*k+textH+pad
	grid := image.NewRGBA(image.Rect(0, 0, *cols*cw+pad, *rows*ch+pad))
	for i := range grid.Pix {
		grid.Pix[i] = 255
	}
	buf := make([]float32, 3*h*w)
	cached := map[int]*shardRecords{}
	for i, idx := range picks {
		label, pix, err := record(ctx, ds, sp, cached, idx)
		if err != nil {
			return err
		}
		p := acfg.Sample(augment.NewRand(*seed, 0, idx), h, w)
		augment.Apply(buf, h, w, augment.Image{H: h, W: w, Pix: pix}, p, augment.Unit)
		x0, y0 := pad+(i%*cols)*cw, pad+(i / *cols)*ch
		for y := range h * k {
			for x := range w * k {
				o := (y/k)*w + x/k
				c := color.RGBA{unit8(buf[o]), unit8(buf[h*w+o]), unit8(buf[2*h*w+o]), 255}
				grid.SetRGBA(x0+x, y0+y, c)
			}
		}
		text := fmt.Sprintf("%s (%d)", m.Classes[label].Name, label)
		if maxc := w * k / 7; len(text) > maxc && maxc > 1 {
			text = text[:maxc-1] + "~"
		}
		d := font.Drawer{Dst: grid, Src: image.Black, Face: face, Dot: fixed.P(x0, y0+h*k+13)}
		d.DrawString(text)
	}
	if err := atomicfile.Write(*out, 0o644, func(wr io.Writer) error { return png.Encode(wr, grid) }); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: %d examples of %s/%s (%dx%d, drawn at %dx)\n", *out, n, m.Name, *split, w, h, k)
	return nil
}

func unit8(v float32) uint8 { return uint8(min(max(v*255+0.5, 0), 255)) }

type shardRecords struct {
	get func(i int) (uint32, []byte)
}

// record returns example idx of a split (shards are loaded once).
func record(ctx context.Context, ds *data.Dataset, sp *data.Split, cached map[int]*shardRecords, idx int) (int, []byte, error) {
	for s, info := range sp.Shards {
		if idx >= info.Records {
			idx -= info.Records
			continue
		}
		c, ok := cached[s]
		if !ok {
			sh, err := ds.Shard(ctx, sp.Name, s)
			if err != nil {
				return 0, nil, err
			}
			c = &shardRecords{get: sh.Record}
			cached[s] = c
		}
		l, pix := c.get(idx)
		return int(l), pix, nil
	}
	return 0, nil, fmt.Errorf("no example %d", idx)
}
