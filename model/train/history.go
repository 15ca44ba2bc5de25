package train

import (
	"io"

	"github.com/goresnet/goresnet/model/runspec"
)

// The history types live in package run (which has no dependency on the
// model, so the browser's UI can use them); these names keep train's API.
type (
	// EpochStats is one row of the history (runspec.EpochStats).
	EpochStats = runspec.EpochStats
	// History is the metrics of every epoch (runspec.History).
	History = runspec.History
	// Best records the save-best monitor's best value (runspec.Best).
	Best = runspec.Best
)

// LowerIsBetter says which way a metric improves.
func LowerIsBetter(metric string) bool { return runspec.LowerIsBetter(metric) }

// ReadHistory parses history JSON.
func ReadHistory(r io.Reader) (*History, error) { return runspec.ReadHistory(r) }
