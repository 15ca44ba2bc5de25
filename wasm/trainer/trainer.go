//go:build js && wasm

// Package trainer drives training in the browser's workers from the UI
// thread: it asks K workers of the pool to open the dataset and build a
// replica each (model-init), creates the SharedArrayBuffer their
// all-reduce runs on, starts them training, relays worker 0's progress
// to the page, sets the group's command (pause, resume, stop) in the
// shared buffer, and when a worker dies (out of memory ends a Go
// instance) aborts the group, reports the worker's message and restarts
// it. It computes nothing itself: the page stays responsive.
package trainer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall/js"
	"time"

	webapp "github.com/goresnet/goresnet/app"
	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/goresnet/goresnet/wasm/workerpool"
	"github.com/goresnet/goresnet/worker/allreduce"
	"github.com/goresnet/goresnet/worker/msg"
)

// minCapacity is the smallest shared buffer slot (floats): the feature
// cache's exchange goes through it in chunks of this size.
const minCapacity = 1 << 20

// Trainer implements the app's Training on a worker pool.
type Trainer struct {
	pool *workerpool.Pool

	mu      sync.Mutex
	run     string
	k       int
	shared  *allreduce.JS
	busy    bool
	crashed string       // the first worker death seen during this run
	dead    map[int]bool // workers that died during this run
	// Each worker's requests of this run are cancelled when it dies (it
	// will never answer); the live ones answer once the abort word
	// stops them, so the run ends only after they have.
	workerCancel []context.CancelFunc
	events       []webapp.TrainEvent
	watchers     map[int]func(webapp.TrainEvent)
	nextKey      int
}

// New makes a trainer on the pool.
func New(pool *workerpool.Pool) *Trainer {
	t := &Trainer{pool: pool, watchers: map[int]func(webapp.TrainEvent){}}
	pool.Listen(t.onMessage)
	return t
}

// Workers implements webapp.Training.
func (t *Trainer) Workers() int { return t.pool.Size() }

// Watch implements webapp.Training.
func (t *Trainer) Watch(fn func(webapp.TrainEvent)) (stop func()) {
	t.mu.Lock()
	k := t.nextKey
	t.nextKey++
	t.watchers[k] = fn
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		delete(t.watchers, k)
		t.mu.Unlock()
	}
}

// Running implements webapp.Training.
func (t *Trainer) Running() (string, []webapp.TrainEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.busy {
		return "", nil
	}
	return t.run, append([]webapp.TrainEvent(nil), t.events...)
}

// emit records an event of the current run and tells the watchers.
func (t *Trainer) emit(e webapp.TrainEvent) {
	t.mu.Lock()
	if e.Run == "" {
		e.Run = t.run
	}
	// Keep what the page needs to redraw: everything but older progress.
	if e.Kind == webapp.EventProgress && len(t.events) > 0 && t.events[len(t.events)-1].Kind == webapp.EventProgress {
		t.events[len(t.events)-1] = e
	} else {
		t.events = append(t.events, e)
	}
	ws := make([]func(webapp.TrainEvent), 0, len(t.watchers))
	for _, w := range t.watchers {
		ws = append(ws, w)
	}
	t.mu.Unlock()
	for _, w := range ws {
		w(e)
	}
}

// onMessage receives what the workers post unasked: worker 0's reports,
// and errors that mean a worker died.
func (t *Trainer) onMessage(i int, m msg.Message, in msg.JSBuffers) {
	t.mu.Lock()
	busy, k, run := t.busy, t.k, t.run
	t.mu.Unlock()
	if !busy || i >= k {
		return
	}
	switch m.Type {
	case msg.Progress:
		var p msg.ProgressReport
		if m.DecodeBody(&p) == nil && p.Run == run {
			t.emit(webapp.TrainEvent{Kind: webapp.EventProgress, Progress: &p})
		}
	case msg.Saving:
		var sr msg.SavingReport
		if m.DecodeBody(&sr) == nil && sr.Run == run {
			t.emit(webapp.TrainEvent{Kind: webapp.EventSaving, Saving: &sr})
		}
	case msg.EpochEnd:
		var e msg.EpochReport
		if m.DecodeBody(&e) == nil && e.Run == run {
			t.emit(webapp.TrainEvent{Kind: webapp.EventEpoch, Epoch: &e})
		}
	case msg.TrainState:
		var s msg.WorkerState
		if m.DecodeBody(&s) == nil {
			t.emit(webapp.TrainEvent{Kind: webapp.EventState, State: s.State})
		}
	case msg.Error:
		if m.ID != 0 {
			return
		}
		// A worker that died (its Go program ended: out of memory, a
		// crash): the others must stop waiting for it.
		t.mu.Lock()
		if t.crashed == "" {
			t.crashed = fmt.Sprintf("worker %d stopped: %s", i, m.Message)
		}
		if t.dead != nil {
			t.dead[i] = true
		}
		sh := t.shared
		var cancel context.CancelFunc
		if i < len(t.workerCancel) {
			cancel = t.workerCancel[i]
		}
		t.mu.Unlock()
		if sh != nil {
			allreduce.Abort(sh, allreduce.AbortByPage)
		}
		if cancel != nil {
			cancel()
		}
	}
}

