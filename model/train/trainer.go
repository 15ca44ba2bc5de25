package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/kernels"
	"github.com/goresnet/goresnet/model/optim"
	"github.com/goresnet/goresnet/model/resnet"
)

// Iterator yields the batches of one epoch and io.EOF after the last; a
// *data.Iterator is one, and the browser worker supplies its own.
type Iterator interface {
	Next() (*data.Batch, error)
}

// Config is how a run trains.
type Config struct {
	Epochs         int
	Accumulate     int     // batches per optimizer step (gradient accumulation); 0 means 1
	LabelSmoothing float32 // PyTorch's label_smoothing
	Schedule       Schedule
	// Monitor is the metric that save-best and early stopping watch
	// (Keras' ModelCheckpoint(monitor=...), EarlyStopping(monitor=...)).
	Monitor string
	// Patience stops training after that many epochs without improvement
	// of Monitor by more than MinDelta (0: never).
	Patience int
	MinDelta float64
}

// BatchInfo reports progress after each batch (for a progress bar).
type BatchInfo struct {
	Epoch, Batch, Batches int // epoch from 1; batch from 1 of Batches
	Images                int // images seen this epoch
	Loss, Accuracy        float64
	LR                    float64
	Elapsed               time.Duration // since the epoch started
}

// Trainer runs the training loop on a network. It is the loop the browser
// worker runs too: it only swaps the iterator and sets ReduceGrads.
type Trainer struct {
	Net *resnet.Net
	Opt *optim.Optimizer
	Cfg Config

	// State, saved in checkpoints.
	Step         int // optimizer steps taken
	Epoch        int // epochs completed
	BatchInEpoch int // batches of the current epoch done
	History      History
	Best         *Best

	// ReduceGrads, if set, is called before every optimizer step with the
	// gradient slab, to sum it across data-parallel workers.
	ReduceGrads func(grad []float32) error
	// Replica, if set, makes the trainer one of a group of synchronous
	// data-parallel replicas (see Replica).
	Replica *Replica
	// OnBatch, if set, is called after every batch.
	OnBatch func(BatchInfo)

	// The running sums of the current epoch, so that an epoch resumed
	// mid-way reports the same loss and accuracy as an uninterrupted one.
	Partial Partial

	h, w    int
	ws      map[int]*resnet.Workspace
	pending int // batches accumulated since the last optimizer step
	// The pending batches' loss sum, examples and correct predictions: a
	// replica adds them to Partial when the group sums them at the step.
	pendLoss            float64
	pendSeen, pendRight int
	stop                atomic.Bool
	epochSeen           []int // examples this replica ran through the backbone this epoch (feature cache)
	bnScratch, statsVec []float32
	// The head-only feature cache: features and labels per example index.
	cache     map[int][]float32
	cacheLbl  map[int]int
	useCache  bool
	lastStats EpochStats
	// What a step changes before it is checked, saved when it starts so
	// that a step that goes bad leaves no trace: the batch norms' running
	// statistics and counters (updated by every training-mode forward),
	// and the examples cached during the step.
	bufSnap    []float32
	counters   []*int64
	cntSnap    []int64
	cachedStep []int
	seenSnap   int // len(epochSeen) when the step began
}

// Partial is an epoch's progress so far.
type Partial struct {
	LossSum float64 `json:"loss_sum"`
	Seen    int     `json:"seen"`
	Correct int     `json:"correct"`
	Seconds float64 `json:"seconds"`
}

// NewTrainer makes a trainer for inputs of h x w pixels.
func NewTrainer(net *resnet.Net, opt *optim.Optimizer, cfg Config, h, w int) (*Trainer, error) {
	if cfg.Accumulate <= 0 {
		cfg.Accumulate = 1
	}
	if cfg.Monitor == "" {
		cfg.Monitor = "val_loss"
	}
	if _, err := (EpochStats{HasVal: true}).Metric(cfg.Monitor); err != nil {
		return nil, fmt.Errorf("train: monitor: %w", err)
	}
	if err := cfg.Schedule.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := resnet.CheckInputSize(h, w); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return &Trainer{Net: net, Opt: opt, Cfg: cfg, h: h, w: w, ws: map[int]*resnet.Workspace{}}, nil
}

