package cli

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goresnet/goresnet/model/train"
)

var colorOrange = color.RGBA{R: 230, G: 120, B: 20, A: 255}

func init() {
	register(&command{name: "plot", summary: "draw a run's loss and accuracy curves (train and validation) as PNG or SVG", run: runPlot})
}

const plotHelp = `
Draws the loss and accuracy curves of a training run from its history
(history.json or history.csv, written by train after every epoch), train
and validation side by side.

Example:
  goresnet plot --history runs/latest/history.json --out curves.png`

func runPlot(env *Env, args []string) error {
	fs := newFlags(env, "plot", "--history H.json|H.csv --out curves.png|svg", plotHelp)
	hist := fs.String("history", "", "history.json or history.csv")
	out := fs.String("out", "", "output .png or .svg")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hist == "" || *out == "" {
		fs.Usage()
		return fmt.Errorf("--history and --out are required")
	}
	h, err := readHistoryFile(*hist)
	if err != nil {
		return err
	}
	if err := historyPlots(h, *out); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: %d epochs\n", *out, len(h.Epochs))
	return nil
}

func readHistoryFile(path string) (*train.History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if strings.ToLower(filepath.Ext(path)) != ".csv" {
		h, err := train.ReadHistory(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return h, nil
	}
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	col := map[string]int{}
	for i, name := range recs[0] {
		col[name] = i
	}
	for _, need := range []string{"epoch", "loss", "accuracy"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s: no %q column", path, need)
		}
	}
	h := &train.History{}
	for li, r := range recs[1:] {
		num := func(name string) (float64, bool, error) {
			i, ok := col[name]
			if !ok || i >= len(r) || r[i] == "" {
				return 0, false, nil
			}
			v, err := strconv.ParseFloat(r[i], 64)
			if err != nil {
				return 0, false, fmt.Errorf("%s line %d: %s %q is not a number", path, li+2, name, r[i])
			}
			return v, true, nil
		}
		var e train.EpochStats
		var ep float64
		var err error
		if ep, _, err = num("epoch"); err != nil {
			return nil, err
		}
		e.Epoch = int(ep)
		if e.Loss, _, err = num("loss"); err != nil {
			return nil, err
		}
		if e.Accuracy, _, err = num("accuracy"); err != nil {
			return nil, err
		}
		if e.ValLoss, e.HasVal, err = num("val_loss"); err != nil {
			return nil, err
		}
		if e.ValAccuracy, _, err = num("val_accuracy"); err != nil {
			return nil, err
		}
		h.Epochs = append(h.Epochs, e)
	}
	return h, nil
}
