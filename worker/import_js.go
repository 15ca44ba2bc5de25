//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"
	"time"

	"github.com/goresnet/goresnet/model/data/importer"
	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/goresnet/goresnet/worker/msg"
)

// importTimeout bounds one local import (thousands of pictures take
// minutes in one worker).
const importTimeout = 2 * time.Hour

func init() {
	Handle(msg.DatasetImport, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) {
		return reply(importFiles(m, in))
	})
}

// importFiles runs a dataset-import: the request's buffer "files" is an
// array of File objects (structured clones of the page's: the bytes stay
// on disk until read here, one file at a time).
func importFiles(m msg.Message, in Inbox) (*msg.DatasetImportResult, error) {
	var req msg.DatasetImportRequest
	if err := m.DecodeBody(&req); err != nil {
		return nil, err
	}
	b, ok := in.(msg.JSBuffers)
	if !ok {
		return nil, errors.New("dataset-import: no files")
	}
	files := b.Value("files")
	if !files.Truthy() || files.Length() != len(req.Paths) {
		n := 0
		if files.Truthy() {
			n = files.Length()
		}
		return nil, fmt.Errorf("dataset-import: %d paths for %d files", len(req.Paths), n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), importTimeout)
	defer cancel()
	if storage.HasLocalDataset(ctx, req.Name) {
		return nil, fmt.Errorf("this browser already has a dataset named %q: delete it first or choose another name", req.Name)
	}
	fl := importer.NewFileList()
	for i, p := range req.Paths {
		f := files.Index(i)
		size := int64(-1)
		if s := f.Get("size"); s.Type() == js.TypeNumber {
			size = int64(s.Float())
		}
		if err := fl.Add(p, size, func() ([]byte, error) { return storage.ReadBlob(ctx, f) }); err != nil {
			return nil, err
		}
	}
	progress := func(r msg.ImportProgressReport) {
		if pm, err := (msg.Message{Type: msg.ImportProgress}).WithBody(r); err == nil {
			post(pm, nil)
		}
	}
	return runImport(ctx, req, fl, progress, storage.PutLocalDataset)
}
