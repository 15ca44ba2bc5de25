package app

import (
	"context"
	"sync"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/worker/msg"
)

// LocalDataset is a dataset imported in this browser from the person's
// own pictures: stored in the browser (wasm/storage's local datasets),
// never sent anywhere.
type LocalDataset struct {
	Manifest *data.Manifest
	Report   *msg.ImportReport   // what the import skipped (nil if unknown)
	Summary  *msg.DatasetSummary // class counts and example strips (nil if unknown)
	Bytes    int64               // all shards
}

// PickedFile is a picture the person dropped or picked, with its path in
// the dataset ("class/picture.jpg"). File is the browser's File object,
// passed to the importing worker as it is (its bytes are read there).
type PickedFile struct {
	Path string
	Size int64
	File any
}

// LocalData is what the Data page uses to import, list and delete local
// datasets, and to summarize any dataset (wasm/localdata in the browser,
// a fake in tests).
type LocalData interface {
	List(ctx context.Context) ([]LocalDataset, error)
	// Import runs a dataset-import in a worker; progress is called (from
	// any goroutine) as it goes.
	Import(ctx context.Context, req msg.DatasetImportRequest, files []PickedFile, progress func(msg.ImportProgressReport)) (*msg.DatasetImportResult, error)
	Delete(ctx context.Context, name string) error
	// Summary asks a worker for the class counts and example strips of
	// a dataset (the server's or a local one).
	Summary(ctx context.Context, name string) (*msg.DatasetSummary, error)
}

var (
	localMu   sync.Mutex
	theLocal  LocalData
	serverGet Fetcher // the fetcher before local datasets were added to it
)

// SetLocalData installs the local datasets (the wasm main does). From
// then on the pages' Fetcher finds a local dataset's manifest by its name
// too, so the Train page trains on it as on a server's dataset.
func SetLocalData(l LocalData) {
	localMu.Lock()
	defer localMu.Unlock()
	theLocal = l
	if serverGet == nil {
		serverGet = fetcher
	}
	fetcher = localFirst{server: serverGet, local: l}
	if l == nil {
		fetcher = serverGet
	}
}

func localData() LocalData {
	localMu.Lock()
	defer localMu.Unlock()
	return theLocal
}

// localFirst is a Fetcher that answers a local dataset's manifest from
// the browser and everything else from the server.
type localFirst struct {
	server Fetcher
	local  LocalData
}

func (f localFirst) Index(ctx context.Context) (*DatasetIndex, error) { return f.server.Index(ctx) }

func (f localFirst) Manifest(ctx context.Context, name string) (*data.Manifest, error) {
	if ls, err := f.local.List(ctx); err == nil {
		for _, l := range ls {
			if l.Manifest.Name == name {
				return l.Manifest, nil
			}
		}
	}
	return f.server.Manifest(ctx, name)
}