// Stop asks the loop to stop at the next batch boundary (Ctrl-C).
func (t *Trainer) Stop() { t.stop.Store(true) }

// ClearStop lets a stopped trainer run again (Fit continues where it
// stopped).
func (t *Trainer) ClearStop() { t.stop.Store(false) }

// ErrStopped is returned by Fit when Stop was called.
var ErrStopped = errors.New("training stopped")

// NonFiniteError reports a NaN or Inf in a step: in its input, its loss,
// its gradients, the batch norms' running statistics, or (after the
// update) the weights or the optimizer's state. Unless Updated is set,
// nothing from the step has been applied: the network, its running
// statistics and the optimizer are as they were before it. With Updated,
// the update itself overflowed: the weights in memory are unusable, and
// the last checkpoint is the last good state. Either way Fit saves nothing
// from the step.
type NonFiniteError struct {
	Step, Epoch, Batch int
	What               string
	LR                 float64
	// Input: the batch's input holds NaN or Inf (bad data, not the
	// learning rate).
	Input bool
	// Updated: the optimizer's update made the weights or its own state
	// not finite.
	Updated bool
}

func (e *NonFiniteError) Error() string {
	where := fmt.Sprintf("step %d (epoch %d, batch %d)", e.Step+1, e.Epoch, e.Batch)
	switch {
	case e.Input:
		return fmt.Sprintf("bad input at %s: %s; nothing from this step was applied; check the data (the learning rate is not the cause)", where, e.What)
	case e.Updated:
		return fmt.Sprintf("training diverged at %s: %s; the weights in memory are unusable and nothing from this step was saved; try a lower learning rate (it was %.3g)", where, e.What, e.LR)
	}
	return fmt.Sprintf("training diverged at %s: %s; nothing from this step was applied; try a lower learning rate (it was %.3g)", where, e.What, e.LR)
}

// finite reports whether every value of x is finite. The SIMD sum is
// finite when they all are (a NaN or an Inf makes it NaN or Inf); only
// when it is not are the values looked at one by one (a sum of huge finite
// values can overflow in float32 lanes).
func finite(x []float32) bool {
	if s := kernels.Sum(x); !math.IsNaN(s) && !math.IsInf(s, 0) {
		return true
	}
	for _, v := range x {
		if v-v != 0 { // NaN - NaN and Inf - Inf are NaN
			return false
		}
	}
	return true
}

// beginStep saves what a step may change before it is checked.
func (t *Trainer) beginStep() {
	if t.counters == nil {
		for _, e := range t.Net.State() {
			if e.Counter != nil {
				t.counters = append(t.counters, e.Counter)
			}
		}
		t.bufSnap = make([]float32, len(t.Net.BufferData))
		t.cntSnap = make([]int64, len(t.counters))
	}
	copy(t.bufSnap, t.Net.BufferData)
	for i, c := range t.counters {
		t.cntSnap[i] = *c
	}
	t.cachedStep = t.cachedStep[:0]
	t.seenSnap = len(t.epochSeen)
}

// undoStep restores what beginStep saved and drops the step's pending
// gradients and cached examples.
func (t *Trainer) undoStep() {
	copy(t.Net.BufferData, t.bufSnap)
	for i, c := range t.counters {
		*c = t.cntSnap[i]
	}
	for _, idx := range t.cachedStep {
		delete(t.cache, idx)
		delete(t.cacheLbl, idx)
	}
	t.cachedStep = t.cachedStep[:0]
	t.epochSeen = t.epochSeen[:min(t.seenSnap, len(t.epochSeen))]
	t.pending, t.pendLoss, t.pendSeen, t.pendRight = 0, 0, 0, 0
}

// nonFinite makes the error for the current step.
func (t *Trainer) nonFinite(what string, lr float64) *NonFiniteError {
	return &NonFiniteError{Step: t.Step, Epoch: t.Epoch + 1, Batch: t.BatchInEpoch + 1, What: what, LR: lr}
}

