package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goresnet/goresnet/model/predict"
	"github.com/goresnet/goresnet/model/train"
	"github.com/goresnet/goresnet/worker/msg"
)

// The predict request: the Predict page's classification of one picture,
// decoded and resized here exactly as the importer does (model/predict),
// with a checkpoint read from the browser's storage, so it works offline.

func init() {
	Handle(msg.Predict, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) { return reply(classifier.predict(m, in)) })
}

// predictor keeps the last checkpoint's network: the next picture is
// classified without reading and building it again.
type predictor struct {
	key string
	c   *predict.Classifier
}

var classifier predictor

func (p *predictor) predict(m msg.Message, in Inbox) (*msg.PredictResult, error) {
	var req msg.PredictRequest
	if err := m.DecodeBody(&req); err != nil {
		return nil, err
	}
	if req.Checkpoint == "" {
		return nil, errors.New("predict: no checkpoint given (train a model or import a checkpoint first)")
	}
	top := req.Top
	if top <= 0 {
		top = 5
	}
	name := req.Name
	if name == "" {
		name = "the picture"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	b, err := theEnv.readBuffer(ctx, in, "image")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%s: no picture (an empty file?)", name)
	}
	key := req.Checkpoint + "\x00" + req.Version
	cached := p.c != nil && p.key == key
	if !cached {
		p.c, p.key = nil, ""
		db, err := theEnv.store(ctx)
		if err != nil {
			return nil, err
		}
		data, err := db.CheckpointData(ctx, req.Checkpoint)
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", req.Checkpoint, err)
		}
		ck, err := train.ParseCheckpoint(data, req.Checkpoint)
		if err != nil {
			return nil, err
		}
		c, err := predict.New(ck)
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", req.Checkpoint, err)
		}
		p.c, p.key = c, key
	}
	scores, err := p.c.Classify(b, top)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	res := &msg.PredictResult{Checkpoint: req.Checkpoint, Size: p.c.Size, Classes: len(p.c.Classes), Cached: cached}
	for _, s := range scores {
		res.Top = append(res.Top, msg.ClassScore(s))
	}
	res.Seconds = time.Since(t0).Seconds()
	return res, nil
}
