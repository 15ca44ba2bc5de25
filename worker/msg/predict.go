package msg

// Predict classifies one picture with a stored checkpoint: PredictRequest
// (+ buffer "image": a File, Blob or ArrayBuffer of a JPEG, PNG, GIF or
// WebP file) -> PredictResult.
const Predict = "predict"

// PredictRequest names the checkpoint (a stored checkpoint's ID) and how
// many classes to return.
type PredictRequest struct {
	Checkpoint string `json:"checkpoint"`
	// Version tells two checkpoints saved under the same ID apart (the
	// record's creation time): the worker keeps the last network it
	// built and rebuilds it when either changes.
	Version string `json:"version,omitempty"`
	Top     int    `json:"top,omitempty"` // default 5
	// Name is the picture's file name, for error messages.
	Name string `json:"name,omitempty"`
}

// ClassScore is one class's probability.
type ClassScore struct {
	Class       string  `json:"class"`
	Index       int     `json:"index"`
	Probability float64 `json:"probability"`
}

// PredictResult is the most likely classes, most likely first.
type PredictResult struct {
	Checkpoint string       `json:"checkpoint"`
	Top        []ClassScore `json:"top"`
	Size       int          `json:"size"` // the network's input size the picture was resized to
	Classes    int          `json:"classes"`
	Cached     bool         `json:"cached"` // the network was built already
	Seconds    float64      `json:"seconds"`
}