// Workspace returns the workspace for batches of n images (planned once
// per size: a run has at most two, the batch size and the last batch's).
func (t *Trainer) Workspace(n int) (*resnet.Workspace, error) {
	if ws, ok := t.ws[n]; ok {
		return ws, nil
	}
	ws, err := t.Net.NewWorkspace(n, t.h, t.w)
	if err != nil {
		return nil, err
	}
	t.ws[n] = ws
	return ws, nil
}

// EnableFeatureCache makes epochs after the first run only the head, on
// backbone features computed once per example. It needs a frozen backbone
// and no augmentation (the caller's promise: the same example must give
// the same input every epoch).
func (t *Trainer) EnableFeatureCache() error {
	for _, p := range t.Net.Params() {
		if p.Trainable && p.Name != "fc.weight" && p.Name != "fc.bias" {
			return fmt.Errorf("train: the feature cache needs everything but fc frozen (%s is trainable)", p.Name)
		}
	}
	t.useCache = true
	t.cache, t.cacheLbl = map[int][]float32{}, map[int]int{}
	return nil
}

// CacheComplete reports whether every one of n examples has cached features.
func (t *Trainer) CacheComplete(n int) bool { return t.useCache && len(t.cache) >= n }

// TrainBatch runs one batch: forward, loss, backward, and an optimizer step
// when Accumulate batches have been gathered. It returns the batch's loss
// and how many predictions were right, and adds them to the epoch's
// running sums (Partial; a replica adds the whole group's at the step).
// A batch that is a part of a larger one (b.Total > b.N, a replica's
// part) has its gradient scaled by N/Total, so that the parts' gradients
// sum to the whole batch's.
func (t *Trainer) TrainBatch(b *data.Batch) (float64, int, error) {
	ws, err := t.Workspace(b.N)
	if err != nil {
		return 0, 0, err
	}
	if t.pending == 0 {
		t.Net.ZeroTrainableGrad()
		t.beginStep()
	}
	if !finite(b.X) {
		t.undoStep()
		e := t.nonFinite(fmt.Sprintf("the batch's %d input values hold NaN or Inf", len(b.X)), t.Cfg.Schedule.LR(t.Step))
		e.Input = true
		return 0, 0, e
	}
	if _, err := ws.Forward(b.X, true); err != nil {
		return 0, 0, err
	}
	if t.useCache {
		f, fs := ws.Features(), ws.FeatureSize()
		for i, idx := range b.Index {
			t.cache[idx] = append([]float32(nil), f[i*fs:(i+1)*fs]...)
			t.cacheLbl[idx] = b.Labels[i]
			t.cachedStep = append(t.cachedStep, idx)
		}
		if t.Replica != nil {
			t.epochSeen = append(t.epochSeen, b.Index...)
		}
	}
	return t.finishBatch(ws, b.Labels, b.N, b.Total)
}

// trainCachedBatch is TrainBatch for the head alone, on cached features;
// indices is this replica's part of a batch of total examples.
func (t *Trainer) trainCachedBatch(indices []int, total int, feat []float32, labels []int) (float64, int, error) {
	ws, err := t.Workspace(len(indices))
	if err != nil {
		return 0, 0, err
	}
	if t.pending == 0 {
		t.Net.ZeroTrainableGrad()
		t.beginStep()
	}
	fs := ws.FeatureSize()
	for i, idx := range indices {
		copy(feat[i*fs:(i+1)*fs], t.cache[idx])
		labels[i] = t.cacheLbl[idx]
	}
	if _, err := ws.HeadForward(feat[:len(indices)*fs], true); err != nil {
		return 0, 0, err
	}
	return t.finishBatch(ws, labels[:len(indices)], len(indices), total)
}

