package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/goresnet/goresnet/model/optim"
	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/weights"
)

// CheckpointFormat marks a safetensors file as a goresnet checkpoint.
const CheckpointFormat = "goresnet-checkpoint/1"

// Preprocess is what a checkpoint says about the input it expects, so that
// predict and the browser prepare pictures the way training did.
type Preprocess struct {
	Size int       `json:"size"`
	Norm string    `json:"norm"` // "imagenet" or "unit" (/255)
	Mean []float32 `json:"mean,omitempty"`
	Std  []float32 `json:"std,omitempty"`
}

// Meta is the checkpoint's description; with the network's state_dict and
// the optimizer's tensors it is everything needed to predict, evaluate or
// resume exactly.
type Meta struct {
	Classes      []string        `json:"classes"`
	Preprocess   Preprocess      `json:"preprocess"`
	Epoch        int             `json:"epoch"`          // epochs completed
	Step         int             `json:"step"`           // optimizer steps taken
	BatchInEpoch int             `json:"batch_in_epoch"` // batches of the next epoch already done (a mid-epoch stop)
	Partial      Partial         `json:"partial"`        // their running sums
	Optimizer    optim.Config    `json:"optimizer"`
	OptimSteps   int             `json:"optimizer_steps"`
	OptimStarted string          `json:"optimizer_started"` // one '0'/'1' per parameter
	DropoutRNG   []byte          `json:"dropout_rng"`
	Frozen       []string        `json:"frozen,omitempty"`
	Train        json.RawMessage `json:"train,omitempty"` // the run's settings, for --resume
	History      History         `json:"history"`
	Best         *Best           `json:"best,omitempty"`
}

// Checkpoint is a loaded checkpoint.
type Checkpoint struct {
	Path   string
	Config resnet.Config
	Meta   Meta
	file   *weights.File
}

// SaveCheckpoint writes the network's state_dict (torchvision names, so
// the file also loads as plain weights), the optimizer's state and meta to
// path, atomically, with a sha256 over the tensors in the metadata.
func SaveCheckpoint(path string, net *resnet.Net, opt *optim.Optimizer, meta Meta) error {
	ts, md, err := checkpointTensors(net, opt, meta)
	if err != nil {
		return err
	}
	return weights.WriteFile(path, ts, md)
}

