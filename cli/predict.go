package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/goresnet/goresnet/model/data/imageio"
	"github.com/goresnet/goresnet/model/predict"
	"github.com/goresnet/goresnet/model/train"
)

func init() {
	register(&command{name: "predict", summary: "classify pictures with a checkpoint: top-k classes with probabilities", run: runPredict})
}

const predictHelp = `
Classifies each picture (JPEG, PNG, GIF or WebP) with a checkpoint: the
picture is prepared as the checkpoint's training data was (upright by its
EXIF orientation, resized with padding to the input size with a Lanczos-3
kernel, normalised), then run in eval mode. Prints the top-k classes with
their probabilities, or JSON with --json.

Example:
  goresnet predict --checkpoint runs/latest/best.safetensors --top 3 photo.jpg`

type prediction struct {
	File  string       `json:"file"`
	Top   []classScore `json:"top,omitempty"`
	Error string       `json:"error,omitempty"`
}

type classScore struct {
	Class       string  `json:"class"`
	Index       int     `json:"index"`
	Probability float64 `json:"probability"`
}

func runPredict(env *Env, args []string) error {
	fs := newFlags(env, "predict", "--checkpoint C [--top K] [--json] IMAGE...", predictHelp)
	ckPath := fs.String("checkpoint", "", "checkpoint (from train)")
	top := fs.Int("top", 5, "how many classes to show")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ckPath == "" || fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("--checkpoint and at least one image are required")
	}
	ck, err := train.OpenCheckpoint(*ckPath)
	if err != nil {
		return err
	}
	// The browser's Predict page classifies with the same code.
	c, err := predict.New(ck)
	if err != nil {
		return err
	}
	var results []prediction
	failed := 0
	for _, file := range fs.Args() {
		p := prediction{File: file}
		err := func() error {
			if st, err := os.Stat(file); err == nil && st.Size() > imageio.MaxFileBytes(predict.MaxPixels) {
				return fmt.Errorf("%d bytes, more than a picture of at most %d megapixels takes", st.Size(), predict.MaxPixels/1_000_000)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			scores, err := c.Classify(b, *top)
			for _, s := range scores {
				p.Top = append(p.Top, classScore(s))
			}
			return err
		}()
		if err != nil {
			p.Error = err.Error()
			failed++
		}
		results = append(results, p)
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			if r.Error != "" {
				fmt.Fprintf(env.Stdout, "%s: error: %s\n", r.File, r.Error)
				continue
			}
			fmt.Fprintf(env.Stdout, "%s:\n", r.File)
			for _, s := range r.Top {
				fmt.Fprintf(env.Stdout, "  %6.2f%%  %s\n", 100*s.Probability, s.Class)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d pictures could not be classified", failed, len(results))
	}
	return nil
}
