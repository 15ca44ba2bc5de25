//go:build js && wasm

// Package workerpool runs the app's Web Workers from the UI thread: it
// starts K workers (assets/web/worker.js running worker.wasm), waits until
// each has posted "ready" and answered a ping, and lets the app send them
// messages and wait for answers. Messages follow package worker/msg;
// buffers are transferred, not copied, between threads.
package workerpool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall/js"
	"time"

	webapp "github.com/goresnet/goresnet/app"
	"github.com/goresnet/goresnet/worker/msg"
)

// Options configure a pool.
type Options struct {
	Size         int           // workers; 0: DefaultSize()
	Script       string        // the bootstrap; "": DefaultScript
	ReadyTimeout time.Duration // for "ready" and the first pong; 0: 2 minutes
}

// DefaultScript is the worker bootstrap the server serves.
const DefaultScript = "/web/worker.js"

// MaxDefaultSize caps the default pool size.
const MaxDefaultSize = 4

// DefaultSize is navigator.hardwareConcurrency capped at MaxDefaultSize
// (at least 1).
func DefaultSize() int {
	n := js.Global().Get("navigator").Get("hardwareConcurrency")
	k := 1
	if n.Type() == js.TypeNumber {
		k = n.Int()
	}
	return max(1, min(k, MaxDefaultSize))
}

// Reply is an answer from a worker: the message and its buffers (still in
// JavaScript memory; copy out what you need, once).
type Reply struct {
	msg.Message
	Buffers msg.JSBuffers
}

// Listener receives the messages a worker posts that answer no pending
// request (progress reports, for instance). It runs on the JavaScript
// event loop and must not block.
type Listener func(worker int, m msg.Message, in msg.JSBuffers)

type worker struct {
	js     js.Value
	ready  bool
	kernel string
}

// Pool is a set of started workers. Its methods are safe for concurrent
// use.
type Pool struct {
	opts Options

	mu        sync.Mutex
	workers   []*worker
	err       string
	nextID    int64
	pending   map[int64]chan Reply
	watchers  map[int]func(webapp.WorkerStatus)
	listeners map[int]Listener
	nextKey   int
	funcs     []js.Func
	closed    bool
}

// Start starts the workers and returns at once; Status and Watch follow
// them as they become ready.
func Start(opts Options) *Pool {
	if opts.Size <= 0 {
		opts.Size = DefaultSize()
	}
	if opts.Script == "" {
		opts.Script = DefaultScript
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 2 * time.Minute
	}
	p := &Pool{
		opts:      opts,
		pending:   map[int64]chan Reply{},
		watchers:  map[int]func(webapp.WorkerStatus){},
		listeners: map[int]Listener{},
	}
	if !js.Global().Get("Worker").Truthy() {
		p.fail("this browser has no Web Workers")
		return p
	}
	for i := range opts.Size {
		p.workers = append(p.workers, p.spawn(i))
	}
	go p.watchStart()
	return p
}

// spawn starts worker i.
func (p *Pool) spawn(i int) *worker {
	wopts := js.Global().Get("Object").New()
	wopts.Set("name", fmt.Sprintf("goresnet-worker-%d", i))
	w := &worker{js: js.Global().Get("Worker").New(p.opts.Script, wopts)}
	onMessage := js.FuncOf(func(this js.Value, args []js.Value) any {
		p.mu.Lock()
		current := i < len(p.workers) && p.workers[i] == w
		p.mu.Unlock()
		if current { // not a worker replaced by Restart
			p.receive(i, args[0].Get("data"))
		}
		return nil
	})
	onError := js.FuncOf(func(this js.Value, args []js.Value) any {
		p.mu.Lock()
		current := i < len(p.workers) && p.workers[i] == w
		p.mu.Unlock()
		if !current {
			return nil // a worker replaced by Restart, dying
		}
		e := args[0]
		text := "could not start (the script failed to load or threw)"
		if m := e.Get("message"); m.Type() == js.TypeString && m.String() != "" {
			text = m.String()
		}
		p.fail(fmt.Sprintf("worker %d: %s", i, text))
		return nil
	})
	p.funcs = append(p.funcs, onMessage, onError)
	w.js.Set("onmessage", onMessage)
	w.js.Set("onerror", onError)
	return w
}

