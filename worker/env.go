package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/goresnet/goresnet/worker/allreduce"
	"github.com/goresnet/goresnet/worker/msg"
)

// env is what the training handlers use of the world around them: the
// browser under js/wasm (env_js.go), fakes in the native tests.
type env interface {
	// source returns where the server's dataset name is read from (url:
	// its folder, "/data/NAME/" by default).
	source(name, url string) (data.Source, error)
	// shardCache is the persistent shard cache (nil: none).
	shardCache() data.Cache
	// store is the browser's storage of runs and checkpoints.
	store(ctx context.Context) (store, error)
	// post sends an unsolicited message (progress) to the page.
	post(m msg.Message)
	// shared opens the group's shared buffer from a train request.
	shared(in Inbox) (allreduce.Shared, error)
	// readBuffer copies a request's buffer into Go memory: an
	// ArrayBuffer, or a File or Blob the page picked (nil, nil when the
	// request has no such buffer).
	readBuffer(ctx context.Context, in Inbox, name string) ([]byte, error)
	// yield lets the event loop run (messages get through).
	yield()
	// sleep waits while paused, letting the event loop run.
	sleep(d time.Duration)
	// memoryBytes is the size of the program's memory (0: unknown).
	memoryBytes() int64
	// datasetURL makes the absolute URL of a dataset folder, saved in
	// checkpoints so that the CLI can resume a browser's run.
	datasetURL(path string) string
}

// copyBuffer is readBuffer for buffers that are bytes already.
func copyBuffer(in Inbox, name string) ([]byte, error) {
	n := in.Len(name)
	if n < 0 {
		return nil, nil
	}
	b := make([]byte, n)
	return b, in.CopyTo(name, b)
}

// store is what training needs of wasm/storage's DB.
type store interface {
	Run(ctx context.Context, id string) (*storage.Run, error)
	PutRun(ctx context.Context, r *storage.Run) error
	SaveCheckpoint(ctx context.Context, ck storage.Checkpoint, data []byte, run *storage.Run, opts storage.SaveOptions) error
	CheckpointData(ctx context.Context, id string) ([]byte, error)
}

// theEnv is the environment the handlers run in (set by main_js.go in the
// browser, by tests natively).
var theEnv env

var (
	localMu      sync.Mutex
	localSources = map[string]data.Source{}
)

// RegisterSource makes a dataset that the worker built itself (a local
// import of the person's pictures) available to dataset-open under name,
// from any data.Source (e.g. data.FSSource over shards in memory).
func RegisterSource(name string, src data.Source) error {
	if err := data.ValidName(name); err != nil {
		return err
	}
	localMu.Lock()
	defer localMu.Unlock()
	localSources[name] = src
	return nil
}

func localSource(name string) data.Source {
	localMu.Lock()
	defer localMu.Unlock()
	return localSources[name]
}

// datasetPath is the server's folder of dataset name.
func datasetPath(name, url string) string {
	if url != "" {
		return url
	}
	return fmt.Sprintf("/data/%s/", name)
}
