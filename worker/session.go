package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/augment"
	"github.com/goresnet/goresnet/model/kernels"
	"github.com/goresnet/goresnet/model/runspec"
	"github.com/goresnet/goresnet/model/train"
	"github.com/goresnet/goresnet/model/weights"
	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/goresnet/goresnet/worker/allreduce"
	"github.com/goresnet/goresnet/worker/msg"
)

// The training handlers: a worker holds one session, with the datasets it
// opened and at most one replica (a train.Setup). Requests run one at a
// time on the work goroutine; status, pause, resume and stop are answered
// on the event loop (HandleNow) and only touch atomics.

// loaderBudget bounds the shard bytes each loader of a worker holds (a
// worker's memory is 4 GB at most, shared with the model).
const loaderBudget = 768 << 20

type session struct {
	datasets map[string]*data.Dataset
	setup    *train.Setup
	req      msg.ModelInitRequest
	info     msg.ModelInfo

	state  atomic.Pointer[msg.WorkerState]
	shared atomic.Pointer[sharedRef] // the group's buffer while training
}

type sharedRef struct{ s allreduce.Shared }

var sess = newSession()

func newSession() *session {
	s := &session{datasets: map[string]*data.Dataset{}}
	s.state.Store(&msg.WorkerState{State: "idle"})
	return s
}

// setState updates the state the immediate handlers report.
func (s *session) setState(f func(st *msg.WorkerState)) {
	st := *s.state.Load()
	f(&st)
	s.state.Store(&st)
}

func init() {
	Handle(msg.DatasetOpen, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) { return reply(sess.datasetOpen(m)) })
	Handle(msg.ModelInit, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) { return reply(sess.modelInit(m, in)) })
	Handle(msg.Train, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) {
		res, bufs, err := sess.train(m, in)
		r, _ := reply(res, err)
		return r, bufs
	})
	Handle(msg.Evaluate, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) { return reply(sess.evaluate(m)) })
	Handle(msg.CheckpointImport, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) { return reply(sess.importCheckpoint(m, in)) })
	HandleNow(msg.Status, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) { return reply(sess.status(), nil) })
	HandleNow(msg.PauseReq, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) { return reply(sess.command(allreduce.Pause)) })
	HandleNow(msg.ResumeReq, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) { return reply(sess.command(allreduce.Run)) })
	HandleNow(msg.StopReq, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) { return reply(sess.command(allreduce.Stop)) })
}

// reply makes the answer of a handler: its result as the body, or an
// error (whose body, when the error has one, says more).
func reply(body any, err error) (msg.Message, []msg.Buffer) {
	if err != nil {
		e := msg.Errorf(0, "%v", err)
		var big *train.BatchTooLargeError
		if errors.As(err, &big) {
			e, _ = e.WithBody(msg.BatchTooLarge{Batch: big.Batch, Largest: big.Largest})
		}
		return e, nil
	}
	r, err := msg.Message{Type: "ok"}.WithBody(body)
	if err != nil {
		return msg.Errorf(0, "%v", err), nil
	}
	return r, nil
}

