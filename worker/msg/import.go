package msg

import "github.com/goresnet/goresnet/model/data"

// Local import messages (worker/README.md, "Importing pictures"): a
// worker turns the pictures a person dropped or picked into a dataset
// with the CLI's importer and stores it in the browser; nothing is sent
// anywhere.
const (
	// DatasetImport: DatasetImportRequest (+ buffer "files": an array of
	// File objects, in the order of Paths) -> DatasetImportResult.
	DatasetImport = "dataset-import"
	// ImportProgress is posted (no id) while an import runs.
	ImportProgress = "import-progress"
	// DatasetSummaryReq: DatasetOpenRequest -> DatasetSummary, the class
	// counts and example strips of any dataset (the server's or a local one).
	DatasetSummaryReq = "dataset-summary"
)

// DatasetImportRequest describes the files of a local import. Paths are
// "class/picture.jpg" (or split folders "train/class/..."), as a dropped
// or picked folder gives them; a single top folder that holds the class
// folders is removed. Everything else is `goresnet import --format
// imagefolder`'s options.
type DatasetImportRequest struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Paths       []string `json:"paths"`
	Sizes       []int64  `json:"sizes,omitempty"` // each file's size in bytes (-1 or absent: unknown)
	Size        int      `json:"size"`            // stored images are Size x Size
	Seed        uint64   `json:"seed"`
	// TestFraction is the share of each class put in "test" (the
	// validation split), negative for the importer's default (0.2).
	TestFraction float64 `json:"test_fraction"`
}

// ImportProgressReport says how far an import is.
type ImportProgressReport struct {
	Name  string `json:"name"`
	Phase string `json:"phase"` // "checking" the files, "split" being written, "storing", "summary"
	Split string `json:"split,omitempty"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

// Skipped is one input file an import left out, and why (the CLI's
// importer.Skipped).
type Skipped struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// ImportReport is what an import skipped and noted (importer.Report).
type ImportReport struct {
	Skipped []Skipped `json:"skipped"`
	Notes   []string  `json:"notes,omitempty"`
}

// DatasetImportResult is an import's dataset, report and summary.
type DatasetImportResult struct {
	Manifest *data.Manifest `json:"manifest"`
	Report   ImportReport   `json:"report"`
	Summary  DatasetSummary `json:"summary"`
}

// DatasetSummary is what the Data page shows of a dataset: the examples
// of each class in each split, and a strip of pictures per class.
type DatasetSummary struct {
	Name    string   `json:"name"`
	Classes []string `json:"classes"`
	Splits  []string `json:"splits"`
	// Counts[s][c] is the number of examples of class c in split s; nil
	// when the dataset was too big to count.
	Counts [][]int `json:"counts,omitempty"`
	// Examples are PNG strips of up to ExamplesPerClass pictures of each
	// class (the first in the first split's order), with how many each has.
	Examples []ClassExamples `json:"examples"`
}

// ClassExamples is a class's strip of example pictures.
type ClassExamples struct {
	Class int    `json:"class"`
	N     int    `json:"n"`
	Cell  int    `json:"cell"` // each picture's size in the strip, in pixels
	PNG   []byte `json:"png"`  // base64 in JSON
}

// ExamplesPerClass is how many pictures a class's strip shows.
const ExamplesPerClass = 8
