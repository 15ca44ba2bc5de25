//go:build js && wasm

package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"syscall/js"
)

// httpGet reads url with the browser's fetch, at most max bytes of body,
// copied into Go memory once. The client is not used.
func httpGet(ctx context.Context, _ *http.Client, url string, max int64) (int, []byte, error) {
	type result struct {
		status int
		body   []byte
		err    error
	}
	done := make(chan result, 1)
	abort := js.Global().Get("AbortController").New()
	opts := js.Global().Get("Object").New()
	opts.Set("signal", abort.Get("signal"))

	var onResponse, onBody, onError js.Func
	release := func() { onResponse.Release(); onBody.Release(); onError.Release() }
	status := 0
	onError = js.FuncOf(func(this js.Value, args []js.Value) any {
		text := "fetch failed"
		if len(args) > 0 && args[0].Truthy() {
			text = args[0].Call("toString").String()
		}
		done <- result{err: errors.New(text)}
		return nil
	})
	onBody = js.FuncOf(func(this js.Value, args []js.Value) any {
		u8 := js.Global().Get("Uint8Array").New(args[0])
		n := u8.Get("byteLength").Int()
		if int64(n) > max {
			done <- result{err: fmt.Errorf("more than %d bytes", max)}
			return nil
		}
		b := make([]byte, n)
		js.CopyBytesToGo(b, u8)
		done <- result{status: status, body: b}
		return nil
	})
	onResponse = js.FuncOf(func(this js.Value, args []js.Value) any {
		resp := args[0]
		status = resp.Get("status").Int()
		resp.Call("arrayBuffer").Call("then", onBody).Call("catch", onError)
		return nil
	})
	js.Global().Call("fetch", url, opts).Call("then", onResponse).Call("catch", onError)

	select {
	case r := <-done:
		release()
		return r.status, r.body, r.err
	case <-ctx.Done():
		abort.Call("abort")
		r := <-done // the promise settles (rejected) after the abort
		release()
		if r.err == nil {
			return r.status, r.body, nil
		}
		return 0, nil, ctx.Err()
	}
}