// Start implements webapp.Training.
func (t *Trainer) Start(ctx context.Context, s webapp.TrainStart) error {
	k := max(1, min(s.Workers, t.pool.Size()))
	t.mu.Lock()
	if t.busy {
		t.mu.Unlock()
		return errors.New("training is already running")
	}
	t.busy, t.run, t.k, t.crashed, t.events, t.shared, t.dead = true, s.Run, k, "", nil, nil, map[int]bool{}
	runCtx, cancel := context.WithCancel(context.Background())
	workerCtx := make([]context.Context, k)
	t.workerCancel = make([]context.CancelFunc, k)
	for i := range k {
		workerCtx[i], t.workerCancel[i] = context.WithCancel(runCtx)
	}
	t.mu.Unlock()
	fail := func(err error) error {
		e := webapp.TrainEvent{Kind: webapp.EventFailed, Err: err.Error()}
		var me *msg.Err
		if errors.As(err, &me) {
			e.Err = me.M.Message
			var big msg.BatchTooLarge
			if me.M.DecodeBody(&big) == nil {
				e.Largest = big.Largest
			}
		}
		t.emit(e)
		t.finish(cancel)
		return errors.New(e.Err)
	}
	if st := t.pool.Status(); st.Ready < st.Size || st.Err != "" {
		return fail(fmt.Errorf("the workers are not ready (%s)", st))
	}
	t.emit(webapp.TrainEvent{Kind: webapp.EventStarting})

	// Every worker opens the dataset and builds its replica.
	infos := make([]msg.ModelInfo, k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = t.initWorker(workerCtx[i], i, k, s, &infos[i])
		}()
	}
	wg.Wait()
	if err := t.firstError(errs); err != nil {
		return fail(err)
	}
	capacity := 0
	for _, in := range infos {
		capacity = max(capacity, in.ReduceFloats)
	}
	if infos[0].FeatureCache && k > 1 {
		capacity = max(capacity, minCapacity)
	}
	sh, err := allreduce.NewBuffer(k, capacity)
	if err != nil {
		return fail(err)
	}
	t.mu.Lock()
	t.shared = sh
	t.mu.Unlock()
	info := infos[0]
	t.emit(webapp.TrainEvent{Kind: webapp.EventStarted, Info: &info})

	// Train, in the background; the page follows the events.
	go func() {
		results := make([]msg.TrainResult, k)
		errs := make([]error, k)
		var wg sync.WaitGroup
		for i := range k {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := (msg.Message{Type: msg.Train}).WithBody(msg.TrainRequest{Run: s.Run, Save: true, Hash: true})
				if err != nil {
					errs[i] = err
					return
				}
				r, err := t.pool.RequestJS(workerCtx[i], i, m, map[string]js.Value{"shared": sh.Buffer()})
				if err == nil {
					err = r.DecodeBody(&results[i])
				}
				if err != nil {
					// The others stop waiting for this one.
					allreduce.Abort(sh, allreduce.AbortByPage)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		err := t.firstError(errs)
		if err == nil {
			for i := 1; i < k; i++ {
				if results[i].Weights != results[0].Weights {
					err = fmt.Errorf("the replicas ended with different weights (workers 0 and %d)", i)
				}
			}
		}
		if err != nil {
			t.markFailed(s.Run, err.Error())
			fail(err)
			return
		}
		res := results[0]
		t.emit(webapp.TrainEvent{Kind: webapp.EventDone, Result: &res})
		t.finish(cancel)
	}()
	return nil
}

// initWorker opens the dataset in worker i and builds its replica.
func (t *Trainer) initWorker(ctx context.Context, i, k int, s webapp.TrainStart, info *msg.ModelInfo) error {
	m, err := (msg.Message{Type: msg.DatasetOpen}).WithBody(msg.DatasetOpenRequest{Name: s.Dataset})
	if err != nil {
		return err
	}
	if _, err := t.pool.Request(ctx, i, m); err != nil {
		return fmt.Errorf("worker %d: %w", i, err)
	}
	m, err = (msg.Message{Type: msg.ModelInit}).WithBody(msg.ModelInitRequest{Run: s.Run, Dataset: s.Dataset, Settings: s.Settings,
		Rank: i, Parts: k, Weights: s.WeightsName, Resume: s.Resume})
	if err != nil {
		return err
	}
	var jsBufs map[string]js.Value
	if v, ok := s.Weights.(js.Value); ok && v.Truthy() && s.Resume == "" {
		jsBufs = map[string]js.Value{"weights": v}
	}
	r, err := t.pool.RequestJS(ctx, i, m, jsBufs)
	if err != nil {
		return err
	}
	return r.DecodeBody(info)
}

// firstError picks the error to report: a worker's death, else the first
// error that is not another worker's "stopped with it".
func (t *Trainer) firstError(errs []error) error {
	t.mu.Lock()
	crashed := t.crashed
	t.mu.Unlock()
	if crashed != "" {
		return errors.New(crashed)
	}
	var first error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if first == nil {
			first = err
		}
		if s := err.Error(); !strings.Contains(s, "stopped with it") && !strings.Contains(s, "stopped by the page") {
			return err
		}
	}
	return first
}

