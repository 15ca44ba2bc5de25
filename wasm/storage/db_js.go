//go:build js && wasm

package storage

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"syscall/js"
)

// Object stores of the "goresnet" database.
const (
	storeRuns     = "runs"            // Run records, key: id
	storeCkpts    = "checkpoints"     // Checkpoint records, key: id; index "run"
	storeCkptData = "checkpoint-data" // the checkpoints' bytes (ArrayBuffer), key: the checkpoint's id
	storeMeta     = "meta"            // "current": {id}
	keyCurrent    = "current"
)

// DB is the app's IndexedDB database. Its methods are safe for concurrent
// use; every write is one transaction.
type DB struct {
	db js.Value
}

var (
	openMu sync.Mutex
	opened *DB
)

// Open opens (creating or upgrading it when needed) the app's database.
// The connection is shared by later calls in the same page or worker.
func Open(ctx context.Context) (*DB, error) {
	openMu.Lock()
	defer openMu.Unlock()
	if opened != nil {
		return opened, nil
	}
	factory := js.Global().Get("indexedDB")
	if !factory.Truthy() {
		return nil, errNoIndexedDB
	}
	req := factory.Call("open", DBName, DBVersion)
	upgrade := js.FuncOf(func(this js.Value, args []js.Value) any {
		db := req.Get("result")
		names := db.Get("objectStoreNames")
		has := func(n string) bool { return names.Call("contains", n).Bool() }
		keyPath := js.Global().Get("Object").New()
		keyPath.Set("keyPath", "id")
		if !has(storeRuns) {
			db.Call("createObjectStore", storeRuns, keyPath)
		}
		if !has(storeCkpts) {
			s := db.Call("createObjectStore", storeCkpts, keyPath)
			s.Call("createIndex", "run", "run")
		}
		if !has(storeCkptData) {
			db.Call("createObjectStore", storeCkptData)
		}
		if !has(storeMeta) {
			db.Call("createObjectStore", storeMeta)
		}
		return nil
	})
	req.Set("onupgradeneeded", upgrade)
	defer upgrade.Release()
	v, err := await(ctx, "opening the browser's database", req)
	if err != nil {
		return nil, err
	}
	// A newer version of the app (in another tab) upgrading the database
	// closes this connection rather than blocking it.
	onVersion := js.FuncOf(func(this js.Value, args []js.Value) any {
		v.Call("close")
		openMu.Lock()
		opened = nil
		openMu.Unlock()
		return nil
	})
	v.Set("onversionchange", onVersion)
	opened = &DB{db: v}
	return opened, nil
}

// tx starts a transaction over stores; durable writes ask the browser to
// flush them to disk before reporting completion.
func (d *DB) tx(mode string, durable bool, stores ...string) (js.Value, error) {
	names := js.Global().Get("Array").New()
	for _, s := range stores {
		names.Call("push", s)
	}
	opts := js.Global().Get("Object").New()
	if durable {
		opts.Set("durability", "strict")
	}
	var tx js.Value
	err := catch(func() { tx = d.db.Call("transaction", names, mode, opts) })
	return tx, err
}

// catch turns a JavaScript exception thrown by f into an error.
func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if je, ok := r.(js.Error); ok {
				err = jsError("the browser's database", je.Value)
				return
			}
			err = fmt.Errorf("the browser's database: %v", r)
		}
	}()
	f()
	return nil
}

// get reads one record of a store.
func (d *DB) get(ctx context.Context, store, key string) (js.Value, error) {
	tx, err := d.tx("readonly", false, store)
	if err != nil {
		return js.Undefined(), err
	}
	return await(ctx, "reading "+store, tx.Call("objectStore", store).Call("get", key))
}

// getAll reads every record of a store, or of its index "run" for run.
func (d *DB) getAll(ctx context.Context, store, run string) (js.Value, error) {
	tx, err := d.tx("readonly", false, store)
	if err != nil {
		return js.Undefined(), err
	}
	s := tx.Call("objectStore", store)
	if run != "" {
		return await(ctx, "listing "+store, s.Call("index", "run").Call("getAll", run))
	}
	return await(ctx, "listing "+store, s.Call("getAll"))
}