// Restart terminates worker i and starts a new one in its place (after it
// died: out of memory ends a Go instance for good). The pool's last error
// is cleared; the new worker is ready after its ready and ping.
func (p *Pool) Restart(i int) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if i < 0 || i >= len(p.workers) {
		p.mu.Unlock()
		return fmt.Errorf("no worker %d (the pool has %d)", i, len(p.workers))
	}
	p.workers[i].js.Call("terminate")
	p.workers[i] = &worker{js: js.Undefined()}
	p.err = ""
	p.mu.Unlock()
	w := p.spawn(i)
	p.mu.Lock()
	p.workers[i] = w
	p.mu.Unlock()
	p.changed()
	return nil
}

// watchStart reports workers that are not ready in time.
func (p *Pool) watchStart() {
	time.Sleep(p.opts.ReadyTimeout)
	p.mu.Lock()
	var late []int
	for i, w := range p.workers {
		if !w.ready {
			late = append(late, i)
		}
	}
	p.mu.Unlock()
	if len(late) > 0 && !p.isClosed() {
		p.fail(fmt.Sprintf("workers %v did not start within %v", late, p.opts.ReadyTimeout))
	}
}

func (p *Pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// receive handles one message from worker i, on the event loop.
func (p *Pool) receive(i int, data js.Value) {
	m, in, err := msg.FromJS(data)
	if err != nil {
		p.fail(fmt.Sprintf("worker %d: %v", i, err))
		return
	}
	if m.ID != 0 {
		p.mu.Lock()
		ch := p.pending[m.ID]
		delete(p.pending, m.ID)
		p.mu.Unlock()
		if ch != nil {
			ch <- Reply{m, in} // buffered: never blocks
			return
		}
		if m.Type == msg.Error {
			// The late answer to a request whose caller gave up (a
			// timeout, a cancelled run): the worker lives on, so it is
			// not the pool's error.
			js.Global().Get("console").Call("warn", fmt.Sprintf("goresnet: worker %d: an answer nobody waits for any more: %s", i, m.Message))
			return
		}
	}
	switch m.Type {
	case msg.Ready:
		p.mu.Lock()
		p.workers[i].kernel = m.Kernel
		p.mu.Unlock()
		// A round trip proves that the worker handles messages.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), p.opts.ReadyTimeout)
			defer cancel()
			r, err := p.Request(ctx, i, msg.Message{Type: msg.Ping})
			if err == nil && r.Type != msg.Pong {
				err = fmt.Errorf("answered a ping with %q", r.Type)
			}
			if err != nil {
				p.fail(fmt.Sprintf("worker %d: %v", i, err))
				return
			}
			p.mu.Lock()
			p.workers[i].ready = true
			p.workers[i].kernel = r.Kernel
			p.mu.Unlock()
			p.changed()
		}()
		return
	case msg.Error:
		p.fail(fmt.Sprintf("worker %d: %s", i, m.Message))
		if m.Stack != "" {
			js.Global().Get("console").Call("error", fmt.Sprintf("worker %d: %s\n%s", i, m.Message, m.Stack))
		}
	}
	p.mu.Lock()
	ls := make([]Listener, 0, len(p.listeners))
	for _, l := range p.listeners {
		ls = append(ls, l)
	}
	p.mu.Unlock()
	for _, l := range ls {
		l(i, m, in)
	}
}

// fail records an error and tells the watchers.
func (p *Pool) fail(text string) {
	p.mu.Lock()
	p.err = text
	p.mu.Unlock()
	js.Global().Get("console").Call("error", "goresnet: "+text)
	p.changed()
}

// Size is the number of workers.
func (p *Pool) Size() int { return p.opts.Size }

// Status says how many workers are ready, their kernel, and the last error.
func (p *Pool) Status() webapp.WorkerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := webapp.WorkerStatus{Size: len(p.workers), Err: p.err}
	for _, w := range p.workers {
		if w.ready {
			s.Ready++
			if s.Kernel == "" {
				s.Kernel = w.kernel
			}
		}
	}
	return s
}

