package runspec

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/goresnet/goresnet/internal/atomicfile"
)

// EpochStats is one row of the history, with Keras' metric names.
type EpochStats struct {
	Epoch       int     `json:"epoch"` // from 1
	Loss        float64 `json:"loss"`
	Accuracy    float64 `json:"accuracy"`
	ValLoss     float64 `json:"val_loss"`
	ValAccuracy float64 `json:"val_accuracy"`
	ValTop5     float64 `json:"val_top5"`
	LR          float64 `json:"lr"`
	Seconds     float64 `json:"seconds"`
	Images      int     `json:"images"` // training images seen in the epoch
	HasVal      bool    `json:"has_val"`
}

// History is what Keras' fit returns: the metrics of every epoch.
type History struct {
	Epochs []EpochStats `json:"epochs"`
}

// Metric returns a monitored metric of an epoch: loss, accuracy, val_loss,
// val_accuracy, val_top5.
func (e EpochStats) Metric(name string) (float64, error) {
	switch name {
	case "loss":
		return e.Loss, nil
	case "accuracy":
		return e.Accuracy, nil
	case "val_loss", "val_accuracy", "val_top5":
		if !e.HasVal {
			return math.NaN(), fmt.Errorf("no validation data for %s", name)
		}
		return map[string]float64{"val_loss": e.ValLoss, "val_accuracy": e.ValAccuracy, "val_top5": e.ValTop5}[name], nil
	}
	return 0, fmt.Errorf("unknown metric %q (have loss, accuracy, val_loss, val_accuracy, val_top5)", name)
}

// Best records the save-best monitor's best value.
type Best struct {
	Monitor string  `json:"monitor"`
	Value   float64 `json:"value"`
	Epoch   int     `json:"epoch"`
}

// LowerIsBetter says which way a metric improves.
func LowerIsBetter(metric string) bool { return metric == "loss" || metric == "val_loss" }

var csvHeader = []string{"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "val_top5", "lr", "seconds", "images"}

// WriteCSV writes the history as CSV (the columns of Keras' CSVLogger).
func (h *History) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	for _, e := range h.Epochs {
		val := func(v float64) string {
			if !e.HasVal {
				return ""
			}
			return f(v)
		}
		cw.Write([]string{strconv.Itoa(e.Epoch), f(e.Loss), f(e.Accuracy), val(e.ValLoss), val(e.ValAccuracy), val(e.ValTop5),
			f(e.LR), f(e.Seconds), strconv.Itoa(e.Images)})
	}
	cw.Flush()
	return cw.Error()
}

// Save writes history.json and history.csv atomically under prefix (e.g.
// "runs/x/history" gives runs/x/history.json and runs/x/history.csv).
func (h *History) Save(prefix string) error {
	if err := atomicfile.Write(prefix+".json", 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(h)
	}); err != nil {
		return err
	}
	return atomicfile.Write(prefix+".csv", 0o644, h.WriteCSV)
}

// ReadHistory parses history JSON.
func ReadHistory(r io.Reader) (*History, error) {
	var h History
	if err := json.NewDecoder(r).Decode(&h); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return &h, nil
}