func (s *session) datasetOpen(m msg.Message) (*msg.DatasetInfo, error) {
	var req msg.DatasetOpenRequest
	if err := m.DecodeBody(&req); err != nil {
		return nil, err
	}
	if err := data.ValidName(req.Name); err != nil {
		return nil, err
	}
	src := localSource(req.Name)
	if src == nil {
		var err error
		if src, err = theEnv.source(req.Name, datasetPath(req.Name, req.URL)); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cache := theEnv.shardCache()
	if p, ok := src.(interface{ Persistent() bool }); ok && p.Persistent() {
		cache = nil // stored in the browser already (a local import): caching its shards would keep them twice
	}
	ds, err := data.Open(ctx, src, cache)
	if err != nil {
		return nil, err
	}
	s.datasets[req.Name] = ds
	s.setState(func(st *msg.WorkerState) { st.Dataset = req.Name })
	info := &msg.DatasetInfo{Name: req.Name, Classes: ds.Manifest.ClassNames(), Size: ds.Manifest.Image.Height, Splits: map[string]int{}, Source: src.String()}
	for _, sp := range ds.Manifest.Splits {
		info.Splits[sp.Name] = sp.Count
	}
	return info, nil
}

func (s *session) modelInit(m msg.Message, in Inbox) (*msg.ModelInfo, error) {
	var req msg.ModelInitRequest
	if err := m.DecodeBody(&req); err != nil {
		return nil, err
	}
	if s.shared.Load() != nil {
		return nil, errors.New("this worker is training: stop it first")
	}
	ds := s.datasets[req.Dataset]
	if ds == nil {
		return nil, fmt.Errorf("dataset %q is not open in this worker (send dataset-open first)", req.Dataset)
	}
	parts := max(1, req.Parts)
	if req.Rank < 0 || req.Rank >= parts {
		return nil, fmt.Errorf("worker rank %d of %d", req.Rank, parts)
	}
	// Let the previous replica go before building the next.
	s.setup = nil
	s.setState(func(st *msg.WorkerState) { st.State, st.Run = "idle", "" })
	runtime.GC()

	st := req.Settings
	st.Replicas = parts
	opts := train.SetupOptions{Part: req.Rank, Parts: parts, MemoryBudget: loaderBudget}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if b, err := theEnv.readBuffer(ctx, in, "weights"); err != nil {
		return nil, err
	} else if len(b) > 0 && req.Resume == "" {
		name := req.Weights
		if name == "" {
			name = "weights"
		}
		wf, err := weights.Parse(b, name)
		if err != nil {
			return nil, err
		}
		opts.Weights = wf
	}
	if req.Resume != "" {
		db, err := theEnv.store(ctx)
		if err != nil {
			return nil, err
		}
		b, err := db.CheckpointData(ctx, req.Resume)
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", req.Resume, err)
		}
		ck, err := train.ParseCheckpoint(b, req.Resume)
		if err != nil {
			return nil, err
		}
		opts.Resume = ck
	}
	setup, err := train.NewSetup(st, ds, opts)
	if err != nil {
		return nil, err
	}
	mem, err := train.CheckMemory(setup.Net, setup.MemoryInput(parts, loaderBudget), train.WasmBudget)
	if err != nil {
		return nil, err
	}
	s.setup, s.req = setup, req
	tr := setup.Trainer
	total, trainable, _ := setup.Net.NumParams()
	cfg := setup.Net.Config
	s.info = msg.ModelInfo{Arch: cfg.Arch, Classes: cfg.Classes, Size: setup.Size, Params: total, Trainable: trainable,
		Batches: setup.Train.Batches(), Examples: setup.Train.Len(), ValSplit: setup.ValSplit, Monitor: setup.Monitor,
		FeatureCache: setup.FeatureCache, Notes: setup.Notes, ReduceFloats: tr.ReduceFloats(),
		Memory: msg.Memory{Params: mem.Params, Grads: mem.Grads, Optimizer: mem.Optimizer, Workspace: mem.Workspace, Data: mem.Data,
			Runtime: mem.Runtime, Total: mem.Total, PerImage: mem.PerImage, Budget: train.WasmBudget},
		Epoch: tr.Epoch, Step: tr.Step, BatchInEpoch: tr.BatchInEpoch, History: tr.History, Best: tr.Best,
		CheckpointFmt: train.CheckpointFormat}
	if setup.Val != nil {
		s.info.ValExamples = setup.Val.Len()
	}
	s.setState(func(w *msg.WorkerState) {
		w.State, w.Run, w.Rank, w.Parts, w.Dataset = "ready", req.Run, req.Rank, parts, req.Dataset
		w.Epoch, w.Step, w.Batch = tr.Epoch, tr.Step, tr.BatchInEpoch
	})
	return &s.info, nil
}

func (s *session) status() *msg.WorkerState {
	st := *s.state.Load()
	st.MemoryBytes = theEnv.memoryBytes()
	return &st
}

// command is pause, resume or stop: it sets the page's command in the
// group's shared buffer (any worker of the group will do: they all act
// on it at their next step).
func (s *session) command(c allreduce.Command) (*msg.WorkerState, error) {
	ref := s.shared.Load()
	if ref == nil {
		return nil, errors.New("this worker is not training")
	}
	allreduce.SetCommand(ref.s, c)
	return s.status(), nil
}

