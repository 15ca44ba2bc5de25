package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
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
//
// A NaN or Inf anywhere in the state is refused (an error naming the
// tensor), so that a checkpoint is never a diverged state.
func SaveCheckpoint(path string, net *resnet.Net, opt *optim.Optimizer, meta Meta) error {
	ts, md, err := checkpointTensors(net, opt, meta)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return weights.WriteFile(path, ts, md)
}

// MarshalCheckpoint is SaveCheckpoint into memory: the same bytes, for
// storage that is not a file system (the browser's).
func MarshalCheckpoint(net *resnet.Net, opt *optim.Optimizer, meta Meta) ([]byte, error) {
	ts, md, err := checkpointTensors(net, opt, meta)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
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
	for _, t := range ts {
		if !finite(t.F32) {
			return nil, nil, fmt.Errorf("tensor %q holds NaN or Inf: not saved", t.Name)
		}
	}
	js, err := json.Marshal(meta)
	if err != nil {
		return nil, nil, err
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

// MaxInputSize is the largest input size a checkpoint may declare:
// predict and the browser resize every picture to it, and the notebook
// head's fc grows with its square.
const MaxInputSize = 4096

// OpenCheckpoint reads and verifies a checkpoint: a file that is not one,
// is truncated, or whose tensors don't match their checksum is refused with
// an error naming the file.
func OpenCheckpoint(path string) (*Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return ParseCheckpoint(data, path)
}

// ParseCheckpoint reads and verifies a checkpoint held in memory (the
// browser has no files); name is used in errors. Beyond the checksum, the
// metadata is checked (counters not negative, the optimizer's state one
// flag per parameter, an input size the network supports, a known
// normalisation), and the tensors are checked against the network the
// metadata describes before anything is built: Net and RestoreOptimizer
// then allocate no more than the file holds. The checkpoint keeps
// references into data.
func ParseCheckpoint(data []byte, name string) (*Checkpoint, error) {
	f, err := weights.Parse(data, name)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	return checkpointOf(f, true)
}

// checkpointOf checks a parsed file as a checkpoint; verify checks the
// tensors' sha256 (the fuzz target turns it off to reach the rest).
func checkpointOf(f *weights.File, verify bool) (*Checkpoint, error) {
	path := f.Path
	if f.Metadata["goresnet"] != CheckpointFormat {
		return nil, fmt.Errorf("checkpoint %s: not a goresnet checkpoint (plain weights? use --weights)", path)
	}
	if verify {
		ts, err := fileTensors(f)
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", path, err)
		}
		if got, want := tensorsHash(ts), f.Metadata["tensors_sha256"]; got != want {
			return nil, fmt.Errorf("checkpoint %s: its tensors do not match their sha256 (the file is corrupt)", path)
		}
	}
	var meta Meta
	if err := json.Unmarshal([]byte(f.Metadata["checkpoint"]), &meta); err != nil {
		return nil, fmt.Errorf("checkpoint %s: metadata: %w", path, err)
	}
	if err := meta.check(); err != nil {
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
	c := &Checkpoint{Path: path, Config: cfg, Meta: meta, file: f}
	if err := weights.CheckFits(f, cfg, c.loadOptions()); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	// The optimizer's state: one flag per parameter, and moments as long
	// as the parameters (checked again against the optimizer on restore).
	state, _ := resnet.StateShapes(cfg)
	params, values := 0, 0
	for _, e := range state {
		if e.Param != nil {
			params++
			values += prodInts(e.Shape)
		}
	}
	if meta.OptimStarted != "" && len(meta.OptimStarted) != params {
		return nil, fmt.Errorf("checkpoint %s: metadata: optimizer state for %d parameters, the network has %d", path, len(meta.OptimStarted), params)
	}
	for _, n := range []string{"optimizer.m", "optimizer.v"} {
		if !f.Has(n) {
			continue
		}
		dtype, shape, err := f.Shape(n)
		if err != nil || dtype != "F32" || len(shape) != 1 || shape[0] != values {
			return nil, fmt.Errorf("checkpoint %s: tensor %q is %s %v, want F32 [%d]", path, n, dtype, shape, values)
		}
	}
	return c, nil
}

func prodInts(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

// check refuses metadata that no training run writes.
func (m *Meta) check() error {
	for _, c := range []struct {
		name string
		v    int
	}{{"epoch", m.Epoch}, {"step", m.Step}, {"batch_in_epoch", m.BatchInEpoch}, {"optimizer_steps", m.OptimSteps},
		{"partial.seen", m.Partial.Seen}, {"partial.correct", m.Partial.Correct}} {
		if c.v < 0 {
			return fmt.Errorf("%s is %d", c.name, c.v)
		}
	}
	if strings.Trim(m.OptimStarted, "01") != "" {
		return fmt.Errorf("optimizer_started holds other characters than 0 and 1")
	}
	p := m.Preprocess
	if p.Size != 0 {
		if err := resnet.CheckInputSize(p.Size, p.Size); err != nil || p.Size > MaxInputSize {
			return fmt.Errorf("preprocess: input size %d: want a multiple of 32 from 32 to %d", p.Size, MaxInputSize)
		}
	}
	switch p.Norm {
	case "", "imagenet", "unit":
	default:
		return fmt.Errorf("preprocess: unknown normalisation %q", p.Norm)
	}
	if len(p.Mean) != len(p.Std) || (len(p.Mean) != 0 && len(p.Mean) != 3) {
		return fmt.Errorf("preprocess: %d means and %d standard deviations, want 3 of each", len(p.Mean), len(p.Std))
	}
	for i := range p.Std {
		// Pixels are divided by it: a tiny one would make them overflow.
		if !(p.Std[i] >= 1e-6) || math.IsInf(float64(p.Std[i]), 0) {
			return fmt.Errorf("preprocess: standard deviation %v (want at least 1e-6)", p.Std[i])
		}
	}
	return nil
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
	return weights.LoadNet(net, c.file, c.loadOptions())
}

func (c *Checkpoint) loadOptions() weights.LoadOptions {
	return weights.LoadOptions{Ignore: func(n string) bool { return strings.HasPrefix(n, "optimizer.") }}
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
