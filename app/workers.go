package app

import (
	"context"
	"fmt"
	"sync"

	"github.com/goresnet/goresnet/worker/msg"
)

// WorkerStatus is the state of the worker pool.
type WorkerStatus struct {
	Size   int    // workers started
	Ready  int    // workers that posted "ready" and answered a ping
	Kernel string // GEMM micro-kernel the workers run (model/kernels.KernelName)
	Err    string // the last error a worker reported, if any
}

// AllReady reports whether every worker is ready and none has failed.
func (s WorkerStatus) AllReady() bool { return s.Size > 0 && s.Ready == s.Size && s.Err == "" }

// String says it in words, for the status bar.
func (s WorkerStatus) String() string {
	switch {
	case s.Err != "":
		return "workers: " + s.Err
	case s.Size == 0:
		return "workers: not started"
	case s.AllReady():
		return fmt.Sprintf("workers: %d ready (%s)", s.Size, s.Kernel)
	default:
		return fmt.Sprintf("workers: %d of %d ready", s.Ready, s.Size)
	}
}

// Workers is what the pages see of the worker pool (wasm/workerpool in
// the browser; nothing on the server, where pages only prerender).
type Workers interface {
	Status() WorkerStatus
	// Watch calls fn with every new status, from any goroutine, until stop
	// is called; fn must not block.
	Watch(fn func(WorkerStatus)) (stop func())
	// Request sends m to worker i and waits for the answer with m's ID
	// (set by the pool). An error answer is returned as a *msg.Err.
	Request(ctx context.Context, i int, m msg.Message) (msg.Message, error)
}

var (
	workersMu  sync.Mutex
	theWorkers Workers
)

// SetWorkers installs the worker pool (the wasm main does, before the app
// starts).
func SetWorkers(w Workers) {
	workersMu.Lock()
	theWorkers = w
	workersMu.Unlock()
}

// workers returns the pool, nil when there is none.
func workers() Workers {
	workersMu.Lock()
	defer workersMu.Unlock()
	return theWorkers
}
