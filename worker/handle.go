// Command worker is the Go program of a goresnet Web Worker (worker.wasm,
// built with GOOS=js GOARCH=wasm): assets/web/worker.js instantiates it in
// a Web Worker and relays the page's messages to it. The protocol is in
// README.md and package worker/msg.
//
// This file is portable (tested natively); main_js.go holds the
// JavaScript side.
package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/goresnet/goresnet/model/kernels"
	"github.com/goresnet/goresnet/worker/msg"
)

// Inbox is what a handler sees of a request's buffers (msg.JSBuffers in
// the browser): copy out the ones it needs, once each.
type Inbox interface {
	Names() []string
	Len(name string) int
	CopyTo(name string, dst []byte) error
}

// Handler answers a request of one type: a reply (its ID is set to the
// request's) and buffers to transfer with it. Handlers run one at a time,
// in arrival order, on the worker's work goroutine; while one computes,
// only "ping" is answered (and only when the Go program yields to the
// event loop, e.g. between steps).
type Handler func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer)

var (
	handlersMu sync.RWMutex
	handlers   = map[string]Handler{}
	immediate  = map[string]bool{}
)

// Handle registers h for requests of type typ (training code registers
// its messages in init functions).
func Handle(typ string, h Handler) {
	handlersMu.Lock()
	defer handlersMu.Unlock()
	if _, dup := handlers[typ]; dup || typ == msg.Ping {
		panic(fmt.Sprintf("worker: a handler for %q is already registered", typ))
	}
	handlers[typ] = h
}

// HandleNow registers h for requests of type typ that are answered as
// soon as the worker gets the event loop, ahead of queued work, like
// ping: status, pause, resume, stop. h runs on the event loop while a
// long handler (training) is between steps, so it must not block and
// must only read state that is safe to read then (atomics).
func HandleNow(typ string, h Handler) {
	Handle(typ, h)
	handlersMu.Lock()
	immediate[typ] = true
	handlersMu.Unlock()
}

// isImmediate reports whether typ is answered on the event loop.
func isImmediate(typ string) bool {
	handlersMu.RLock()
	defer handlersMu.RUnlock()
	return typ == msg.Ping || immediate[typ]
}

// readyMessage is the first message a worker posts.
func readyMessage() msg.Message {
	return msg.Message{Type: msg.Ready, Kernel: kernels.KernelName(), GoVersion: runtime.Version()}
}

// pong answers a ping at once, whatever the worker is doing.
func pong(m msg.Message) msg.Message {
	return msg.Message{Type: msg.Pong, ID: m.ID, Kernel: kernels.KernelName(), GoVersion: runtime.Version()}
}

// handle answers one request, turning a panic into an error message that
// carries the panic's value and stack: the worker lives on.
func handle(m msg.Message, in Inbox) (reply msg.Message, out []msg.Buffer) {
	defer func() {
		if r := recover(); r != nil {
			reply = msg.Errorf(m.ID, "worker: %q panicked: %v", m.Type, r)
			reply.Stack = string(debug.Stack())
			out = nil
		}
	}()
	if m.Type == msg.Ping {
		return pong(m), nil
	}
	handlersMu.RLock()
	h := handlers[m.Type]
	handlersMu.RUnlock()
	if h == nil {
		return msg.Errorf(m.ID, "worker: unknown message type %q", m.Type), nil
	}
	reply, out = h(m, in)
	reply.ID = m.ID
	return reply, out
}