// MarshalCheckpoint is SaveCheckpoint into memory: the same bytes, for
// storage that is not a file system (the browser's).
func MarshalCheckpoint(net *resnet.Net, opt *optim.Optimizer, meta Meta) ([]byte, error) {
	ts, md, err := checkpointTensors(net, opt, meta)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := weights.Encode(&b, ts, md); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func checkpointTensors(net *resnet.Net, opt *optim.Optimizer, meta Meta) ([]weights.Tensor, map[string]string, error) {
	ts := weights.NetTensors(net)
	if opt != nil {
		st := opt.State()
		if st.M != nil {
			ts = append(ts, weights.Tensor{Name: "optimizer.m", Shape: []int{len(st.M)}, F32: st.M})
		}
		if st.V != nil {
			ts = append(ts, weights.Tensor{Name: "optimizer.v", Shape: []int{len(st.V)}, F32: st.V})
		}
		meta.Optimizer = opt.Config
		meta.OptimSteps = st.Steps
		var b strings.Builder
		for _, s := range st.Started {
			b.WriteByte("01"[btoi(s)])
		}
		meta.OptimStarted = b.String()
	}
	js, err := json.Marshal(meta)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %w", err)
	}
	md := weights.NetMetadata(net)
	md["goresnet"] = CheckpointFormat
	md["checkpoint"] = string(js)
	md["tensors_sha256"] = tensorsHash(ts)
	return ts, md, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tensorsHash is a sha256 over every tensor's name, shape and bytes in
// name order, independent of how the file lays them out.
func tensorsHash(ts []weights.Tensor) string {
	sorted := append([]weights.Tensor(nil), ts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	h := sha256.New()
	var b [8]byte
	for _, t := range sorted {
		h.Write([]byte(t.Name))
		for _, d := range t.Shape {
			binary.LittleEndian.PutUint64(b[:], uint64(d))
			h.Write(b[:])
		}
		for _, v := range t.F32 {
			binary.LittleEndian.PutUint32(b[:4], math.Float32bits(v))
			h.Write(b[:4])
		}
		for _, v := range t.I64 {
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fileTensors reads every tensor of f back, for the checksum.
func fileTensors(f *weights.File) ([]weights.Tensor, error) {
	var ts []weights.Tensor
	for _, name := range f.Names() {
		dtype, shape, err := f.Shape(name)
		if err != nil {
			return nil, err
		}
		t := weights.Tensor{Name: name, Shape: shape}
		if dtype == "F32" {
			t.F32, _, err = f.Float32(name)
		} else {
			t.I64, _, err = f.Int64(name)
		}
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// OpenCheckpoint reads and verifies a checkpoint: a file that is not one,
// is truncated, or whose tensors don't match their checksum is refused with
// an error naming the file.
func OpenCheckpoint(path string) (*Checkpoint, error) {
	f, err := weights.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return checkpointOf(f, path)
}

// ParseCheckpoint is OpenCheckpoint from memory (a checkpoint kept in the
// browser's storage, or picked from disk there); name is for messages.
// The checkpoint keeps references into b.
func ParseCheckpoint(b []byte, name string) (*Checkpoint, error) {
	f, err := weights.Parse(b, name)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	return checkpointOf(f, name)
}

func checkpointOf(f *weights.File, path string) (*Checkpoint, error) {
	if f.Metadata["goresnet"] != CheckpointFormat {
		return nil, fmt.Errorf("checkpoint %s: not a goresnet checkpoint (plain weights? use --weights)", path)
	}
	ts, err := fileTensors(f)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if got, want := tensorsHash(ts), f.Metadata["tensors_sha256"]; got != want {
		return nil, fmt.Errorf("checkpoint %s: its tensors do not match their sha256 (the file is corrupt)", path)
	}
	var meta Meta
	if err := json.Unmarshal([]byte(f.Metadata["checkpoint"]), &meta); err != nil {
		return nil, fmt.Errorf("checkpoint %s: metadata: %w", path, err)
	}
	cfg := resnet.Config{Arch: f.Metadata["arch"]}
	if err := weights.InferConfig(f, &cfg); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	cfg.InputSize = meta.Preprocess.Size
	if _, err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if len(meta.Classes) != 0 && len(meta.Classes) != cfg.Classes {
		return nil, fmt.Errorf("checkpoint %s: %d class names for %d classes", path, len(meta.Classes), cfg.Classes)
	}
	return &Checkpoint{Path: path, Config: cfg, Meta: meta, file: f}, nil
}

// Net builds the checkpoint's network with its weights.
func (c *Checkpoint) Net() (*resnet.Net, error) {
	net, err := resnet.New(c.Config)
	if err != nil {
		return nil, err
	}
	if err := c.LoadInto(net); err != nil {
		return nil, err
	}
	return net, nil
}

// LoadInto loads the weights into a network built for the same config.
func (c *Checkpoint) LoadInto(net *resnet.Net) error {
	return weights.LoadNet(net, c.file, weights.LoadOptions{Ignore: func(n string) bool { return strings.HasPrefix(n, "optimizer.") }})
}

// RestoreOptimizer gives opt the saved state; the optimizer kind must match.
func (c *Checkpoint) RestoreOptimizer(opt *optim.Optimizer) error {
	if opt.Config.Kind != c.Meta.Optimizer.Kind {
		return fmt.Errorf("checkpoint %s was trained with %s, not %s", c.Path, c.Meta.Optimizer.Kind, opt.Config.Kind)
	}
	st := optim.State{Steps: c.Meta.OptimSteps}
	if c.file.Has("optimizer.m") {
		st.M, _, _ = c.file.Float32("optimizer.m")
	}
	if c.file.Has("optimizer.v") {
		st.V, _, _ = c.file.Float32("optimizer.v")
	}
	for _, ch := range c.Meta.OptimStarted {
		st.Started = append(st.Started, ch == '1')
	}
	if err := opt.SetState(st); err != nil {
		return fmt.Errorf("checkpoint %s: %w", c.Path, err)
	}
	return nil
}