// finish ends the run: restarts workers that died.
func (t *Trainer) finish(cancel context.CancelFunc) {
	cancel()
	t.mu.Lock()
	dead := t.dead
	t.busy, t.shared, t.dead, t.workerCancel = false, nil, nil, nil
	t.mu.Unlock()
	// Dead workers are replaced (the live ones' replicas are simply
	// rebuilt by the next model-init).
	for i := range dead {
		t.pool.Restart(i)
	}
}

// markFailed records a run's failure in storage (worker 0 may be the one
// that died).
func (t *Trainer) markFailed(run, text string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := storage.Open(ctx)
	if err != nil {
		return
	}
	r, err := db.Run(ctx, run)
	if err != nil {
		return
	}
	r.State, r.Error, r.Updated = storage.StateFailed, text, time.Now()
	db.PutRun(ctx, r)
}

// Command implements webapp.Training: it sets the command in the shared
// buffer, where every worker sees it at its next step.
func (t *Trainer) Command(c string) error {
	t.mu.Lock()
	sh := t.shared
	t.mu.Unlock()
	if sh == nil {
		return errors.New("no training is running")
	}
	switch c {
	case "pause":
		allreduce.SetCommand(sh, allreduce.Pause)
	case "resume":
		allreduce.SetCommand(sh, allreduce.Run)
	case "stop":
		allreduce.SetCommand(sh, allreduce.Stop)
		t.emit(webapp.TrainEvent{Kind: webapp.EventState, State: "stopping"})
	default:
		return fmt.Errorf("unknown command %q", c)
	}
	return nil
}

// ImportCheckpoint implements webapp.Training: a worker reads the file,
// checks it and stores it.
func (t *Trainer) ImportCheckpoint(ctx context.Context, file any, name string) (*storage.Checkpoint, error) {
	v, ok := file.(js.Value)
	if !ok || !v.Truthy() {
		return nil, errors.New("no file")
	}
	m, err := (msg.Message{Type: msg.CheckpointImport}).WithBody(msg.CheckpointImportRequest{Name: name})
	if err != nil {
		return nil, err
	}
	// The last worker: the first ones may be training.
	r, err := t.pool.RequestJS(ctx, t.pool.Size()-1, m, map[string]js.Value{"file": v})
	if err != nil {
		return nil, err
	}
	var ck storage.Checkpoint
	return &ck, r.DecodeBody(&ck)
}

// Download implements webapp.Training: the checkpoint's bytes, straight
// from IndexedDB into a Blob (not through Go memory), as a file.
func (t *Trainer) Download(ctx context.Context, id string) error {
	db, err := storage.Open(ctx)
	if err != nil {
		return err
	}
	ck, err := db.Checkpoint(ctx, id)
	if err != nil {
		return err
	}
	v, err := db.CheckpointJS(ctx, id)
	if err != nil {
		return err
	}
	parts := js.Global().Get("Array").New(v)
	opts := js.Global().Get("Object").New()
	opts.Set("type", "application/octet-stream")
	blob := js.Global().Get("Blob").New(parts, opts)
	url := js.Global().Get("URL").Call("createObjectURL", blob)
	doc := js.Global().Get("document")
	a := doc.Call("createElement", "a")
	a.Set("href", url)
	a.Set("download", ck.Name)
	a.Get("style").Set("display", "none")
	doc.Get("body").Call("appendChild", a)
	a.Call("click")
	a.Call("remove")
	// Revoke later: the download reads the blob asynchronously.
	time.AfterFunc(time.Minute, func() { js.Global().Get("URL").Call("revokeObjectURL", url) })
	return nil
}
