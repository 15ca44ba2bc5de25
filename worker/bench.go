package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/goresnet/goresnet/model/kernels"
	"github.com/goresnet/goresnet/model/optim"
	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/worker/msg"
)

func init() {
	Handle(msg.Bench, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) { return reply(bench(m)) })
}

// bench times forward passes or training steps of a network on random
// input: what a worker computes, without data loading or all-reduce (the
// browser benchmarks in e2e use it).
func bench(m msg.Message) (*msg.BenchResult, error) {
	var req msg.BenchRequest
	if err := m.DecodeBody(&req); err != nil {
		return nil, err
	}
	if req.Classes == 0 {
		req.Classes = 1000
	}
	if req.Reps <= 0 || req.Batch <= 0 {
		return nil, fmt.Errorf("bench: %d repetitions of batch %d", req.Reps, req.Batch)
	}
	net, err := resnet.New(resnet.Config{Arch: req.Arch, Classes: req.Classes, WidthDiv: max(1, req.WidthDiv), InputSize: req.Size, Seed: 1})
	if err != nil {
		return nil, err
	}
	ws, err := net.NewWorkspace(req.Batch, req.Size, req.Size)
	if err != nil {
		return nil, err
	}
	opt, err := optim.New(optim.Config{Kind: "sgd", Momentum: 0.9}, net)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, ws.InputSize())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, req.Batch)
	for i := range labels {
		labels[i] = rng.IntN(req.Classes)
	}
	res := &msg.BenchResult{Kernel: kernels.KernelName(), FLOPs: ws.ForwardFLOPs()}
	for i := 0; i < req.Warmup+req.Reps; i++ {
		t0 := time.Now()
		switch req.Mode {
		case "forward":
			if _, err := ws.Forward(x, false); err != nil {
				return nil, err
			}
		case "train":
			net.ZeroTrainableGrad()
			if _, err := ws.Forward(x, true); err != nil {
				return nil, err
			}
			if _, err := ws.Loss(labels, 0); err != nil {
				return nil, err
			}
			if err := ws.Backward(); err != nil {
				return nil, err
			}
			opt.Step(0.01)
		default:
			return nil, fmt.Errorf("bench: mode %q (forward or train)", req.Mode)
		}
		if i >= req.Warmup {
			res.Seconds = append(res.Seconds, time.Since(t0).Seconds())
		}
		theEnv.yield()
	}
	return res, nil
}