// train runs Fit on the replica that model-init built.
func (s *session) train(m msg.Message, in Inbox) (*msg.TrainResult, []msg.Buffer, error) {
	var req msg.TrainRequest
	if err := m.DecodeBody(&req); err != nil {
		return nil, nil, err
	}
	setup := s.setup
	if setup == nil || (req.Run != "" && req.Run != s.req.Run) {
		return nil, nil, fmt.Errorf("no replica for run %q in this worker (send model-init first)", req.Run)
	}
	sh, err := theEnv.shared(in)
	if err != nil {
		return nil, nil, err
	}
	rank, parts := s.req.Rank, max(1, s.req.Parts)
	g, err := allreduce.NewGroup(sh, rank)
	if err != nil {
		return nil, nil, err
	}
	if g.Size != parts {
		return nil, nil, fmt.Errorf("the shared buffer is for %d workers, the replica for %d", g.Size, parts)
	}
	g.Yield = runtime.Gosched // the loaders' goroutines run while this one waits
	s.shared.Store(&sharedRef{sh})
	defer s.shared.Store(nil)
	r := &trainRun{s: s, req: req, setup: setup, g: g, sh: sh, rank: rank, parts: parts, start: time.Now()}
	return r.run()
}

// trainRun is one train request's loop.
type trainRun struct {
	s      *session
	req    msg.TrainRequest
	setup  *train.Setup
	g      *allreduce.Group
	sh     allreduce.Shared
	rank   int
	parts  int
	start  time.Time
	db     store
	ctx    context.Context
	record *storage.Run // the run in storage (worker 0, when saving)
	meta   train.Meta
	last   string // the last checkpoint saved
	reduce time.Duration
	steps  []float64
}

