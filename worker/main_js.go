//go:build js && wasm

package main

import (
	"fmt"
	"os"
	"sync"
	"syscall/js"

	"github.com/goresnet/goresnet/worker/msg"
)

// request is one received message waiting for the work goroutine.
type request struct {
	m  msg.Message
	in msg.JSBuffers
}

// queue holds requests in arrival order; the JavaScript callback only
// appends (it must not block), the work goroutine takes.
type queue struct {
	mu    sync.Mutex
	items []request
	wake  chan struct{}
}

func (q *queue) push(r request) {
	q.mu.Lock()
	q.items = append(q.items, r)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) pop() request {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			r := q.items[0]
			q.items[0] = request{}
			q.items = q.items[1:]
			q.mu.Unlock()
			return r
		}
		q.mu.Unlock()
		<-q.wake
	}
}

// post sends a message and its buffers to the page, moving the buffers.
func post(m msg.Message, bufs []msg.Buffer) {
	obj, transfer, err := msg.ToJS(m, bufs...)
	if err != nil {
		obj, transfer, _ = msg.ToJS(msg.Errorf(m.ID, "worker: %v", err))
	}
	js.Global().Call("postMessage", obj, transfer)
}

func main() {
	boot := js.Global().Get("goresnetWorker")
	if !boot.Truthy() {
		fmt.Fprintln(os.Stderr, "worker.wasm runs in a Web Worker started by worker.js (goresnetWorker is not defined)")
		os.Exit(2)
	}
	q := &queue{wake: make(chan struct{}, 1)}
	receive := js.FuncOf(func(this js.Value, args []js.Value) any {
		if len(args) == 0 {
			return nil
		}
		m, in, err := msg.FromJS(args[0])
		switch {
		case err != nil:
			post(msg.Errorf(0, "worker: %v", err), nil)
		case isImmediate(m.Type):
			// Answered here, not queued: a ping measures whether the
			// worker is alive, not how much work is waiting; status,
			// pause, resume and stop must reach a worker that trains.
			reply, out := handle(m, in)
			post(reply, out)
		default:
			q.push(request{m, in})
		}
		return nil
	})
	boot.Call("setReceiver", receive)
	post(readyMessage(), nil)
	for {
		r := q.pop()
		reply, out := handle(r.m, r.in)
		post(reply, out)
	}
}
