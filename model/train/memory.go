package train

import (
	"fmt"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/runspec"
)

// Wasm memory: a Go js/wasm instance can grow to about 3.8 GB before
// "fatal error: out of memory" kills it (it is not a recoverable panic),
// so a browser worker checks its plan against WasmBudget, which leaves a
// margin for what the estimate does not see (fragmentation, the garbage
// collector's slack, buffers crossing to JavaScript).
const (
	WasmMemoryLimit int64 = 3800 << 20
	WasmBudget      int64 = 3400 << 20
)

// Memory is the estimate of what one worker (one replica) needs for a run,
// in bytes.
type Memory struct {
	Params    int64 `json:"params"`    // the parameter slab and the running statistics
	Grads     int64 `json:"grads"`     // the gradient slab
	Optimizer int64 `json:"optimizer"` // momentum / Adam moments
	Workspace int64 `json:"workspace"` // activations and scratch for the replica's part of a batch (and the last validation batch's)
	Data      int64 `json:"data"`      // shards held by the loaders, batches prepared ahead, cached features
	Runtime   int64 `json:"runtime"`   // the program itself: code, Go runtime, small allocations
	Total     int64 `json:"total"`
	// PerImage is what one more image per replica adds (the workspace's
	// and the batch buffers' share), to find the largest batch that fits.
	PerImage int64 `json:"per_image"`
}

// runtimeBytes is the worker program's own memory (measured: worker.wasm
// runs in ~40 MB before it allocates a model), with room to spare.
const runtimeBytes = 96 << 20

// MemoryInput is what the estimate needs to know besides the network.
type MemoryInput struct {
	Settings     runspec.Settings
	Size         int   // input height and width
	Parts        int   // replicas sharing each batch (1: one worker)
	TrainBytes   int64 // the training split's shard bytes
	ShardBytes   int64 // the largest shard
	ValBytes     int64 // the validation split's shard bytes (0: none)
	ValExamples  int   // validation examples (for the last batch's workspace)
	Examples     int   // training examples (for the feature cache)
	FeatureCache bool
	MemoryBudget int64 // the loaders' shard budget (0: data's default, 1 GiB)
	Prefetch     int
}

// EstimateMemory estimates one replica's memory for a run of net (already
// built, with its trainability set).
func EstimateMemory(net *resnet.Net, in MemoryInput) (Memory, error) {
	s := in.Settings
	parts := max(1, in.Parts)
	lo, hi := data.PartRange(s.Batch, 0, parts)
	n := hi - lo // part 0 is never smaller than the others
	if n < 1 {
		return Memory{}, fmt.Errorf("a batch of %d cannot be split across %d workers", s.Batch, parts)
	}
	var m Memory
	m.Params = int64(len(net.ParamData)+len(net.BufferData)) * 4
	m.Grads = int64(len(net.GradData)) * 4
	switch s.Optimizer {
	case "adam", "adamw":
		m.Optimizer = 2 * int64(len(net.ParamData)) * 4
	default:
		if s.Momentum != 0 {
			m.Optimizer = int64(len(net.ParamData)) * 4
		}
	}
	ws, err := net.WorkspaceBytes(n, in.Size, in.Size)
	if err != nil {
		return m, err
	}
	ws1, err := net.WorkspaceBytes(1, in.Size, in.Size)
	if err != nil {
		return m, err
	}
	m.Workspace = ws
	if in.ValExamples > 0 {
		if r := in.ValExamples % s.Batch; r != 0 {
			if _, h := data.PartRange(r, 0, parts); h > 0 && h != n {
				b, err := net.WorkspaceBytes(h, in.Size, in.Size)
				if err != nil {
					return m, err
				}
				m.Workspace += b
			}
		}
	}
	held := func(split int64) int64 {
		budget := in.MemoryBudget
		if budget <= 0 {
			budget = 1 << 30
		}
		if split <= budget {
			return split
		}
		// A window of shards, and the next one fetched ahead.
		return min(split, 2*max(budget, 2*in.ShardBytes))
	}
	prefetch := in.Prefetch
	if prefetch <= 0 {
		prefetch = 2
	}
	image := int64(3*in.Size*in.Size) * 4
	batches := int64(prefetch+2) * int64(n) * image
	m.Data = held(in.TrainBytes) + batches
	if in.ValBytes > 0 {
		m.Data += held(in.ValBytes) + batches
	}
	if in.FeatureCache && in.Examples > 0 {
		if fc := net.Param("fc.weight"); fc != nil {
			// Features and a map entry per example.
			m.Data += int64(in.Examples) * (int64(fc.Shape[1])*4 + 64)
		}
	}
	m.Runtime = runtimeBytes
	m.PerImage = (ws - ws1) / int64(max(n-1, 1))
	if n == 1 {
		if ws2, err := net.WorkspaceBytes(2, in.Size, in.Size); err == nil {
			m.PerImage = ws2 - ws1
		}
	}
	m.PerImage += 2 * int64(prefetch+2) * image
	m.Total = m.Params + m.Grads + m.Optimizer + m.Workspace + m.Data + m.Runtime
	return m, nil
}

// CheckMemory estimates one replica's memory and refuses a run that would
// not fit in budget (WasmBudget in the browser) with a
// *BatchTooLargeError naming the largest batch that fits (a multiple of
// the replicas), or a plain error when not even the smallest does.
func CheckMemory(net *resnet.Net, in MemoryInput, budget int64) (Memory, error) {
	m, err := EstimateMemory(net, in)
	if err != nil || m.Total <= budget {
		return m, err
	}
	parts := max(1, in.Parts)
	what := fmt.Sprintf("needs about %s per worker (weights %s, gradients %s, optimizer %s, activations %s, data %s), more than the %s a browser worker can use",
		mib(m.Total), mib(m.Params), mib(m.Grads), mib(m.Optimizer), mib(m.Workspace), mib(m.Data), mib(budget))
	fits := func(batch int) bool {
		c := in
		c.Settings.Batch = batch
		e, err := EstimateMemory(net, c)
		return err == nil && e.Total <= budget
	}
	// The largest multiple of parts below the batch that fits.
	lo, hi := 0, (in.Settings.Batch-1)/parts // in multiples of parts
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(mid * parts) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 {
		return m, fmt.Errorf("a batch of %d %s, and even a batch of %d would not fit: use a smaller network or input size, freeze layers, or more workers",
			in.Settings.Batch, what, parts)
	}
	return m, &BatchTooLargeError{Batch: in.Settings.Batch, Largest: lo * parts,
		Message: fmt.Sprintf("a batch of %d %s: the largest batch that fits is %d", in.Settings.Batch, what, lo*parts)}
}

// BatchTooLargeError refuses a batch that would not fit in memory and
// names the largest that does.
type BatchTooLargeError struct {
	Batch, Largest int
	Message        string
}

func (e *BatchTooLargeError) Error() string { return e.Message }

func mib(b int64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}