func (r *trainRun) run() (*msg.TrainResult, []msg.Buffer, error) {
	s, setup := r.s, r.setup
	tr, net := setup.Trainer, setup.Net
	tr.ClearStop()
	r.ctx = context.Background()
	if r.req.Save && r.rank == 0 {
		db, err := theEnv.store(r.ctx)
		if err != nil {
			return nil, nil, err
		}
		r.db = db
		if r.record, err = db.Run(r.ctx, s.req.Run); err != nil {
			r.record = &storage.Run{ID: s.req.Run, Created: time.Now(), Dataset: s.req.Dataset, Settings: setup.Settings}
		}
		r.record.Classes = setup.Classes
		r.record.State = storage.StateTraining
		r.record.Error = ""
		r.record.Updated = time.Now()
		if err := db.PutRun(r.ctx, r.record); err != nil {
			return nil, nil, err
		}
	}
	settings := setup.Settings
	settings.Data = theEnv.datasetURL(datasetPath(s.req.Dataset, ""))
	js, _ := json.Marshal(settings)
	r.meta = setup.BaseMeta(js)

	checkEvery := r.req.CheckEvery
	if checkEvery == 0 {
		checkEvery = 20
	}
	if r.parts > 1 {
		tr.Replica = &train.Replica{Rank: r.rank, Size: r.parts, Capacity: r.g.Capacity, AllReduce: func(bufs ...[]float32) error {
			t0 := time.Now()
			if checkEvery > 0 && r.g.Reduces%checkEvery == 0 {
				r.g.CheckNext(kernels.Sum(net.ParamData))
			}
			err := r.g.AllReduce(bufs...)
			r.reduce += time.Since(t0)
			return err
		}}
	} else {
		tr.Replica = nil
	}
	defer func() { tr.Replica = nil }()

	s.setState(func(w *msg.WorkerState) { w.State = "training" })
	defer s.setState(func(w *msg.WorkerState) { w.State = "ready" })

	var lastPost, lastYield, lastBatch time.Time
	lastBatch = time.Now()
	lastStep := tr.Step
	images := 0
	tr.OnBatch = func(b train.BatchInfo) {
		now := time.Now()
		if tr.Step != lastStep {
			if r.req.StepTimes {
				r.steps = append(r.steps, now.Sub(lastBatch).Seconds())
			}
			lastStep = tr.Step
		}
		lastBatch = now
		s.setState(func(w *msg.WorkerState) { w.Epoch, w.Step, w.Batch = tr.Epoch, tr.Step, b.Batch })
		if r.rank == 0 && (now.Sub(lastPost) > 200*time.Millisecond || b.Batch == b.Batches || b.Batch == 1) {
			lastPost = now
			p := msg.ProgressReport{Run: s.req.Run, Epoch: b.Epoch, Epochs: tr.Cfg.Epochs, Batch: b.Batch, Batches: b.Batches,
				Images: b.Images, Loss: b.Loss, Accuracy: b.Accuracy, LR: b.LR, Elapsed: b.Elapsed.Seconds(), Step: tr.Step}
			if sec := b.Elapsed.Seconds(); sec > 0 {
				p.ImagesPerSecond = float64(b.Images) / sec
			}
			if pm, err := (msg.Message{Type: msg.Progress}).WithBody(p); err == nil {
				theEnv.post(pm)
			}
		}
		r.decide()
		if r.req.MaxSteps > 0 && tr.Step >= r.req.MaxSteps {
			tr.Stop()
		}
		if now.Sub(lastYield) > 100*time.Millisecond {
			theEnv.yield()
			lastYield = time.Now()
		}
	}
	defer func() { tr.OnBatch = nil }()

	hooks := setup.Hooks(context.Background())
	hooks.EpochEnd = func(st train.EpochStats, improved bool) error {
		images += st.Images
		rep := msg.EpochReport{Run: s.req.Run, Stats: st, Improved: improved, Best: tr.Best}
		if r.db != nil {
			id, err := r.save(storage.KindEpoch, &st, improved)
			if err != nil {
				// Training goes on; the page shows that the save failed.
				rep.SaveError = err.Error()
			}
			rep.Checkpoint = id
		}
		if r.rank == 0 {
			if em, err := (msg.Message{Type: msg.EpochEnd}).WithBody(rep); err == nil {
				theEnv.post(em)
			}
		}
		return nil
	}
	hooks.Interrupted = func() error {
		if r.db != nil && tr.Step > 0 {
			if _, err := r.save(storage.KindStop, nil, false); err != nil {
				return err
			}
		}
		return nil
	}
	res, err := tr.Fit(r.ctx, hooks)
	out := &msg.TrainResult{Epoch: tr.Epoch, Step: tr.Step, History: tr.History, Seconds: time.Since(r.start).Seconds(),
		StepTimes: r.steps, Reduces: r.g.Reduces, ReduceSeconds: r.reduce.Seconds(), Checkpoint: r.last}
	for _, e := range tr.History.Epochs {
		out.Images += e.Images
	}
	switch {
	case errors.Is(err, train.ErrStopped):
		out.State = "stopped"
		r.finish(storage.StateStopped, "")
	case err != nil:
		var ab *allreduce.AbortedError
		if !errors.As(err, &ab) {
			r.g.Abort() // the others stop waiting for this worker
		}
		r.finish(storage.StateFailed, err.Error())
		return nil, nil, err
	case res.EarlyStopped:
		out.State = "early-stopped"
		r.finish(storage.StateFinished, "")
	default:
		out.State = "finished"
		r.finish(storage.StateFinished, "")
	}
	if r.req.Hash {
		h := sha256.New()
		h.Write(msg.Float32Bytes(net.ParamData))
		h.Write(msg.Float32Bytes(net.BufferData))
		out.Weights = hex.EncodeToString(h.Sum(nil))
	}
	var bufs []msg.Buffer
	if r.req.ReturnWeights {
		bufs = append(bufs, msg.Buffer{Name: "params", Data: msg.Float32Bytes(net.ParamData)})
	}
	return out, bufs, nil
}

// decide acts on the page's command, which every worker sees at the same
// step: pause (hold until resumed or stopped), stop.
func (r *trainRun) decide() {
	tr := r.setup.Trainer
	var d allreduce.Command
	if r.parts > 1 {
		d = r.g.TakeDecision()
	} else {
		d = allreduce.Command(r.sh.Load(allreduce.WordCommand))
	}
	if d == allreduce.Pause {
		r.s.setState(func(w *msg.WorkerState) { w.State = "paused" })
		r.postState()
		var err error
		d, err = r.g.Hold(func() { theEnv.sleep(100 * time.Millisecond) })
		if err != nil {
			d = allreduce.Stop // aborted: the next step's all-reduce reports it
		}
		r.s.setState(func(w *msg.WorkerState) { w.State = "training" })
		if d == allreduce.Stop {
			r.s.setState(func(w *msg.WorkerState) { w.State = "stopping" })
		}
		r.postState()
	}
	if d == allreduce.Stop {
		r.s.setState(func(w *msg.WorkerState) { w.State = "stopping" })
		tr.Stop()
	}
}

