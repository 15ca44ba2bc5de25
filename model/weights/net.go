package weights

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/goresnet/goresnet/model/resnet"
)

// LoadOptions loosens LoadNet for fine-tuning.
type LoadOptions struct {
	// Skip leaves the network's own (freshly initialised) values for the
	// state entries it returns true for, and ignores the file's tensors of
	// those names: e.g. the fc layer when the class count changes.
	Skip func(name string) bool
	// Ignore lets the file hold other tensors too (those it returns true
	// for), as a parity fixture does; by default an extra tensor is an error.
	Ignore func(name string) bool
}

// LoadNet copies every state_dict entry of net from f (safetensors or a
// PyTorch file), checking that the file holds exactly the network's
// tensors: a missing, extra, wrongly typed or wrongly shaped tensor is an
// error that names it (and both shapes). A missing num_batches_tracked is
// taken as 0, as PyTorch does for files older than 0.4.1. Nothing is
// changed unless the whole load succeeds.
func LoadNet(net *resnet.Net, f *File, opts LoadOptions) error {
	state := net.State()
	if err := fits(f, state, net.Config, opts); err != nil {
		return err
	}
	skip := opts.Skip
	if skip == nil {
		skip = func(string) bool { return false }
	}
	type pending struct {
		dst     []float32
		counter *int64
		f32     []float32
		i64     int64
	}
	var todo []pending
	for _, e := range state {
		if skip(e.Name) {
			continue
		}
		if e.Counter != nil {
			var v int64
			if f.Has(e.Name) {
				vs, _, err := f.Int64(e.Name)
				if err != nil {
					return err
				}
				v = vs[0]
			}
			todo = append(todo, pending{counter: e.Counter, i64: v})
			continue
		}
		v, _, err := f.Float32(e.Name)
		if err != nil {
			return err
		}
		todo = append(todo, pending{dst: e.Data, f32: v})
	}
	for _, p := range todo {
		if p.counter != nil {
			*p.counter = p.i64
		} else {
			copy(p.dst, p.f32)
		}
	}
	return nil
}

