package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/datatest"
	"github.com/goresnet/goresnet/model/runspec"
	"github.com/goresnet/goresnet/model/train"
	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/goresnet/goresnet/worker/allreduce"
	"github.com/goresnet/goresnet/worker/msg"
)

// fakeEnv is the browser, for native tests: datasets from folders, an
// in-memory store, posted messages recorded, shared buffers in Go memory.
type fakeEnv struct {
	dirs map[string]string // dataset name -> folder
	db   *memStore

	mu     sync.Mutex
	posted []msg.Message
}

func (e *fakeEnv) source(name, url string) (data.Source, error) {
	d, ok := e.dirs[name]
	if !ok {
		return nil, fmt.Errorf("no dataset %s", name)
	}
	return data.DirSource(d), nil
}
func (e *fakeEnv) shardCache() data.Cache                    { return nil }
func (e *fakeEnv) store(ctx context.Context) (store, error)  { return e.db, nil }
func (e *fakeEnv) yield()                                    { time.Sleep(time.Microsecond) }
func (e *fakeEnv) sleep(d time.Duration)                     { time.Sleep(d / 10) }
func (e *fakeEnv) memoryBytes() int64                        { return 0 }
func (e *fakeEnv) datasetURL(p string) string                { return "http://127.0.0.1:8080" + p }
func (e *fakeEnv) shared(in Inbox) (allreduce.Shared, error) { return in.(*inbox).shared, nil }
func (e *fakeEnv) readBuffer(ctx context.Context, in Inbox, name string) ([]byte, error) {
	return copyBuffer(in, name)
}
func (e *fakeEnv) post(m msg.Message) { e.mu.Lock(); e.posted = append(e.posted, m); e.mu.Unlock() }

