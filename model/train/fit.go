package train

import (
	"context"
	"errors"
	"math"
)

// FitHooks connect Fit to the data and to storage: the CLI writes files,
// the browser writes to its own storage. Train is required; the rest may be
// nil.
type FitHooks struct {
	// Train returns epoch's iterator (epoch counts from 1) and its batch
	// count.
	Train func(ctx context.Context, epoch int) (Iterator, int, error)
	// Order returns the examples of an epoch in order (the loader's
	// EpochIndex); with the feature cache enabled and holding every one
	// of them, Fit trains the head from the cache in this order instead
	// of calling Train.
	Order     func(epoch int) []int
	Examples  int // training examples per epoch
	BatchSize int
	// Val returns the validation iterator; nil means no validation.
	Val func(ctx context.Context) (Iterator, error)
	// EpochEnd runs after every epoch (Keras' callbacks: checkpoint,
	// save-best, history), with whether it improved the monitored metric.
	EpochEnd func(st EpochStats, improved bool) error
	// Interrupted runs when Stop ends the run mid-epoch: save a checkpoint
	// there to resume from.
	Interrupted func() error
}

// FitResult says how a run ended.
type FitResult struct {
	EarlyStopped bool // no improvement for Patience epochs
}

// Fit trains until Cfg.Epochs epochs are done (counting those of a resumed
// run), early stopping ends it, or Stop is called (ErrStopped, after
// Interrupted). A NaN or Inf loss or gradient ends it with a
// *NonFiniteError; the bad step is never applied.
func (t *Trainer) Fit(ctx context.Context, h FitHooks) (FitResult, error) {
	var res FitResult
	for t.Epoch < t.Cfg.Epochs {
		epoch := t.Epoch + 1
		var st EpochStats
		var err error
		var order []int
		if h.Order != nil && t.useCache {
			order = h.Order(epoch)
		}
		if order != nil && t.cachedAll(order) {
			st, err = t.RunCachedEpoch(ctx, order, h.BatchSize)
		} else {
			var it Iterator
			var n int
			it, n, err = h.Train(ctx, epoch)
			if err == nil {
				st, err = t.RunEpoch(ctx, it, n)
				if c, ok := it.(interface{ Close() }); ok {
					c.Close()
				}
			}
			if err == nil && order != nil {
				// Replicas share the features each computed.
				err = t.gatherFeatures(order)
			}
		}
		if errors.Is(err, ErrStopped) || (err != nil && ctx.Err() != nil) {
			if h.Interrupted != nil {
				if ierr := h.Interrupted(); ierr != nil {
					return res, ierr
				}
			}
			return res, ErrStopped
		}
		if err != nil {
			return res, err
		}
		if h.Val != nil {
			it, err := h.Val(ctx)
			if err != nil {
				return res, err
			}
			m, err := t.Evaluate(ctx, it)
			if c, ok := it.(interface{ Close() }); ok {
				c.Close()
			}
			if err != nil {
				return res, err
			}
			st.HasVal = true
			st.ValLoss, st.ValAccuracy, st.ValTop5 = m.Loss, m.Top1, m.Top5
		}
		improved := t.observe(st)
		t.History.Epochs = append(t.History.Epochs, st)
		if h.EpochEnd != nil {
			if err := h.EpochEnd(st, improved); err != nil {
				return res, err
			}
		}
		if t.Cfg.Patience > 0 && t.Best != nil && t.Epoch-t.Best.Epoch >= t.Cfg.Patience {
			res.EarlyStopped = true
			return res, nil
		}
	}
	return res, nil
}

// observe updates Best with the epoch's monitored metric and reports
// whether it improved (by more than MinDelta), as Keras' callbacks judge.
func (t *Trainer) observe(st EpochStats) bool {
	v, err := st.Metric(t.Cfg.Monitor)
	if err != nil || math.IsNaN(v) {
		return false
	}
	if t.Best == nil || t.Best.Monitor != t.Cfg.Monitor {
		t.Best = &Best{Monitor: t.Cfg.Monitor, Value: v, Epoch: st.Epoch}
		return true
	}
	better := v > t.Best.Value+t.Cfg.MinDelta
	if LowerIsBetter(t.Cfg.Monitor) {
		better = v < t.Best.Value-t.Cfg.MinDelta
	}
	if better {
		t.Best.Value, t.Best.Epoch = v, st.Epoch
	}
	return better
}

// CheckpointMeta gathers the trainer's state for SaveCheckpoint.
func (t *Trainer) CheckpointMeta(base Meta) (Meta, error) {
	rng, err := t.Net.RNGState()
	if err != nil {
		return base, err
	}
	base.Epoch, base.Step, base.BatchInEpoch, base.Partial = t.Epoch, t.Step, t.BatchInEpoch, t.Partial
	base.DropoutRNG = rng
	base.History = t.History
	if t.Best != nil {
		b := *t.Best
		base.Best = &b
	}
	return base, nil
}

// Resume restores the trainer's state from a checkpoint of the same run:
// weights, optimizer, dropout generator, counters, history and best.
func (t *Trainer) Resume(c *Checkpoint) error {
	if err := c.LoadInto(t.Net); err != nil {
		return err
	}
	if err := c.RestoreOptimizer(t.Opt); err != nil {
		return err
	}
	if len(c.Meta.DropoutRNG) > 0 {
		if err := t.Net.SetRNGState(c.Meta.DropoutRNG); err != nil {
			return err
		}
	}
	t.Epoch, t.Step, t.BatchInEpoch, t.Partial = c.Meta.Epoch, c.Meta.Step, c.Meta.BatchInEpoch, c.Meta.Partial
	t.History = c.Meta.History
	if c.Meta.Best != nil {
		b := *c.Meta.Best
		t.Best = &b
	}
	return nil
}