// CheckFits checks, before a network is built, that f holds exactly the
// tensors a network of cfg has (as LoadNet would load them, with the same
// errors), without allocating the network: with it, what a file makes a
// reader allocate for the network is bounded by the tensors the file
// really holds (the parameters, their gradients and an optimizer's state:
// a few times the file's size), whatever its header declares.
func CheckFits(f *File, cfg resnet.Config, opts LoadOptions) error {
	state, err := resnet.StateShapes(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	return fits(f, state, cfg, opts)
}

// fits checks f against a network's state_dict entries.
func fits(f *File, state []resnet.StateEntry, cfg resnet.Config, opts LoadOptions) error {
	skip := opts.Skip
	if skip == nil {
		skip = func(string) bool { return false }
	}
	want := make(map[string]bool, len(state))
	var problems []string
	for _, e := range state {
		want[e.Name] = true
		if skip(e.Name) {
			continue
		}
		if !f.Has(e.Name) {
			if e.Counter != nil {
				// Files from PyTorch before 0.4.1 have no num_batches_tracked;
				// PyTorch then loads it as 0, and so do we.
				continue
			}
			problems = append(problems, fmt.Sprintf("missing tensor %q (shape %s)", e.Name, shapeString(e.Shape)))
			continue
		}
		dtype, shape, raw, err := f.raw(e.Name)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if e.Counter != nil {
			if size, ok := intSizes[dtype]; !ok || len(raw) != size {
				problems = append(problems, fmt.Sprintf("tensor %q: want one integer (num_batches_tracked), file has %s %s", e.Name, dtype, shapeString(shape)))
			}
			continue
		}
		if dtype != "F32" {
			problems = append(problems, fmt.Sprintf("tensor %q is %s, want F32", e.Name, dtype))
			continue
		}
		if !slices.Equal(shape, e.Shape) {
			problems = append(problems, fmt.Sprintf("tensor %q has shape %s in the file, the network needs %s", e.Name, shapeString(shape), shapeString(e.Shape)))
			continue
		}
		if len(raw) != 4*numel(e.Shape) {
			problems = append(problems, fmt.Sprintf("tensor %q: %d bytes for shape %s", e.Name, len(raw), shapeString(shape)))
		}
	}
	for _, name := range f.Names() {
		// A training checkpoint (see model/train) also holds the
		// optimizer's state: not weights, and not an error.
		checkpointState := f.Metadata["goresnet"] != "" && strings.HasPrefix(name, "optimizer.")
		if !want[name] && !skip(name) && !checkpointState && (opts.Ignore == nil || !opts.Ignore(name)) {
			_, shape, _ := f.Shape(name)
			problems = append(problems, fmt.Sprintf("unexpected tensor %q (shape %s) that %s does not have", name, shapeString(shape), cfg.Arch))
		}
	}
	if len(problems) > 0 {
		const show = 8
		more := ""
		if len(problems) > show {
			more = fmt.Sprintf("\n  ... and %d more", len(problems)-show)
			problems = problems[:show]
		}
		return fmt.Errorf("%s does not fit %s with %d classes (width divisor %d, %s head):\n  %s%s",
			f.Path, cfg.Arch, cfg.Classes, cfg.WidthDiv, cfg.Head, strings.Join(problems, "\n  "), more)
	}
	return nil
}

// intSizes are the bytes per element of the integer dtypes Int64 reads.
var intSizes = map[string]int{"I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// NetTensors returns the network's state_dict as tensors to write, under
// torchvision's names (num_batches_tracked as a 0-d int64, as PyTorch saves
// it). The float data is shared with the network, not copied.
func NetTensors(net *resnet.Net) []Tensor {
	var ts []Tensor
	for _, e := range net.State() {
		if e.Counter != nil {
			ts = append(ts, Tensor{Name: e.Name, I64: []int64{*e.Counter}})
			continue
		}
		ts = append(ts, Tensor{Name: e.Name, Shape: e.Shape, F32: e.Data})
	}
	return ts
}

// NetMetadata describes the network in a file's __metadata__, so that a
// file can be loaded without repeating the flags it was made with.
func NetMetadata(net *resnet.Net) map[string]string {
	c := net.Config
	return map[string]string{
		"format":    "pt", // tensors in PyTorch's layouts and names
		"arch":      c.Arch,
		"classes":   fmt.Sprint(c.Classes),
		"width_div": fmt.Sprint(c.WidthDiv),
		"head":      c.Head.String(),
		"dropout":   strconv.FormatFloat(float64(c.Dropout), 'g', -1, 32),
	}
}

// SaveNet writes the network's state_dict to path atomically.
func SaveNet(net *resnet.Net, path string, extra map[string]string) error {
	md := NetMetadata(net)
	for k, v := range extra {
		md[k] = v
	}
	return WriteFile(path, NetTensors(net), md)
}

// InferConfig fills in what a weights file says about the network it holds:
// the architecture when cfg.Arch is empty (from the blocks the tensor names
// show), class count and width divisor from the tensors' shapes (a class
// count already set in cfg must agree), the head and its dropout rate from
// the metadata when present, and the input size (which the notebook head
// depends on) when the metadata has input_size and cfg.InputSize is 0.
func InferConfig(f *File, cfg *resnet.Config) error {
	if cfg.Arch == "" {
		arch, err := inferArch(f)
		if err != nil {
			return err
		}
		cfg.Arch = arch
	}
	_, fcw, err := f.Shape("fc.weight")
	if err != nil {
		return fmt.Errorf("%s: no fc.weight, so the class count is unknown: %w", f.Path, err)
	}
	_, c1, err := f.Shape("conv1.weight")
	if err != nil {
		return fmt.Errorf("%s: no conv1.weight: %w", f.Path, err)
	}
	if len(fcw) != 2 || len(c1) != 4 || c1[0] <= 0 || 64%c1[0] != 0 {
		return fmt.Errorf("%s: fc.weight %s or conv1.weight %s is not a ResNet's", f.Path, shapeString(fcw), shapeString(c1))
	}
	if cfg.Classes == 0 {
		cfg.Classes = fcw[0]
	} else if cfg.Classes != fcw[0] {
		return fmt.Errorf("%s: %d classes asked for, but fc.weight has shape %s (%d classes)", f.Path, cfg.Classes, shapeString(fcw), fcw[0])
	}
	if cfg.WidthDiv == 0 {
		cfg.WidthDiv = 64 / c1[0]
	}
	if h, ok := f.Metadata["head"]; ok {
		head, err := resnet.ParseHead(h)
		if err != nil {
			return fmt.Errorf("%s: metadata: %w", f.Path, err)
		}
		cfg.Head = head
	}
	if s, ok := f.Metadata["input_size"]; ok && cfg.InputSize == 0 {
		v, err := strconv.Atoi(s)
		if err != nil || resnet.CheckInputSize(v, v) != nil {
			return fmt.Errorf("%s: metadata: input_size %q is not a multiple of 32", f.Path, s)
		}
		cfg.InputSize = v
	}
	if d, ok := f.Metadata["dropout"]; ok {
		v, err := strconv.ParseFloat(d, 32)
		if err != nil {
			return fmt.Errorf("%s: metadata: dropout %q is not a number", f.Path, d)
		}
		cfg.Dropout = float32(v)
	}
	return nil
}

// inferArch finds the architecture whose blocks the file's tensor names
// show: how many blocks each stage has (layerS.I.conv1.weight) and whether
// they are bottlenecks (a conv3).
func inferArch(f *File) (string, error) {
	var blocks [4]int
	for s := range blocks {
		for f.Has(fmt.Sprintf("layer%d.%d.conv1.weight", s+1, blocks[s])) {
			blocks[s]++
		}
	}
	if blocks == [4]int{} {
		return "", fmt.Errorf("%s: no tensor named like a ResNet's (layer1.0.conv1.weight ...), so the architecture is unknown", f.Path)
	}
	kind := resnet.Basic
	if f.Has("layer1.0.conv3.weight") {
		kind = resnet.Bottleneck
	}
	for _, name := range resnet.ArchNames() {
		a, _ := resnet.LookupArch(name)
		if a.Blocks == blocks && a.Block == kind {
			return a.Name, nil
		}
	}
	return "", fmt.Errorf("%s: the tensors show %s blocks %v per stage, which is none of %s",
		f.Path, kind, blocks, strings.Join(resnet.ArchNames(), ", "))
}
