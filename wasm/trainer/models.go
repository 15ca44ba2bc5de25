//go:build js && wasm

package trainer

import (
	"context"
	"errors"
	"syscall/js"

	webapp "github.com/goresnet/goresnet/app"
	"github.com/goresnet/goresnet/wasm/workerpool"
	"github.com/goresnet/goresnet/worker/msg"
)

// Models implements the app's Models on the pool: the Model page's
// descriptions and the Export page's conversions run in the pool's last
// worker (the first ones may be training; requests queue behind training
// only when every worker trains).
type Models struct{ pool *workerpool.Pool }

// NewModels makes the model service on the pool.
func NewModels(pool *workerpool.Pool) *Models { return &Models{pool: pool} }

func (m *Models) worker() int { return m.pool.Size() - 1 }

// Describe implements webapp.Models: the weights file (a File) goes to
// the worker as it is, which reads its bytes.
func (m *Models) Describe(ctx context.Context, req msg.ModelDescribeRequest, weights any) (*msg.ModelDescription, error) {
	r, err := (msg.Message{Type: msg.ModelDescribe}).WithBody(req)
	if err != nil {
		return nil, err
	}
	var jsBufs map[string]js.Value
	if v, ok := weights.(js.Value); ok && v.Truthy() {
		jsBufs = map[string]js.Value{"weights": v}
	}
	rep, err := m.pool.RequestJS(ctx, m.worker(), r, jsBufs)
	if err != nil {
		return nil, err
	}
	var d msg.ModelDescription
	return &d, rep.DecodeBody(&d)
}

// Export implements webapp.Models: the file the worker wrote goes from
// its transferred ArrayBuffer into a Blob and a download, never through
// the page's Go memory.
func (m *Models) Export(ctx context.Context, req msg.CheckpointExportRequest) (*msg.ExportResult, error) {
	r, err := (msg.Message{Type: msg.CheckpointExport}).WithBody(req)
	if err != nil {
		return nil, err
	}
	rep, err := m.pool.Request(ctx, m.worker(), r)
	if err != nil {
		return nil, err
	}
	var res msg.ExportResult
	if err := rep.DecodeBody(&res); err != nil {
		return nil, err
	}
	file := rep.Buffers.Value("file")
	if !file.Truthy() {
		return nil, errors.New("export: the worker sent no file")
	}
	mime := "application/octet-stream"
	webapp.DownloadBlob(res.Name, mime, file)
	return &res, nil
}
