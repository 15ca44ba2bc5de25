package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/goresnet/goresnet/model/data/augment"
	"github.com/goresnet/goresnet/model/data/imageio"
	"github.com/goresnet/goresnet/model/nn"
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

// maxPredictPixels bounds a picture's declared size before decoding.
const maxPredictPixels = 100 << 20

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
	net, err := ck.Net()
	if err != nil {
		return err
	}
	norm, err := checkpointNorm(ck)
	if err != nil {
		return err
	}
	size := ck.Meta.Preprocess.Size
	ws, err := net.NewWorkspace(1, size, size)
	if err != nil {
		return err
	}
	classes := net.Config.Classes
	names := ck.Meta.Classes
	if len(names) != classes {
		names = make([]string, classes)
		for i := range names {
			names[i] = fmt.Sprintf("class %d", i)
		}
	}
	var rz imageio.Resizer
	pix := make([]uint8, size*size*3)
	x := make([]float32, 3*size*size)
	probs := make([]float32, classes)
	var results []prediction
	failed := 0
	for _, file := range fs.Args() {
		p := prediction{File: file}
		err := func() error {
			if st, err := os.Stat(file); err == nil && st.Size() > imageio.MaxFileBytes(maxPredictPixels) {
				return fmt.Errorf("%d bytes, more than a picture of at most %d megapixels takes", st.Size(), maxPredictPixels>>20)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			if _, err := rz.DecodeWithPad(pix, size, b, maxPredictPixels); err != nil {
				return err
			}
			augment.Normalize(x, augment.Image{H: size, W: size, Pix: pix}, norm)
			logits, err := ws.Forward(x, false)
			if err != nil {
				return err
			}
			nn.Softmax(probs, logits, 1, classes)
			order := make([]int, classes)
			for i := range order {
				order[i] = i
			}
			sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
			for _, i := range order[:min(*top, classes)] {
				p.Top = append(p.Top, classScore{Class: names[i], Index: i, Probability: float64(probs[i])})
			}
			return nil
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