// Watch calls fn with each new status until stop is called. fn runs on
// the event loop or a pool goroutine and must not block.
func (p *Pool) Watch(fn func(webapp.WorkerStatus)) (stop func()) {
	p.mu.Lock()
	k := p.nextKey
	p.nextKey++
	p.watchers[k] = fn
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		delete(p.watchers, k)
		p.mu.Unlock()
	}
}

func (p *Pool) changed() {
	st := p.Status()
	p.mu.Lock()
	ws := make([]func(webapp.WorkerStatus), 0, len(p.watchers))
	for _, w := range p.watchers {
		ws = append(ws, w)
	}
	p.mu.Unlock()
	for _, w := range ws {
		w(st)
	}
}

// Listen registers l for the messages that answer no request, until stop
// is called.
func (p *Pool) Listen(l Listener) (stop func()) {
	p.mu.Lock()
	k := p.nextKey
	p.nextKey++
	p.listeners[k] = l
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		delete(p.listeners, k)
		p.mu.Unlock()
	}
}

// ErrClosed is returned by a closed pool.
var ErrClosed = errors.New("the worker pool is closed")

// Post sends m and its buffers to worker i without waiting. The buffers
// are copied once each out of Go memory into ArrayBuffers that are then
// transferred to the worker.
func (p *Pool) Post(i int, m msg.Message, bufs ...msg.Buffer) error {
	obj, transfer, err := msg.ToJS(m, bufs...)
	if err != nil {
		return err
	}
	return p.PostJS(i, obj, transfer)
}

// PostJS sends a message object built in JavaScript (for example buffers
// received from another worker, passed on without entering Go memory)
// with its transfer list.
func (p *Pool) PostJS(i int, obj, transfer js.Value) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if i < 0 || i >= len(p.workers) {
		return fmt.Errorf("no worker %d (the pool has %d)", i, len(p.workers))
	}
	p.workers[i].js.Call("postMessage", obj, transfer)
	return nil
}

// Request sends m (with a fresh ID) to worker i and waits for the answer
// with that ID. An "error" answer is returned as a *msg.Err with the
// reply.
func (p *Pool) Request(ctx context.Context, i int, m msg.Message, bufs ...msg.Buffer) (Reply, error) {
	return p.RequestJS(ctx, i, m, nil, bufs...)
}

// RequestJS is Request with buffers that stay JavaScript values: a
// SharedArrayBuffer (shared with the worker, not copied), or a File or
// Blob (its handle is cloned; the worker reads the bytes). They are put
// in the message's buffers beside bufs and not transferred.
func (p *Pool) RequestJS(ctx context.Context, i int, m msg.Message, jsBufs map[string]js.Value, bufs ...msg.Buffer) (Reply, error) {
	ch := make(chan Reply, 1)
	p.mu.Lock()
	p.nextID++
	m.ID = p.nextID
	p.pending[m.ID] = ch
	p.mu.Unlock()
	obj, transfer, err := msg.ToJS(m, bufs...)
	if err == nil && len(jsBufs) > 0 {
		b := obj.Get("buffers")
		if !b.Truthy() {
			b = js.Global().Get("Object").New()
			obj.Set("buffers", b)
		}
		for name, v := range jsBufs {
			b.Set(name, v)
		}
	}
	if err == nil {
		err = p.PostJS(i, obj, transfer)
	}
	if err != nil {
		p.mu.Lock()
		delete(p.pending, m.ID)
		p.mu.Unlock()
		return Reply{}, err
	}
	select {
	case r := <-ch:
		return r, r.AsError()
	case <-ctx.Done():
		p.mu.Lock()
		delete(p.pending, m.ID)
		p.mu.Unlock()
		return Reply{}, fmt.Errorf("worker %d: no answer to %q: %w", i, m.Type, ctx.Err())
	}
}

// Close terminates the workers.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, w := range p.workers {
		w.js.Call("terminate")
	}
	for _, f := range p.funcs {
		f.Release()
	}
	p.funcs = nil
}

// AppWorkers adapts the pool to the app's Workers interface.
type AppWorkers struct{ *Pool }

// Request implements webapp.Workers.
func (a AppWorkers) Request(ctx context.Context, i int, m msg.Message) (msg.Message, error) {
	r, err := a.Pool.Request(ctx, i, m)
	return r.Message, err
}
