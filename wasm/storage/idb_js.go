//go:build js && wasm

package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall/js"
)

// The IndexedDB plumbing: requests and transactions as Go calls that wait
// for their events. A transaction stays open only while it has requests
// pending, so writes are issued back to back and then the transaction's
// completion is awaited (no waiting between a transaction's requests).

// jsError turns a DOMException (or anything) into an error.
func jsError(what string, v js.Value) error {
	if v.IsUndefined() || v.IsNull() {
		return fmt.Errorf("%s failed", what)
	}
	name, msg := v.Get("name"), v.Get("message")
	if name.Type() == js.TypeString && msg.Type() == js.TypeString {
		return fmt.Errorf("%s: %s: %s", what, name.String(), msg.String())
	}
	return fmt.Errorf("%s: %s", what, v.Call("toString").String())
}

// await waits for an IDBRequest's success or error event.
func await(ctx context.Context, what string, req js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	done := make(chan result, 1)
	var ok, fail js.Func
	ok = js.FuncOf(func(this js.Value, args []js.Value) any {
		done <- result{v: req.Get("result")}
		return nil
	})
	fail = js.FuncOf(func(this js.Value, args []js.Value) any {
		done <- result{err: jsError(what, req.Get("error"))}
		if len(args) > 0 {
			args[0].Call("preventDefault") // handled here: do not abort more than the request's transaction
		}
		return nil
	})
	req.Set("onsuccess", ok)
	req.Set("onerror", fail)
	defer func() { ok.Release(); fail.Release() }()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return js.Undefined(), ctx.Err()
	}
}

// awaitTx waits for a transaction to complete (committed) or fail
// (aborted: none of its writes happened).
func awaitTx(ctx context.Context, what string, tx js.Value) error {
	done := make(chan error, 1)
	var ok, fail js.Func
	ok = js.FuncOf(func(this js.Value, args []js.Value) any {
		done <- nil
		return nil
	})
	fail = js.FuncOf(func(this js.Value, args []js.Value) any {
		done <- jsError(what, tx.Get("error"))
		return nil
	})
	tx.Set("oncomplete", ok)
	tx.Set("onerror", fail)
	tx.Set("onabort", fail)
	defer func() { ok.Release(); fail.Release() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		tx.Call("abort")
		return ctx.Err()
	}
}

// awaitPromise waits for a JavaScript promise.
func awaitPromise(ctx context.Context, what string, p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	done := make(chan result, 1)
	var ok, fail js.Func
	ok = js.FuncOf(func(this js.Value, args []js.Value) any {
		v := js.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		done <- result{v: v}
		return nil
	})
	fail = js.FuncOf(func(this js.Value, args []js.Value) any {
		v := js.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		done <- result{err: jsError(what, v)}
		return nil
	})
	p.Call("then", ok, fail)
	defer func() { ok.Release(); fail.Release() }()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return js.Undefined(), ctx.Err()
	}
}

// toJS converts a JSON-encodable Go value into a plain JavaScript object.
func toJS(v any) (js.Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return js.Undefined(), err
	}
	return js.Global().Get("JSON").Call("parse", string(b)), nil
}

// fromJS decodes a plain JavaScript object into a Go value.
func fromJS(v js.Value, dst any) error {
	if v.IsUndefined() || v.IsNull() {
		return ErrNotFound
	}
	s := js.Global().Get("JSON").Call("stringify", v).String()
	return json.Unmarshal([]byte(s), dst)
}

// bytesToJS copies b into a new ArrayBuffer (one copy, whole).
func bytesToJS(b []byte) js.Value {
	u := js.Global().Get("Uint8Array").New(len(b))
	if len(b) > 0 {
		js.CopyBytesToJS(u, b)
	}
	return u.Get("buffer")
}

// bytesFromJS copies an ArrayBuffer, a view on one, or a Blob's bytes
// (read first) into Go memory: one copy, whole.
func bytesFromJS(ctx context.Context, v js.Value) ([]byte, error) {
	if v.IsUndefined() || v.IsNull() {
		return nil, ErrNotFound
	}
	if blob := js.Global().Get("Blob"); blob.Truthy() && v.InstanceOf(blob) {
		ab, err := awaitPromise(ctx, "reading a stored blob", v.Call("arrayBuffer"))
		if err != nil {
			return nil, err
		}
		v = ab
	}
	var u js.Value
	if js.Global().Get("ArrayBuffer").Call("isView", v).Bool() {
		u = js.Global().Get("Uint8Array").New(v.Get("buffer"), v.Get("byteOffset"), v.Get("byteLength"))
	} else {
		u = js.Global().Get("Uint8Array").New(v)
	}
	b := make([]byte, u.Get("byteLength").Int())
	if len(b) > 0 {
		js.CopyBytesToGo(b, u)
	}
	return b, nil
}

var errNoIndexedDB = errors.New("this browser has no IndexedDB (private browsing may disable it)")