func (r *trainRun) postState() {
	if r.rank != 0 {
		return
	}
	if m, err := (msg.Message{Type: msg.TrainState}).WithBody(r.s.status()); err == nil {
		theEnv.post(m)
	}
}

// save writes a checkpoint and the run's history to the browser's storage
// (worker 0 only), in one transaction.
func (r *trainRun) save(kind string, st *runspec.EpochStats, best bool) (string, error) {
	tr, net := r.setup.Trainer, r.setup.Net
	meta, err := tr.CheckpointMeta(r.meta)
	if err != nil {
		return "", err
	}
	b, err := train.MarshalCheckpoint(net, r.setup.Opt, meta)
	if err != nil {
		return "", err
	}
	cfg := net.Config
	settings := r.setup.Settings
	ck := storage.Checkpoint{Kind: kind, Epoch: tr.Epoch, Step: tr.Step, BatchInEpoch: tr.BatchInEpoch, Metrics: st, Best: best,
		Created: time.Now(), Arch: cfg.Arch, WidthDiv: cfg.WidthDiv, Classes: cfg.Classes, Size: r.setup.Size, Settings: &settings}
	if kind == storage.KindEpoch {
		ck.ID = storage.EpochCheckpointID(r.record.ID, tr.Epoch)
		ck.Name = fmt.Sprintf("%s-checkpoint_%02d.safetensors", r.record.ID, tr.Epoch)
	} else {
		ck.ID = storage.StopCheckpointID(r.record.ID, tr.Epoch, tr.BatchInEpoch)
		ck.Name = fmt.Sprintf("%s-stopped_%02d_%05d.safetensors", r.record.ID, tr.Epoch+1, tr.BatchInEpoch)
	}
	r.record.History = tr.History
	if tr.Best != nil {
		bb := *tr.Best
		r.record.Best = &bb
	}
	r.record.Updated = time.Now()
	issued := func() {
		rep := msg.SavingReport{Run: r.record.ID, Epoch: tr.Epoch, Checkpoint: ck.ID, Bytes: int64(len(b))}
		if m, err := (msg.Message{Type: msg.Saving}).WithBody(rep); err == nil {
			theEnv.post(m)
		}
	}
	if err := r.db.SaveCheckpoint(r.ctx, ck, b, r.record, storage.SaveOptions{Keep: r.req.Keep, SetCurrent: true, Issued: issued}); err != nil {
		return "", err
	}
	r.last = ck.ID
	return ck.ID, nil
}

// finish records how the run ended (worker 0, when saving).
func (r *trainRun) finish(state, errText string) {
	if r.db == nil {
		return
	}
	r.record.State, r.record.Error, r.record.Updated = state, errText, time.Now()
	r.record.History = r.setup.Trainer.History
	r.db.PutRun(r.ctx, r.record)
}