func (t *Trainer) finishBatch(ws *resnet.Workspace, labels []int, n, total int) (float64, int, error) {
	loss, err := ws.Loss(labels, t.Cfg.LabelSmoothing)
	if err != nil {
		return 0, 0, err
	}
	correct := countCorrect(ws.Logits(), labels, t.Net.Config.Classes)
	lr := t.Cfg.Schedule.LR(t.Step)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		t.undoStep()
		return loss, correct, t.nonFinite(fmt.Sprintf("the loss is %v", loss), lr)
	}
	// The loss is a mean over this batch; a part of a larger batch weighs
	// n/total of it, and each of Accumulate batches 1/Accumulate of a step.
	scale := float32(1)
	if total > n {
		scale = float32(n) / float32(total)
	}
	if t.Cfg.Accumulate > 1 {
		scale /= float32(t.Cfg.Accumulate)
	}
	if scale != 1 {
		ws.ScaleLogitGrad(scale)
	}
	if err := ws.Backward(); err != nil {
		return 0, 0, err
	}
	if t.Replica != nil {
		t.pendLoss += loss * float64(n)
		t.pendSeen += n
		t.pendRight += correct
	} else {
		t.Partial.LossSum += loss * float64(n)
		t.Partial.Seen += n
		t.Partial.Correct += correct
	}
	t.pending++
	if t.pending < t.Cfg.Accumulate {
		return loss, correct, nil
	}
	if err := t.applyStep(lr); err != nil {
		return loss, correct, err
	}
	return loss, correct, nil
}

// applyStep sums gradients across workers if asked, checks them and the
// running statistics, takes the optimizer step, and checks what it made.
func (t *Trainer) applyStep(lr float64) error {
	t.pending = 0
	if t.Replica != nil {
		if err := t.reduceStep(); err != nil {
			return err
		}
	}
	if t.ReduceGrads != nil {
		if err := t.ReduceGrads(t.Net.GradData); err != nil {
			return err
		}
	}
	for _, p := range t.Net.Params() {
		if p.Trainable && !finite(p.Grad) {
			t.undoStep()
			return t.nonFinite("the gradient of "+p.Name+" is not finite", lr)
		}
	}
	// A forward pass can overflow the running variance while the batch,
	// normalised, stays finite: it would be saved, and break eval mode.
	if !finite(t.Net.BufferData) {
		t.undoStep()
		return t.nonFinite("the batch norms' running statistics are not finite", lr)
	}
	t.Opt.Step(float32(lr))
	// Finite gradients times a huge rate can still overflow the weights
	// (or Adam's second moment, the squared gradient).
	// Only the trainable parameters change (a head-only step looks at
	// the head alone).
	for _, p := range t.Net.Params() {
		if !p.Trainable {
			continue
		}
		bad := ""
		switch off, n := p.Offset, p.Size(); {
		case !finite(p.Data):
			bad = "the update made " + p.Name + " not finite"
		case t.Opt.M != nil && !finite(t.Opt.M[off:off+n]), t.Opt.V != nil && !finite(t.Opt.V[off:off+n]):
			bad = "the update made the optimizer's state for " + p.Name + " not finite"
		}
		if bad != "" {
			e := t.nonFinite(bad, lr)
			e.Updated = true
			return e
		}
	}
	t.Step++
	return nil
}

func countCorrect(logits []float32, labels []int, classes int) int {
	n := 0
	for i, l := range labels {
		if argmax(logits[i*classes:(i+1)*classes]) == l {
			n++
		}
	}
	return n
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// RunEpoch trains one epoch from it (batches is the epoch's batch count,
// for progress). If the trainer was stopped part-way through an epoch and
// resumed, the batches already done are skipped (read, not trained on), so
// a resumed run sees exactly the batches an uninterrupted one would.
func (t *Trainer) RunEpoch(ctx context.Context, it Iterator, batches int) (EpochStats, error) {
	st := EpochStats{Epoch: t.Epoch + 1}
	start := time.Now().Add(-time.Duration(t.Partial.Seconds * float64(time.Second)))
	skip := t.BatchInEpoch
	t.epochSeen = t.epochSeen[:0]
	for b := 0; ; b++ {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		batch, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, err
		}
		if b < skip {
			continue
		}
		// Stop only between optimizer steps: a checkpoint holds no
		// half-accumulated gradient.
		if t.stop.Load() && t.pending == 0 {
			return st, ErrStopped
		}
		if _, _, err := t.TrainBatch(batch); err != nil {
			return st, err
		}
		t.BatchInEpoch = b + 1
		t.Partial.Seconds = time.Since(start).Seconds()
		t.report(st.Epoch, b+1, batches, start)
	}
	return t.endEpoch(st, start)
}

