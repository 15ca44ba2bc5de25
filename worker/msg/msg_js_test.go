//go:build js && wasm

package msg

import (
	"slices"
	"syscall/js"
	"testing"
)

// TestRoundTrip posts a message with buffers through structuredClone with
// a transfer list, as postMessage would, and reads it back.
func TestRoundTrip(t *testing.T) {
	w := []float32{1, 2, 3, 4.5}
	in, err := Message{Type: "grads", ID: 42, Kernel: "k"}.WithBody(map[string]int{"step": 9})
	if err != nil {
		t.Fatal(err)
	}
	obj, transfer, err := ToJS(in, Buffer{"w", Float32Bytes(w)}, Buffer{"empty", nil})
	if err != nil {
		t.Fatal(err)
	}
	if transfer.Length() != 2 {
		t.Fatalf("transfer list of %d", transfer.Length())
	}
	if got := obj.Get("body").Get("step").Int(); got != 9 {
		t.Fatalf("JS sees body.step = %d", got)
	}
	opts := js.Global().Get("Object").New()
	opts.Set("transfer", transfer)
	clone := js.Global().Call("structuredClone", obj, opts)
	if obj.Get("buffers").Get("w").Get("byteLength").Int() != 0 {
		t.Fatal("the buffer was copied, not transferred")
	}
	m, bufs, err := FromJS(clone)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "grads" || m.ID != 42 || m.Kernel != "k" || string(m.Body) != `{"step":9}` {
		t.Fatalf("message %+v body %s", m, m.Body)
	}
	if names := bufs.Names(); !slices.Equal(names, []string{"empty", "w"}) {
		t.Fatalf("buffers %v", names)
	}
	got, err := bufs.Float32s("w")
	if err != nil || !slices.Equal(got, w) {
		t.Fatalf("w = %v, %v", got, err)
	}
	if bufs.Len("empty") != 0 || bufs.Len("nope") != -1 {
		t.Fatal("lengths")
	}
	if err := bufs.CopyTo("w", make([]byte, 3)); err == nil {
		t.Fatal("copy into the wrong size: no error")
	}
}

// TestFromJSViews accepts typed arrays (at an offset) as buffers, as
// JavaScript code may send them.
func TestFromJSViews(t *testing.T) {
	v := js.Global().Get("JSON").Call("parse", `{"type":"x"}`)
	ab := BytesToJS([]byte{9, 8, 7, 6, 5})
	b := js.Global().Get("Object").New()
	b.Set("tail", js.Global().Get("Uint8Array").New(ab, 2, 3))
	v.Set("buffers", b)
	m, bufs, err := FromJS(v)
	if err != nil || m.Type != "x" {
		t.Fatal(m, err)
	}
	got, err := bufs.Bytes("tail")
	if err != nil || !slices.Equal(got, []byte{7, 6, 5}) {
		t.Fatalf("%v %v", got, err)
	}
	if _, _, err := FromJS(js.Global().Get("JSON").Call("parse", `{"id":1}`)); err == nil {
		t.Fatal("no type: no error")
	}
	if _, _, err := FromJS(js.ValueOf("ping")); err == nil {
		t.Fatal("a string: no error")
	}
}