// messages returns the posted messages of type typ ("": all), in order.
func (e *fakeEnv) messages(typ string) (out []msg.Message) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.posted {
		if typ == "" || m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// inbox is a request's buffers.
type inbox struct {
	bufs   map[string][]byte
	shared allreduce.Shared
}

func (b *inbox) Names() []string {
	var n []string
	for k := range b.bufs {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
func (b *inbox) Len(name string) int {
	if v, ok := b.bufs[name]; ok {
		return len(v)
	}
	return -1
}
func (b *inbox) CopyTo(name string, dst []byte) error { copy(dst, b.bufs[name]); return nil }

// memStore is wasm/storage's DB in memory.
type memStore struct {
	mu      sync.Mutex
	runs    map[string]storage.Run
	cks     map[string]storage.Checkpoint
	data    map[string][]byte
	current string
	saves   int
}

func newMemStore() *memStore {
	return &memStore{runs: map[string]storage.Run{}, cks: map[string]storage.Checkpoint{}, data: map[string][]byte{}}
}

func (s *memStore) Run(ctx context.Context, id string) (*storage.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return &r, nil
}
func (s *memStore) PutRun(ctx context.Context, r *storage.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[r.ID] = *r
	return nil
}
func (s *memStore) SaveCheckpoint(ctx context.Context, ck storage.Checkpoint, b []byte, run *storage.Run, opts storage.SaveOptions) error {
	if opts.Issued != nil {
		opts.Issued()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ck.Bytes = int64(len(b))
	if run == nil {
		s.cks[ck.ID], s.data[ck.ID] = ck, append([]byte(nil), b...)
		if opts.SetCurrent {
			s.current = ck.ID
		}
		return nil
	}
	ck.Run = run.ID
	if ck.Best {
		for id, o := range s.cks {
			o.Best = false
			s.cks[id] = o
		}
		run.BestCheckpoint = ck.ID
	}
	run.Last = ck.ID
	s.cks[ck.ID], s.data[ck.ID] = ck, append([]byte(nil), b...)
	s.runs[run.ID] = *run
	if opts.SetCurrent {
		s.current = ck.ID
		if run.BestCheckpoint != "" {
			s.current = run.BestCheckpoint
		}
	}
	s.saves++
	return nil
}
func (s *memStore) CheckpointData(ctx context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.data[id]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return b, nil
}

func newRequest(t *testing.T, typ string, body any) msg.Message {
	t.Helper()
	m, err := (msg.Message{Type: typ}).WithBody(body)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func decode[T any](t *testing.T, m msg.Message) T {
	t.Helper()
	var v T
	if err := m.DecodeBody(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// worker runs one request on a session the way the dispatch does.
func call(s *session, m msg.Message, in Inbox) msg.Message {
	if in == nil {
		in = &inbox{}
	}
	var r msg.Message
	switch m.Type {
	case msg.DatasetOpen:
		r, _ = reply(s.datasetOpen(m))
	case msg.ModelInit:
		r, _ = reply(s.modelInit(m, in))
	case msg.Train:
		res, _, err := s.train(m, in)
		r, _ = reply(res, err)
	case msg.Evaluate:
		r, _ = reply(s.evaluate(m))
	case msg.CheckpointImport:
		r, _ = reply(s.importCheckpoint(m, in))
	case msg.Status:
		r, _ = reply(s.status(), nil)
	}
	return r
}

func smallSettings() runspec.Settings {
	s := runspec.DefaultSettings()
	s.Arch, s.WidthDiv, s.Epochs, s.Batch, s.LR, s.ValSplit = "resnet18", 8, 2, 16, 0.05, "test"
	s.SaveBest = "val_accuracy"
	return s
}

// group builds k sessions with the digits open and a replica each.
func group(t *testing.T, e *fakeEnv, k int, s runspec.Settings, run string) []*session {
	t.Helper()
	var ss []*session
	for r := range k {
		w := newSession()
		if rep := call(w, newRequest(t, msg.DatasetOpen, msg.DatasetOpenRequest{Name: "digits"}), nil); rep.AsError() != nil {
			t.Fatal(rep.AsError())
		}
		rep := call(w, newRequest(t, msg.ModelInit, msg.ModelInitRequest{Run: run, Dataset: "digits", Settings: s, Rank: r, Parts: k}), nil)
		if err := rep.AsError(); err != nil {
			t.Fatal(err)
		}
		info := decode[msg.ModelInfo](t, rep)
		if info.Classes != 10 || info.ReduceFloats <= 0 || info.Memory.Total <= 0 {
			t.Fatalf("model info %+v", info)
		}
		ss = append(ss, w)
	}
	return ss
}

// trainAll sends train to every session at once on one shared buffer.
func trainAll(t *testing.T, ss []*session, req msg.TrainRequest, sh allreduce.Shared) []msg.Message {
	t.Helper()
	out := make([]msg.Message, len(ss))
	var wg sync.WaitGroup
	for r, w := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[r] = call(w, newRequest(t, msg.Train, req), &inbox{shared: sh})
		}()
	}
	wg.Wait()
	return out
}

func setupEnv(t *testing.T) *fakeEnv {
	t.Helper()
	e := &fakeEnv{dirs: map[string]string{"digits": datatest.Digits(t, 96, 32, 32)}, db: newMemStore()}
	old := theEnv
	theEnv = e
	t.Cleanup(func() { theEnv = old })
	return e
}

// TestWorkersTrainTogether: two workers' replicas train a run together
// through a shared buffer: they end with the same weights, worker 0
// reports progress and epochs and saves a checkpoint per epoch (the CLI's
// format, with the dataset's URL in its settings), and the run's record
// says it finished.
func TestWorkersTrainTogether(t *testing.T) {
	e := setupEnv(t)
	s := smallSettings()
	ss := group(t, e, 2, s, "run1")
	sh := allreduce.NewMemory(2, ss[0].info.ReduceFloats)
	replies := trainAll(t, ss, msg.TrainRequest{Run: "run1", Save: true, Hash: true, CheckEvery: 2}, sh)
	var res []msg.TrainResult
	for r, rep := range replies {
		if err := rep.AsError(); err != nil {
			t.Fatalf("worker %d: %v", r, err)
		}
		res = append(res, decode[msg.TrainResult](t, rep))
	}
	if res[0].Weights == "" || res[0].Weights != res[1].Weights || res[0].State != "finished" || res[0].Epoch != 2 || res[0].Step != 12 {
		t.Fatalf("results %+v\n%+v", res[0], res[1])
	}
	if res[0].Reduces < 12 {
		t.Errorf("%d all-reduces for 12 steps", res[0].Reduces)
	}
	if n := len(e.messages(msg.EpochEnd)); n != 2 {
		t.Errorf("%d epoch reports, want 2 (worker 0's)", n)
	}
	// Each epoch's checkpoint is announced as under way before its report.
	saving := map[string]bool{}
	for _, m := range e.messages("") {
		switch m.Type {
		case msg.Saving:
			sr := decode[msg.SavingReport](t, m)
			if sr.Run != "run1" || sr.Bytes <= 0 || sr.Checkpoint != storage.EpochCheckpointID("run1", sr.Epoch) {
				t.Errorf("saving report %+v", sr)
			}
			saving[sr.Checkpoint] = true
		case msg.EpochEnd:
			if er := decode[msg.EpochReport](t, m); !saving[er.Checkpoint] {
				t.Errorf("epoch %d's report (checkpoint %q) came before its saving report", er.Stats.Epoch, er.Checkpoint)
			}
		}
	}
	prog := e.messages(msg.Progress)
	if len(prog) < 2 {
		t.Fatalf("%d progress reports", len(prog))
	}
	p := decode[msg.ProgressReport](t, prog[len(prog)-1])
	if p.Run != "run1" || p.Epochs != 2 || p.Batches != 6 || p.Images != 96 || !(p.Loss > 0) {
		t.Errorf("last progress %+v", p)
	}
	run, err := e.db.Run(context.Background(), "run1")
	if err != nil {
		t.Fatal(err)
	}
	if run.State != storage.StateFinished || len(run.History.Epochs) != 2 || run.Last != storage.EpochCheckpointID("run1", 2) {
		t.Errorf("run %+v", run)
	}
	b, err := e.db.CheckpointData(context.Background(), run.Last)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := train.ParseCheckpoint(b, run.Last)
	if err != nil {
		t.Fatal(err)
	}
	var saved runspec.Settings
	if err := json.Unmarshal(ck.Meta.Train, &saved); err != nil {
		t.Fatal(err)
	}
	if ck.Meta.Epoch != 2 || saved.Data != "http://127.0.0.1:8080/data/digits/" || saved.Replicas != 2 || len(ck.Meta.Classes) != 10 {
		t.Errorf("checkpoint meta %+v, settings %+v", ck.Meta, saved)
	}
	net, err := ck.Net()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range net.ParamData {
		if v != ss[1].setup.Net.ParamData[i] {
			t.Fatal("the saved weights are not worker 1's")
		}
	}

	// checkpoint-import checks a file and stores it as the current model.
	rep := call(ss[0], newRequest(t, msg.CheckpointImport, msg.CheckpointImportRequest{Name: "cli.safetensors"}), &inbox{bufs: map[string][]byte{"file": b}})
	if err := rep.AsError(); err != nil {
		t.Fatal(err)
	}
	imp := decode[storage.Checkpoint](t, rep)
	if imp.Kind != storage.KindImport || imp.Epoch != 2 || imp.Classes != 10 || imp.Arch != "resnet18" || imp.Settings == nil || e.db.current != imp.ID {
		t.Errorf("imported %+v", imp)
	}
	bad := append([]byte(nil), b...)
	bad[len(bad)-1] ^= 1
	if rep := call(ss[0], newRequest(t, msg.CheckpointImport, msg.CheckpointImportRequest{Name: "bad.safetensors"}), &inbox{bufs: map[string][]byte{"file": bad}}); rep.AsError() == nil || !strings.Contains(rep.Message, "corrupt") {
		t.Errorf("a corrupt checkpoint: %v", rep.AsError())
	}

	// evaluate: the stored checkpoint and the replica give the same metrics.
	a := call(ss[0], newRequest(t, msg.Evaluate, msg.EvaluateRequest{Dataset: "digits", Split: "test", Checkpoint: run.Last}), nil)
	bb := call(ss[1], newRequest(t, msg.Evaluate, msg.EvaluateRequest{Dataset: "digits", Split: "test"}), nil)
	if a.AsError() != nil || bb.AsError() != nil {
		t.Fatal(a.AsError(), bb.AsError())
	}
	ea, eb := decode[msg.EvaluateResult](t, a), decode[msg.EvaluateResult](t, bb)
	if ea.N != 32 || ea.Loss != eb.Loss || ea.Top1 != eb.Top1 || len(ea.Confusion) != 10 || len(ea.Classes) != 10 {
		t.Errorf("evaluate %+v / %+v", ea, eb)
	}
}

// TestWorkersPauseAndStop: pause, resume and stop reach both workers at
// the same step; the stop saves a checkpoint to resume from, and a run
// resumed from it in new workers continues at the same place.
func TestWorkersPauseAndStop(t *testing.T) {
	e := setupEnv(t)
	s := smallSettings()
	s.Epochs = 20
	ss := group(t, e, 2, s, "run2")
	sh := allreduce.NewMemory(2, ss[0].info.ReduceFloats)
	go func() {
		waitFor := func(what string, ok func() bool) {
			for !ok() {
				time.Sleep(time.Millisecond)
			}
		}
		waitFor("training", func() bool { return ss[0].status().Step >= 3 })
		if _, err := ss[1].command(allreduce.Pause); err != nil {
			t.Error(err)
		}
		waitFor("paused", func() bool { return ss[0].status().State == "paused" && ss[1].status().State == "paused" })
		time.Sleep(20 * time.Millisecond)
		if a, b := ss[0].status().Step, ss[1].status().Step; a != b {
			t.Errorf("paused at steps %d and %d", a, b)
		}
		ss[0].command(allreduce.Run)
		waitFor("training again", func() bool { return ss[0].status().Step >= 9 })
		ss[0].command(allreduce.Stop)
	}()
	replies := trainAll(t, ss, msg.TrainRequest{Run: "run2", Save: true, Hash: true}, sh)
	var res []msg.TrainResult
	for r, rep := range replies {
		if err := rep.AsError(); err != nil {
			t.Fatalf("worker %d: %v", r, err)
		}
		res = append(res, decode[msg.TrainResult](t, rep))
	}
	if res[0].State != "stopped" || res[0].Weights != res[1].Weights || res[0].Step != res[1].Step || res[0].Epoch >= 20 {
		t.Fatalf("results %+v\n%+v", res[0], res[1])
	}
	states := e.messages(msg.TrainState)
	if len(states) < 2 || decode[msg.WorkerState](t, states[0]).State != "paused" {
		t.Errorf("train-state reports %v", states)
	}
	run, _ := e.db.Run(context.Background(), "run2")
	if run.State != storage.StateStopped || !strings.Contains(run.Last, "/stop-") || res[0].Checkpoint != run.Last {
		t.Fatalf("run after the stop: %+v (result's checkpoint %s)", run, res[0].Checkpoint)
	}

	// Resume in two fresh workers: they start where the others stopped.
	ss2 := make([]*session, 2)
	for r := range 2 {
		w := newSession()
		call(w, newRequest(t, msg.DatasetOpen, msg.DatasetOpenRequest{Name: "digits"}), nil)
		rep := call(w, newRequest(t, msg.ModelInit, msg.ModelInitRequest{Run: "run2", Dataset: "digits", Settings: s, Rank: r, Parts: 2, Resume: run.Last}), nil)
		if err := rep.AsError(); err != nil {
			t.Fatal(err)
		}
		if info := decode[msg.ModelInfo](t, rep); info.Step != res[0].Step || info.Epoch != res[0].Epoch {
			t.Fatalf("resumed at epoch %d step %d, stopped at %d/%d", info.Epoch, info.Step, res[0].Epoch, res[0].Step)
		}
		ss2[r] = w
	}
	for r := range 2 {
		if a, b := ss2[r].setup.Net.ParamData, ss[r].setup.Net.ParamData; !equal(a, b) {
			t.Fatalf("worker %d resumed with other weights", r)
		}
	}
	replies = trainAll(t, ss2, msg.TrainRequest{Run: "run2", MaxSteps: res[0].Step + 2, Hash: true}, allreduce.NewMemory(2, ss2[0].info.ReduceFloats))
	for _, rep := range replies {
		if err := rep.AsError(); err != nil {
			t.Fatal(err)
		}
		if got := decode[msg.TrainResult](t, rep); got.Step != res[0].Step+2 {
			t.Errorf("resumed run stopped at step %d, want %d", got.Step, res[0].Step+2)
		}
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWorkerRefusesABatchThatDoesNotFit: model-init estimates the memory
// first and refuses a batch that would not fit, with the largest that
// does in the error's body.
func TestWorkerRefusesABatchThatDoesNotFit(t *testing.T) {
	e := setupEnv(t)
	_ = e
	s := smallSettings()
	s.Arch, s.WidthDiv, s.Size, s.Batch = "resnet50", 1, 224, 96
	w := newSession()
	call(w, newRequest(t, msg.DatasetOpen, msg.DatasetOpenRequest{Name: "digits"}), nil)
	rep := call(w, newRequest(t, msg.ModelInit, msg.ModelInitRequest{Run: "big", Dataset: "digits", Settings: s, Rank: 0, Parts: 2}), nil)
	err := rep.AsError()
	if err == nil || !strings.Contains(err.Error(), "the largest batch that fits is") {
		t.Fatalf("a batch of 96 at 224 on ResNet-50: %v", err)
	}
	big := decode[msg.BatchTooLarge](t, rep)
	if big.Batch != 96 || big.Largest < 2 || big.Largest >= 96 || big.Largest%2 != 0 {
		t.Errorf("body %+v", big)
	}
	t.Log(err)
	var e2 *msg.Err
	if !errors.As(err, &e2) {
		t.Errorf("error %T", err)
	}
}
