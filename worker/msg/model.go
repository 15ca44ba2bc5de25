package msg

// The Model and Export pages' requests (worker/README.md describes them
// for JavaScript readers).
const (
	// ModelDescribe builds a network and describes it: the summary table,
	// the totals, the graph as SVG, and a check of pretrained weights
	// (buffer "weights": a File, Blob or ArrayBuffer) against it.
	ModelDescribe = "model-describe" // ModelDescribeRequest -> ModelDescription
	// CheckpointExport converts a stored checkpoint to safetensors or ONNX:
	// CheckpointExportRequest -> ExportResult, the file in buffer "file".
	CheckpointExport = "checkpoint-export"
)

// ModelDescribeRequest is the network the Model page shows: the
// architecture and its options, the freezing the Train page will use,
// and optionally a weights file to check (its name here, its bytes in
// buffer "weights").
type ModelDescribeRequest struct {
	Arch     string  `json:"arch"`
	WidthDiv int     `json:"width_div"`
	Head     string  `json:"head"`
	Dropout  float64 `json:"dropout"`
	Classes  int     `json:"classes"`
	Size     int     `json:"size"`
	Freeze   string  `json:"freeze,omitempty"`
	HeadOnly bool    `json:"head_only,omitempty"`
	Weights  string  `json:"weights,omitempty"`
	// FromWeights takes the architecture, width and head from the weights
	// file (as the CLI's --weights does when --arch is not given).
	FromWeights bool `json:"from_weights,omitempty"`
	Graph       bool `json:"graph,omitempty"` // draw the graph too
}

// ModelDescription is a network's summary (the CLI's summary command's
// data) and graph (its graph command's, as SVG).
type ModelDescription struct {
	Arch     string     `json:"arch"`
	WidthDiv int        `json:"width_div"`
	Head     string     `json:"head"`
	Classes  int        `json:"classes"`
	Size     int        `json:"size"`
	Layers   []LayerRow `json:"layers"`
	// Parameters as torchvision counts them; non-trainable are the frozen
	// ones. Buffers are batch norms' running statistics.
	Total        int   `json:"total"`
	Trainable    int   `json:"trainable"`
	NonTrainable int   `json:"non_trainable"`
	Buffers      int   `json:"buffers"`
	MACs         int64 `json:"macs"` // multiply-adds of one image's forward pass
	// Weights is the check of the weights file (nil without one).
	Weights *WeightsReport `json:"weights,omitempty"`
	Graph   string         `json:"graph,omitempty"` // SVG
}

// LayerRow is one line of the summary.
type LayerRow struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Shape     []int  `json:"shape"` // -1: the open batch size
	Params    int    `json:"params"`
	Trainable int    `json:"trainable"`
	Inputs    []int  `json:"inputs,omitempty"`
}

// WeightsReport says what a weights file holds and whether it fits the
// network: Err names the file and the tensors at fault.
type WeightsReport struct {
	Name     string `json:"name"`
	Tensors  int    `json:"tensors"`
	Arch     string `json:"arch,omitempty"` // as the tensors' names show
	Classes  int    `json:"classes,omitempty"`
	WidthDiv int    `json:"width_div,omitempty"`
	// Replaced is the file's class count when fc is replaced by a new
	// layer for the network's (0: loaded as is).
	Replaced int    `json:"replaced,omitempty"`
	Err      string `json:"error,omitempty"`
}

// CheckpointExportRequest names a stored checkpoint and the format to
// write: "safetensors" (torchvision's names, the CLI's export --format
// safetensors) or "onnx" (export --format onnx).
type CheckpointExportRequest struct {
	Checkpoint    string `json:"checkpoint"`
	Name          string `json:"name,omitempty"` // the file's base name (default: from the checkpoint's ID)
	Format        string `json:"format"`
	KeepBatchNorm bool   `json:"keep_batchnorm,omitempty"`
}

// ExportResult describes the exported file (its bytes in buffer "file").
type ExportResult struct {
	Name    string `json:"name"`
	Format  string `json:"format"`
	Bytes   int    `json:"bytes"`
	Summary string `json:"summary"`
}