// RunCachedEpoch trains one epoch of the head alone, on cached features,
// in the order given (the loader's order for the epoch), in batches of
// batchSize (a replica takes its part of each).
func (t *Trainer) RunCachedEpoch(ctx context.Context, order []int, batchSize int) (EpochStats, error) {
	st := EpochStats{Epoch: t.Epoch + 1}
	start := time.Now().Add(-time.Duration(t.Partial.Seconds * float64(time.Second)))
	rank, parts := 0, 1
	if t.Replica != nil {
		rank, parts = t.Replica.Rank, t.Replica.Size
	}
	lo, hi := data.PartRange(batchSize, rank, parts)
	ws, err := t.Workspace(hi - lo)
	if err != nil {
		return st, err
	}
	feat := make([]float32, (hi-lo)*ws.FeatureSize())
	labels := make([]int, hi-lo)
	batches := (len(order) + batchSize - 1) / batchSize
	for b := 0; b < batches; b++ {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if b < t.BatchInEpoch {
			continue
		}
		if t.stop.Load() && t.pending == 0 {
			return st, ErrStopped
		}
		idx := order[b*batchSize : min(len(order), (b+1)*batchSize)]
		plo, phi := data.PartRange(len(idx), rank, parts)
		part := idx[plo:phi]
		for _, i := range part {
			if _, ok := t.cache[i]; !ok {
				return st, fmt.Errorf("train: example %d has no cached features", i)
			}
		}
		if _, _, err := t.trainCachedBatch(part, len(idx), feat, labels); err != nil {
			return st, err
		}
		t.BatchInEpoch = b + 1
		t.Partial.Seconds = time.Since(start).Seconds()
		t.report(st.Epoch, b+1, batches, start)
	}
	return t.endEpoch(st, start)
}

func (t *Trainer) report(epoch, batch, batches int, start time.Time) {
	if t.OnBatch == nil {
		return
	}
	p := t.Partial
	info := BatchInfo{Epoch: epoch, Batch: batch, Batches: batches, Images: p.Seen,
		LR: t.Cfg.Schedule.LR(max(t.Step-1, 0)), Elapsed: time.Since(start)}
	if p.Seen > 0 {
		info.Loss, info.Accuracy = p.LossSum/float64(p.Seen), float64(p.Correct)/float64(p.Seen)
	}
	t.OnBatch(info)
}

func (t *Trainer) endEpoch(st EpochStats, start time.Time) (EpochStats, error) {
	if t.pending > 0 {
		// A last, partial accumulation: step with what there is, scaled
		// as if the missing batches had zero gradient (Keras and PyTorch
		// loops that accumulate do the same).
		if err := t.applyStep(t.Cfg.Schedule.LR(t.Step)); err != nil {
			return st, err
		}
	}
	p := t.Partial
	if p.Seen == 0 {
		return st, fmt.Errorf("train: epoch %d had no batches", st.Epoch)
	}
	st.Loss = p.LossSum / float64(p.Seen)
	st.Accuracy = float64(p.Correct) / float64(p.Seen)
	st.Images = p.Seen
	st.Seconds = time.Since(start).Seconds()
	st.LR = t.Cfg.Schedule.LR(max(t.Step-1, 0))
	t.Epoch++
	t.BatchInEpoch = 0
	t.Partial = Partial{}
	return st, nil
}

// Metrics is what evaluate reports.
type Metrics struct {
	Loss       float64
	Top1, Top5 float64
	N          int
	// Confusion[true][predicted] counts examples.
	Confusion [][]int
	// PerClass is each class's accuracy (NaN for a class with no example).
	PerClass []float64
}

