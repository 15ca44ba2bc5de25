//go:build js && wasm

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime/debug"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/train"
	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/goresnet/goresnet/worker/allreduce"
	"github.com/goresnet/goresnet/worker/msg"
)

func init() {
	theEnv = &browserEnv{}
	// Collect garbage harder as the instance nears what wasm can hold,
	// rather than growing into "out of memory" (which kills the worker).
	debug.SetMemoryLimit(train.WasmBudget)
}

// browserEnv is the Web Worker's environment.
type browserEnv struct {
	cacheOnce sync.Once
	cache     data.Cache
}

func (e *browserEnv) source(name, url string) (data.Source, error) {
	// A dataset imported in this browser is read from its storage, never
	// from the server: asked for by its folder (storage.LocalURL), or by
	// name when the name is one of the local datasets.
	if n, ok := storage.IsLocalURL(url); ok {
		return storage.LocalSource(n), nil
	}
	if url == datasetPath(name, "") {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if storage.HasLocalDataset(ctx, name) {
			return storage.LocalSource(name), nil
		}
	}
	return &fetchSource{base: url}, nil
}

func (e *browserEnv) shardCache() data.Cache {
	e.cacheOnce.Do(func() { e.cache = storage.NewShardCache() })
	return e.cache
}

func (e *browserEnv) store(ctx context.Context) (store, error) { return storage.Open(ctx) }

func (e *browserEnv) post(m msg.Message) { post(m, nil) }

func (e *browserEnv) shared(in Inbox) (allreduce.Shared, error) {
	b, ok := in.(msg.JSBuffers)
	if !ok {
		return nil, errors.New("train: no shared buffer")
	}
	v := b.Value("shared")
	if v.IsUndefined() || !js.Global().Get("SharedArrayBuffer").Truthy() || !v.InstanceOf(js.Global().Get("SharedArrayBuffer")) {
		return nil, errors.New("train: the request has no SharedArrayBuffer \"shared\" (is the page cross-origin isolated?)")
	}
	return allreduce.OpenBuffer(v)
}

func (e *browserEnv) readBuffer(ctx context.Context, in Inbox, name string) ([]byte, error) {
	if b, ok := in.(msg.JSBuffers); ok {
		v := b.Value(name)
		if blob := js.Global().Get("Blob"); v.Truthy() && blob.Truthy() && v.InstanceOf(blob) {
			done := make(chan js.Value, 1)
			fail := make(chan string, 1)
			ok := js.FuncOf(func(this js.Value, args []js.Value) any { done <- args[0]; return nil })
			bad := js.FuncOf(func(this js.Value, args []js.Value) any { fail <- fmt.Sprint(args[0]); return nil })
			defer func() { ok.Release(); bad.Release() }()
			v.Call("arrayBuffer").Call("then", ok, bad)
			select {
			case ab := <-done:
				u := js.Global().Get("Uint8Array").New(ab)
				out := make([]byte, u.Get("byteLength").Int())
				if len(out) > 0 {
					js.CopyBytesToGo(out, u)
				}
				return out, nil
			case e := <-fail:
				return nil, fmt.Errorf("reading %s: %s", name, e)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	return copyBuffer(in, name)
}

// yield returns to the event loop for a moment, so that messages
// (status, ping) are answered between batches.
func (e *browserEnv) yield() { time.Sleep(time.Millisecond) }

func (e *browserEnv) sleep(d time.Duration) { time.Sleep(d) }

func (e *browserEnv) memoryBytes() int64 {
	m := js.Global().Get("goresnetWasmMemory")
	if !m.Truthy() {
		return 0
	}
	return int64(m.Get("buffer").Get("byteLength").Float())
}

func (e *browserEnv) datasetURL(p string) string {
	loc := js.Global().Get("location")
	if !loc.Truthy() {
		return p
	}
	return loc.Get("origin").String() + p
}

// fetchSource is a data.Source over the browser's fetch (net/http's
// client would add megabytes to worker.wasm): the server's /data/NAME/.
type fetchSource struct{ base string }

func (f *fetchSource) String() string { return f.base }

func (f *fetchSource) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	if !fs.ValidPath(name) {
		return nil, 0, fmt.Errorf("%s: invalid file name %q", f, name)
	}
	url := strings.TrimSuffix(f.base, "/") + "/" + name
	b, err := fetchBytes(ctx, url)
	if err != nil {
		return nil, 0, err
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

// fetchBytes GETs url and copies the body into Go memory once.
func fetchBytes(ctx context.Context, url string) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	abort := js.Global().Get("AbortController").New()
	opts := js.Global().Get("Object").New()
	opts.Set("signal", abort.Get("signal"))
	var onResponse, onBody, onError js.Func
	onError = js.FuncOf(func(this js.Value, args []js.Value) any {
		text := "fetch failed"
		if len(args) > 0 && args[0].Truthy() {
			text = args[0].Call("toString").String()
		}
		done <- result{err: fmt.Errorf("GET %s: %s", url, text)}
		return nil
	})
	onBody = js.FuncOf(func(this js.Value, args []js.Value) any {
		u8 := js.Global().Get("Uint8Array").New(args[0])
		b := make([]byte, u8.Get("byteLength").Int())
		if len(b) > 0 {
			js.CopyBytesToGo(b, u8)
		}
		done <- result{b: b}
		return nil
	})
	onResponse = js.FuncOf(func(this js.Value, args []js.Value) any {
		resp := args[0]
		if !resp.Get("ok").Bool() {
			done <- result{err: fmt.Errorf("GET %s: %d %s", url, resp.Get("status").Int(), resp.Get("statusText").String())}
			return nil
		}
		resp.Call("arrayBuffer").Call("then", onBody).Call("catch", onError)
		return nil
	})
	defer func() { onResponse.Release(); onBody.Release(); onError.Release() }()
	js.Global().Call("fetch", url, opts).Call("then", onResponse).Call("catch", onError)
	select {
	case r := <-done:
		return r.b, r.err
	case <-ctx.Done():
		abort.Call("abort")
		<-done
		return nil, ctx.Err()
	}
}
