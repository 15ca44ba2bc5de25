//go:build js && wasm

package trainer

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/goresnet/goresnet/worker/msg"
)

// Evaluation and prediction (the app's Inference) run on the pool's last
// worker: training takes workers from the first, so with fewer training
// workers than the pool has, the last one is free; when training uses
// them all, the pages say that they wait (a worker runs one request at a
// time: an evaluation sent to a training worker would start only when
// training ends).

// inferenceWorker is the worker evaluation and prediction use.
func (t *Trainer) inferenceWorker() (int, error) {
	if why := t.InferenceBusy(); why != "" {
		return -1, errors.New(why)
	}
	return t.pool.Size() - 1, nil
}

// InferenceBusy implements webapp.Inference.
func (t *Trainer) InferenceBusy() string {
	t.mu.Lock()
	busy, k := t.busy, t.k
	t.mu.Unlock()
	n := t.pool.Size()
	if busy && n-1 < k {
		return fmt.Sprintf("Training uses all %d workers: this waits until training ends (or train with fewer workers than %d to keep one free).", n, n)
	}
	return ""
}

// Evaluate implements webapp.Inference: the worker opens the dataset
// (its shards come from the persistent cache once downloaded) and
// evaluates the checkpoint.
func (t *Trainer) Evaluate(ctx context.Context, req msg.EvaluateRequest) (*msg.EvaluateResult, error) {
	i, err := t.inferenceWorker()
	if err != nil {
		return nil, err
	}
	open, err := (msg.Message{Type: msg.DatasetOpen}).WithBody(msg.DatasetOpenRequest{Name: req.Dataset})
	if err != nil {
		return nil, err
	}
	if _, err := t.pool.Request(ctx, i, open); err != nil {
		return nil, fmt.Errorf("opening dataset %s: %w", req.Dataset, err)
	}
	m, err := (msg.Message{Type: msg.Evaluate}).WithBody(req)
	if err != nil {
		return nil, err
	}
	r, err := t.pool.Request(ctx, i, m)
	if err != nil {
		return nil, err
	}
	var res msg.EvaluateResult
	return &res, r.DecodeBody(&res)
}

// Predict implements webapp.Inference: the picture (a File or Blob) goes
// to the worker as it is; the worker reads, decodes and resizes it.
func (t *Trainer) Predict(ctx context.Context, image any, req msg.PredictRequest) (*msg.PredictResult, error) {
	v, ok := image.(js.Value)
	if !ok || !v.Truthy() {
		return nil, errors.New("no picture")
	}
	i, err := t.inferenceWorker()
	if err != nil {
		return nil, err
	}
	m, err := (msg.Message{Type: msg.Predict}).WithBody(req)
	if err != nil {
		return nil, err
	}
	r, err := t.pool.RequestJS(ctx, i, m, map[string]js.Value{"image": v})
	if err != nil {
		return nil, err
	}
	var res msg.PredictResult
	return &res, r.DecodeBody(&res)
}
