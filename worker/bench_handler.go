package main

import (
	"math/rand/v2"
	"time"

	"github.com/goresnet/goresnet/model/kernels"
	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/worker/msg"
)

// BenchStep is the "bench-step" request that `make bench` sends (see
// bench/ and README.md): one step of a full-size, freshly initialised
// ResNet-50 on a random batch, timed inside the worker. The network and
// its workspace are built by the first request of a given shape (which
// the harness sends as its warm-up) and kept for the next ones.
type BenchStep struct {
	Mode  string `json:"mode"`  // "forward" (eval mode) or "train" (forward, loss, backward; no optimizer step)
	Batch int    `json:"batch"` // images per step (default 1)
	Size  int    `json:"size"`  // input height and width (default 224)
}

// BenchResult answers a BenchStep.
type BenchResult struct {
	Mode   string  `json:"mode"`
	Batch  int     `json:"batch"`
	Size   int     `json:"size"`
	MS     float64 `json:"ms"`     // the step, measured in Go
	Setup  float64 `json:"setup"`  // ms spent building the network and workspace for this request (0 when kept)
	Kernel string  `json:"kernel"` // the GEMM micro-kernel
	ActMiB float64 `json:"actMiB"` // activation memory per image
}

// benchState is what bench-step keeps between requests.
var benchState struct {
	net    *resnet.Net
	ws     *resnet.Workspace
	batch  int
	size   int
	x      []float32
	labels []int
}

func init() {
	Handle("bench-step", benchStep)
}

func benchStep(m msg.Message, _ Inbox) (msg.Message, []msg.Buffer) {
	var req BenchStep
	if err := m.DecodeBody(&req); err != nil {
		return msg.Errorf(m.ID, "bench-step: %v", err), nil
	}
	if req.Batch == 0 {
		req.Batch = 1
	}
	if req.Size == 0 {
		req.Size = 224
	}
	if req.Mode != "forward" && req.Mode != "train" {
		return msg.Errorf(m.ID, "bench-step: mode %q: want forward or train", req.Mode), nil
	}
	st := &benchState
	t0 := time.Now()
	if st.net == nil {
		net, err := resnet.New(resnet.DefaultConfig())
		if err != nil {
			return msg.Errorf(m.ID, "bench-step: %v", err), nil
		}
		st.net = net
	}
	if st.ws == nil || st.batch != req.Batch || st.size != req.Size {
		st.ws = nil // let the old workspace go before the new one is planned
		ws, err := st.net.NewWorkspace(req.Batch, req.Size, req.Size)
		if err != nil {
			return msg.Errorf(m.ID, "bench-step: %v", err), nil
		}
		st.ws, st.batch, st.size = ws, req.Batch, req.Size
		r := rand.New(rand.NewPCG(1, 2))
		st.x = make([]float32, ws.InputSize())
		for i := range st.x {
			st.x[i] = float32(r.NormFloat64())
		}
		st.labels = make([]int, req.Batch)
		for i := range st.labels {
			st.labels[i] = i * 7 % st.net.Config.Classes
		}
	}
	setup := time.Since(t0)
	t1 := time.Now()
	train := req.Mode == "train"
	if _, err := st.ws.Forward(st.x, train); err != nil {
		return msg.Errorf(m.ID, "bench-step: %v", err), nil
	}
	if train {
		if _, err := st.ws.Loss(st.labels, 0); err != nil {
			return msg.Errorf(m.ID, "bench-step: %v", err), nil
		}
		if err := st.ws.Backward(); err != nil {
			return msg.Errorf(m.ID, "bench-step: %v", err), nil
		}
	}
	step := time.Since(t1)
	reply, err := msg.Message{Type: "bench-result"}.WithBody(BenchResult{
		Mode: req.Mode, Batch: req.Batch, Size: req.Size,
		MS:     float64(step.Microseconds()) / 1e3,
		Setup:  float64(setup.Microseconds()) / 1e3,
		Kernel: kernels.KernelName(),
		ActMiB: float64(st.ws.ActivationBytesPerImage()) / (1 << 20),
	})
	if err != nil {
		return msg.Errorf(m.ID, "bench-step: %v", err), nil
	}
	return reply, nil
}