func decodeAll[T any](v js.Value) ([]T, error) {
	n := v.Length()
	out := make([]T, n)
	for i := range n {
		if err := fromJS(v.Index(i), &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PutRun writes a run's record.
func (d *DB) PutRun(ctx context.Context, r *Run) error {
	v, err := toJS(r)
	if err != nil {
		return err
	}
	tx, err := d.tx("readwrite", false, storeRuns)
	if err != nil {
		return err
	}
	tx.Call("objectStore", storeRuns).Call("put", v)
	return awaitTx(ctx, "saving run "+r.ID, tx)
}

// Run reads a run.
func (d *DB) Run(ctx context.Context, id string) (*Run, error) {
	v, err := d.get(ctx, storeRuns, id)
	if err != nil {
		return nil, err
	}
	var r Run
	if err := fromJS(v, &r); err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	return &r, nil
}

// Runs lists the runs, newest first.
func (d *DB) Runs(ctx context.Context) ([]Run, error) {
	v, err := d.getAll(ctx, storeRuns, "")
	if err != nil {
		return nil, err
	}
	runs, err := decodeAll[Run](v)
	if err != nil {
		return nil, err
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Created.After(runs[j].Created) })
	return runs, nil
}

// Checkpoints lists a run's checkpoints (every stored checkpoint when run
// is ""), newest first, without their bytes.
func (d *DB) Checkpoints(ctx context.Context, run string) ([]Checkpoint, error) {
	v, err := d.getAll(ctx, storeCkpts, run)
	if err != nil {
		return nil, err
	}
	cks, err := decodeAll[Checkpoint](v)
	if err != nil {
		return nil, err
	}
	sortNewest(cks)
	return cks, nil
}

func sortNewest(cks []Checkpoint) {
	sort.Slice(cks, func(i, j int) bool {
		if !cks[i].Created.Equal(cks[j].Created) {
			return cks[i].Created.After(cks[j].Created)
		}
		return cks[i].ID > cks[j].ID
	})
}

// Checkpoint reads a checkpoint's record.
func (d *DB) Checkpoint(ctx context.Context, id string) (*Checkpoint, error) {
	v, err := d.get(ctx, storeCkpts, id)
	if err != nil {
		return nil, err
	}
	var c Checkpoint
	if err := fromJS(v, &c); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", id, err)
	}
	return &c, nil
}

// CheckpointData reads a checkpoint's bytes (the safetensors file) into Go
// memory.
func (d *DB) CheckpointData(ctx context.Context, id string) ([]byte, error) {
	v, err := d.CheckpointJS(ctx, id)
	if err != nil {
		return nil, err
	}
	b, err := bytesFromJS(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", id, err)
	}
	return b, nil
}

// CheckpointJS reads a checkpoint's bytes as the stored JavaScript value
// (an ArrayBuffer), without copying them into Go memory: e.g. to offer
// them as a download (new Blob([v])) or to post them to a worker.
func (d *DB) CheckpointJS(ctx context.Context, id string) (js.Value, error) {
	v, err := d.get(ctx, storeCkptData, id)
	if err != nil {
		return js.Undefined(), err
	}
	if v.IsUndefined() || v.IsNull() {
		return js.Undefined(), fmt.Errorf("checkpoint %s: %w", id, ErrNotFound)
	}
	return v, nil
}

// SaveCheckpoint stores a checkpoint's bytes and record and, in the same
// transaction: updates run (its Last, and BestCheckpoint when ck.Best;
// the caller sets its history and state), clears the best mark of the
// run's other checkpoints when ck is the best, deletes the run's older
// epoch checkpoints beyond opts.Keep (never the best, the current model,
// or ck) and its earlier stop checkpoints, and moves the current model
// when asked. Either all of it happens or none (a reload mid-save leaves
// the previous state).
func (d *DB) SaveCheckpoint(ctx context.Context, ck Checkpoint, data []byte, run *Run, opts SaveOptions) error {
	if ck.ID == "" {
		return fmt.Errorf("saving a checkpoint: no id")
	}
	ck.Bytes = int64(len(data))
	var others []Checkpoint
	if run != nil {
		ck.Run = run.ID
		var err error
		if others, err = d.Checkpoints(ctx, run.ID); err != nil {
			return err
		}
	}
	cur, _ := d.currentID(ctx)
	keep := opts.Keep
	if keep <= 0 {
		keep = DefaultKeep
	}
	var puts []Checkpoint
	var dels []string
	epochs := 1 // ck itself counts when it is an epoch checkpoint
	if ck.Kind != KindEpoch {
		epochs = 0
	}
	for _, o := range others { // newest first
		if o.ID == ck.ID {
			continue
		}
		if ck.Best && o.Best {
			o.Best = false
			puts = append(puts, o)
		}
		if o.ID == cur || o.Best {
			continue
		}
		switch o.Kind {
		case KindStop:
			dels = append(dels, o.ID)
		case KindEpoch:
			epochs++
			if epochs > keep {
				dels = append(dels, o.ID)
			}
		}
	}
	newCurrent := ""
	if run != nil {
		run.Last = ck.ID
		if ck.Best {
			run.BestCheckpoint = ck.ID
		}
		for _, id := range dels {
			if run.BestCheckpoint == id {
				run.BestCheckpoint = ""
			}
		}
		if opts.SetCurrent {
			newCurrent = run.BestCheckpoint
			if newCurrent == "" {
				newCurrent = ck.ID
			}
		}
	} else if opts.SetCurrent {
		newCurrent = ck.ID
	}

	rec, err := toJS(ck)
	if err != nil {
		return err
	}
	tx, err := d.tx("readwrite", true, storeCkpts, storeCkptData, storeRuns, storeMeta)
	if err != nil {
		return err
	}
	err = catch(func() {
		cs, ds := tx.Call("objectStore", storeCkpts), tx.Call("objectStore", storeCkptData)
		ds.Call("put", bytesToJS(data), ck.ID)
		cs.Call("put", rec)
		for _, o := range puts {
			v, _ := toJS(o)
			cs.Call("put", v)
		}
		for _, id := range dels {
			cs.Call("delete", id)
			ds.Call("delete", id)
		}
		if run != nil {
			v, _ := toJS(run)
			tx.Call("objectStore", storeRuns).Call("put", v)
		}
		if newCurrent != "" {
			v, _ := toJS(map[string]string{"id": newCurrent})
			tx.Call("objectStore", storeMeta).Call("put", v, keyCurrent)
		}
	})
	if err != nil {
		tx.Call("abort")
		return err
	}
	if opts.Issued != nil {
		opts.Issued()
	}
	return awaitTx(ctx, "saving checkpoint "+ck.ID, tx)
}

// DeleteCheckpoint deletes one checkpoint (and the current model pointer
// when it pointed to it).
func (d *DB) DeleteCheckpoint(ctx context.Context, id string) error {
	cur, _ := d.currentID(ctx)
	tx, err := d.tx("readwrite", false, storeCkpts, storeCkptData, storeMeta)
	if err != nil {
		return err
	}
	tx.Call("objectStore", storeCkpts).Call("delete", id)
	tx.Call("objectStore", storeCkptData).Call("delete", id)
	if cur == id {
		tx.Call("objectStore", storeMeta).Call("delete", keyCurrent)
	}
	return awaitTx(ctx, "deleting checkpoint "+id, tx)
}

// DeleteRun deletes a run and its checkpoints.
func (d *DB) DeleteRun(ctx context.Context, id string) error {
	cks, err := d.Checkpoints(ctx, id)
	if err != nil {
		return err
	}
	cur, _ := d.currentID(ctx)
	tx, err := d.tx("readwrite", false, storeRuns, storeCkpts, storeCkptData, storeMeta)
	if err != nil {
		return err
	}
	for _, c := range cks {
		tx.Call("objectStore", storeCkpts).Call("delete", c.ID)
		tx.Call("objectStore", storeCkptData).Call("delete", c.ID)
		if c.ID == cur {
			tx.Call("objectStore", storeMeta).Call("delete", keyCurrent)
		}
	}
	tx.Call("objectStore", storeRuns).Call("delete", id)
	return awaitTx(ctx, "deleting run "+id, tx)
}

func (d *DB) currentID(ctx context.Context) (string, error) {
	v, err := d.get(ctx, storeMeta, keyCurrent)
	if err != nil {
		return "", err
	}
	var c struct {
		ID string `json:"id"`
	}
	if err := fromJS(v, &c); err != nil {
		return "", err
	}
	return c.ID, nil
}

// Current returns the current model's checkpoint record (ErrNotFound when
// there is none): the best checkpoint of the run trained last, or the one
// chosen with SetCurrent.
func (d *DB) Current(ctx context.Context) (*Checkpoint, error) {
	id, err := d.currentID(ctx)
	if err != nil {
		return nil, err
	}
	return d.Checkpoint(ctx, id)
}

// SetCurrent makes a stored checkpoint the current model.
func (d *DB) SetCurrent(ctx context.Context, id string) error {
	if _, err := d.Checkpoint(ctx, id); err != nil {
		return fmt.Errorf("checkpoint %s: %w", id, err)
	}
	v, _ := toJS(map[string]string{"id": id})
	tx, err := d.tx("readwrite", false, storeMeta)
	if err != nil {
		return err
	}
	tx.Call("objectStore", storeMeta).Call("put", v, keyCurrent)
	return awaitTx(ctx, "setting the current model", tx)
}

// Usage reports the origin's storage use and quota in bytes
// (navigator.storage.estimate), zero when the browser does not say.
func Usage(ctx context.Context) (used, quota int64) {
	st := js.Global().Get("navigator").Get("storage")
	if !st.Truthy() || !st.Get("estimate").Truthy() {
		return 0, 0
	}
	v, err := awaitPromise(ctx, "estimating storage", st.Call("estimate"))
	if err != nil || !v.Truthy() {
		return 0, 0
	}
	num := func(name string) int64 {
		if x := v.Get(name); x.Type() == js.TypeNumber {
			return int64(x.Float())
		}
		return 0
	}
	return num("usage"), num("quota")
}

// Persist asks the browser not to evict the app's storage under pressure
// (navigator.storage.persist, pages only); it reports whether it is
// persistent.
func Persist(ctx context.Context) bool {
	st := js.Global().Get("navigator").Get("storage")
	if !st.Truthy() || !st.Get("persist").Truthy() {
		return false
	}
	v, err := awaitPromise(ctx, "asking for persistent storage", st.Call("persist"))
	return err == nil && v.Truthy()
}