// Evaluate runs the network in eval mode over it and returns the metrics.
// A replica evaluates its part of every batch and the group sums the
// counts, so every replica returns the metrics of the whole data.
func (t *Trainer) Evaluate(ctx context.Context, it Iterator) (*Metrics, error) {
	if t.Replica == nil {
		return Evaluate(ctx, t.Net, t.Workspace, it)
	}
	c := t.Net.Config.Classes
	s := newEvalSums(c)
	if err := s.run(ctx, t.Net, t.Workspace, it); err != nil {
		return nil, err
	}
	if err := t.allReduce(s.vector()); err != nil {
		return nil, err
	}
	s.fromVector()
	return s.metrics()
}

// Evaluate runs net in eval mode over every batch of it. workspace returns
// the workspace for a batch size.
func Evaluate(ctx context.Context, net *resnet.Net, workspace func(n int) (*resnet.Workspace, error), it Iterator) (*Metrics, error) {
	s := newEvalSums(net.Config.Classes)
	if err := s.run(ctx, net, workspace, it); err != nil {
		return nil, err
	}
	return s.metrics()
}

// evalSums are evaluation's running sums, which replicas add up.
type evalSums struct {
	c             int
	lossSum       float64
	n, top1, top5 int
	confusion     [][]int
	vec           []float32
}

func newEvalSums(c int) *evalSums {
	s := &evalSums{c: c, confusion: make([][]int, c)}
	for i := range s.confusion {
		s.confusion[i] = make([]int, c)
	}
	return s
}

func (s *evalSums) run(ctx context.Context, net *resnet.Net, workspace func(n int) (*resnet.Workspace, error), it Iterator) error {
	c := s.c
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := it.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if b.N == 0 { // a replica's empty part of a last, small batch
			continue
		}
		ws, err := workspace(b.N)
		if err != nil {
			return err
		}
		logits, err := ws.Forward(b.X, false)
		if err != nil {
			return err
		}
		loss, err := ws.Loss(b.Labels, 0)
		if err != nil {
			return err
		}
		s.lossSum += loss * float64(b.N)
		for i, l := range b.Labels {
			row := logits[i*c : (i+1)*c]
			p := argmax(row)
			s.confusion[l][p]++
			if p == l {
				s.top1++
			}
			if inTopK(row, l, 5) {
				s.top5++
			}
		}
		s.n += b.N
	}
}

// vector lays the sums out as floats for an all-reduce (counts up to 2^24
// are exact in float32).
func (s *evalSums) vector() []float32 {
	v := append(s.vec[:0], float32(s.lossSum), float32(s.n), float32(s.top1), float32(s.top5))
	for _, row := range s.confusion {
		for _, x := range row {
			v = append(v, float32(x))
		}
	}
	s.vec = v
	return v
}

func (s *evalSums) fromVector() {
	v := s.vec
	s.lossSum, s.n, s.top1, s.top5 = float64(v[0]), int(v[1]), int(v[2]), int(v[3])
	for i, row := range s.confusion {
		for j := range row {
			row[j] = int(v[4+i*s.c+j])
		}
	}
}

func (s *evalSums) metrics() (*Metrics, error) {
	if s.n == 0 {
		return nil, fmt.Errorf("evaluate: no examples")
	}
	m := &Metrics{Confusion: s.confusion, N: s.n}
	m.Loss = s.lossSum / float64(s.n)
	m.Top1 = float64(s.top1) / float64(s.n)
	m.Top5 = float64(s.top5) / float64(s.n)
	m.PerClass = make([]float64, s.c)
	for i, row := range m.Confusion {
		total := 0
		for _, v := range row {
			total += v
		}
		if total == 0 {
			m.PerClass[i] = math.NaN()
		} else {
			m.PerClass[i] = float64(row[i]) / float64(total)
		}
	}
	return m, nil
}

// inTopK reports whether label is among the k largest logits (ties count
// against it, so a constant output is not a hit).
func inTopK(row []float32, label, k int) bool {
	higher := 0
	for i, v := range row {
		if i != label && v >= row[label] {
			higher++
		}
	}
	return higher < k
}