// evaluate runs a stored checkpoint (or the replica) over a split.
func (s *session) evaluate(m msg.Message) (*msg.EvaluateResult, error) {
	var req msg.EvaluateRequest
	if err := m.DecodeBody(&req); err != nil {
		return nil, err
	}
	ds := s.datasets[req.Dataset]
	if ds == nil {
		return nil, fmt.Errorf("dataset %q is not open in this worker (send dataset-open first)", req.Dataset)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	t0 := time.Now()
	evalNet := func() (*train.Checkpoint, error) { return nil, nil }
	if req.Checkpoint != "" {
		evalNet = func() (*train.Checkpoint, error) {
			db, err := theEnv.store(ctx)
			if err != nil {
				return nil, err
			}
			b, err := db.CheckpointData(ctx, req.Checkpoint)
			if err != nil {
				return nil, err
			}
			return train.ParseCheckpoint(b, req.Checkpoint)
		}
	}
	ck, err := evalNet()
	if err != nil {
		return nil, err
	}
	batch := req.Batch
	if batch <= 0 {
		batch = 32
	}
	split := req.Split
	if split == "" {
		split = "test"
	}
	var model *train.Trainer
	cfg := data.LoaderConfig{Split: split, BatchSize: batch, Prefetch: 1, MemoryBudget: loaderBudget}
	var classes []string
	if ck != nil {
		n, err := ck.Net()
		if err != nil {
			return nil, err
		}
		if n.Config.Classes != len(ds.Manifest.Classes) {
			return nil, fmt.Errorf("the checkpoint has %d classes, dataset %s %d", n.Config.Classes, req.Dataset, len(ds.Manifest.Classes))
		}
		cfg.Size = ck.Meta.Preprocess.Size
		if norm, err := normOf(ck.Meta.Preprocess); err == nil {
			cfg.Norm = norm
		}
		tr, err := train.NewTrainer(n, nil, train.Config{Schedule: train.Schedule{BaseLR: 1}}, cfg.Size, cfg.Size)
		if err != nil {
			return nil, err
		}
		model, classes = tr, ck.Meta.Classes
	} else {
		if s.setup == nil {
			return nil, errors.New("no model: give a checkpoint, or build one with model-init")
		}
		if s.shared.Load() != nil {
			return nil, errors.New("this worker is training")
		}
		cfg.Size, cfg.Norm = s.setup.Size, s.setup.Norm
		// Evaluate the replica alone (no group).
		tr, err := train.NewTrainer(s.setup.Net, nil, train.Config{Schedule: train.Schedule{BaseLR: 1}}, cfg.Size, cfg.Size)
		if err != nil {
			return nil, err
		}
		model, classes = tr, s.setup.Classes
	}
	l, err := data.NewLoader(ds, cfg)
	if err != nil {
		return nil, err
	}
	it := l.Epoch(ctx, 0)
	defer it.Close()
	mt, err := model.Evaluate(ctx, it)
	if err != nil {
		return nil, err
	}
	res := &msg.EvaluateResult{Loss: mt.Loss, Top1: mt.Top1, Top5: mt.Top5, N: mt.N, Confusion: mt.Confusion, Classes: classes, Seconds: time.Since(t0).Seconds()}
	for _, a := range mt.PerClass {
		if math.IsNaN(a) {
			a = -1
		}
		res.PerClass = append(res.PerClass, a)
	}
	return res, nil
}

// normOf is the normalisation a checkpoint's preprocessing names.
func normOf(p train.Preprocess) (augment.Norm, error) {
	n, err := augment.ParseNorm(p.Norm)
	if err != nil {
		return n, err
	}
	if len(p.Mean) == 3 && len(p.Std) == 3 {
		copy(n.Mean[:], p.Mean)
		copy(n.Std[:], p.Std)
	}
	return n, nil
}

// importCheckpoint checks a checkpoint file the person picked (made by the
// CLI, or downloaded from another browser) and stores it.
func (s *session) importCheckpoint(m msg.Message, in Inbox) (*storage.Checkpoint, error) {
	var req msg.CheckpointImportRequest
	if err := m.DecodeBody(&req); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b, err := theEnv.readBuffer(ctx, in, "file")
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, errors.New("checkpoint-import: no file")
	}
	ck, err := train.ParseCheckpoint(b, req.Name)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	rec := storage.Checkpoint{ID: "import/" + storage.NewRunID(now) + "/" + req.Name, Name: req.Name, Kind: storage.KindImport,
		Epoch: ck.Meta.Epoch, Step: ck.Meta.Step, BatchInEpoch: ck.Meta.BatchInEpoch, Created: now,
		Arch: ck.Config.Arch, WidthDiv: ck.Config.WidthDiv, Classes: ck.Config.Classes, Size: ck.Meta.Preprocess.Size}
	if h := ck.Meta.History.Epochs; len(h) > 0 {
		last := h[len(h)-1]
		rec.Metrics = &last
	}
	var settings runspec.Settings
	if len(ck.Meta.Train) > 0 && json.Unmarshal(ck.Meta.Train, &settings) == nil {
		rec.Settings = &settings
	}
	db, err := theEnv.store(ctx)
	if err != nil {
		return nil, err
	}
	if err := db.SaveCheckpoint(ctx, rec, b, nil, storage.SaveOptions{SetCurrent: true}); err != nil {
		return nil, err
	}
	rec.Bytes = int64(len(b))
	return &rec, nil
}
