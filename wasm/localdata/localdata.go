//go:build js && wasm

// Package localdata is the app's side of local datasets (app.LocalData):
// it asks a worker to import the pictures a person dropped or picked
// (dataset-import) and reads and deletes what is stored (wasm/storage).
// The File objects go to the worker as they are: the pictures are read
// there, and never leave the browser.
package localdata

import (
	"context"
	"encoding/json"
	"fmt"
	"syscall/js"

	webapp "github.com/goresnet/goresnet/app"
	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/goresnet/goresnet/wasm/workerpool"
	"github.com/goresnet/goresnet/worker/msg"
)

// Local implements webapp.LocalData on a worker pool.
type Local struct{ pool *workerpool.Pool }

// New returns the local datasets, importing in pool's last worker.
func New(pool *workerpool.Pool) *Local { return &Local{pool: pool} }

func (l *Local) worker() int { return max(0, l.pool.Size()-1) }

// List implements webapp.LocalData.
func (l *Local) List(ctx context.Context) ([]webapp.LocalDataset, error) {
	ms, bad, err := storage.LocalDatasets(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]webapp.LocalDataset, 0, len(ms))
	for _, m := range ms {
		d := webapp.LocalDataset{Manifest: m}
		for _, sp := range m.Splits {
			for _, sh := range sp.Shards {
				d.Bytes += sh.Bytes
			}
		}
		if b, err := storage.LocalFile(ctx, m.Name, "import-report.json"); err == nil {
			var r msg.ImportReport
			if json.Unmarshal(b, &r) == nil {
				d.Report = &r
			}
		}
		if b, err := storage.LocalFile(ctx, m.Name, "summary.json"); err == nil {
			var s msg.DatasetSummary
			if json.Unmarshal(b, &s) == nil {
				d.Summary = &s
			}
		}
		out = append(out, d)
	}
	for name, why := range bad {
		// Listed so that the person can delete it.
		out = append(out, webapp.LocalDataset{Manifest: &data.Manifest{Name: name, Description: "damaged: " + why}})
	}
	return out, nil
}

// Import implements webapp.LocalData.
func (l *Local) Import(ctx context.Context, req msg.DatasetImportRequest, files []webapp.PickedFile, progress func(msg.ImportProgressReport)) (*msg.DatasetImportResult, error) {
	arr := js.Global().Get("Array").New()
	req.Paths, req.Sizes = nil, nil
	for _, f := range files {
		v, ok := f.File.(js.Value)
		if !ok {
			return nil, fmt.Errorf("%s: not a browser File", f.Path)
		}
		arr.Call("push", v)
		req.Paths = append(req.Paths, f.Path)
		req.Sizes = append(req.Sizes, f.Size)
	}
	m, err := (msg.Message{Type: msg.DatasetImport}).WithBody(req)
	if err != nil {
		return nil, err
	}
	w := l.worker()
	stop := l.pool.Listen(func(i int, m msg.Message, _ msg.JSBuffers) {
		if i != w || m.Type != msg.ImportProgress || progress == nil {
			return
		}
		var r msg.ImportProgressReport
		if m.DecodeBody(&r) == nil && r.Name == req.Name {
			progress(r)
		}
	})
	defer stop()
	r, err := l.pool.RequestJS(ctx, w, m, map[string]js.Value{"files": arr})
	if err != nil {
		return nil, err
	}
	var res msg.DatasetImportResult
	if err := r.DecodeBody(&res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Delete implements webapp.LocalData.
func (l *Local) Delete(ctx context.Context, name string) error {
	return storage.DeleteLocalDataset(ctx, name)
}

// Summary implements webapp.LocalData.
func (l *Local) Summary(ctx context.Context, name string) (*msg.DatasetSummary, error) {
	m, err := (msg.Message{Type: msg.DatasetSummaryReq}).WithBody(msg.DatasetOpenRequest{Name: name})
	if err != nil {
		return nil, err
	}
	r, err := l.pool.Request(ctx, l.worker(), m)
	if err != nil {
		return nil, err
	}
	var s msg.DatasetSummary
	if err := r.DecodeBody(&s); err != nil {
		return nil, err
	}
	return &s, nil
}
