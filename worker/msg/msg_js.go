//go:build js && wasm

package msg

import (
	"encoding/json"
	"fmt"
	"sort"
	"syscall/js"
)

// ToJS builds the JavaScript object for m, with each buffer copied once
// into its own ArrayBuffer under obj.buffers[name], and returns it with
// the transfer list for postMessage (those ArrayBuffers), so that posting
// moves them instead of cloning them.
func ToJS(m Message, bufs ...Buffer) (obj, transfer js.Value, err error) {
	b, err := json.Marshal(m)
	if err != nil {
		return js.Undefined(), js.Undefined(), fmt.Errorf("message %q: %w", m.Type, err)
	}
	obj = js.Global().Get("JSON").Call("parse", string(b))
	transfer = js.Global().Get("Array").New()
	if len(bufs) > 0 {
		o := js.Global().Get("Object").New()
		for _, buf := range bufs {
			if o.Get(buf.Name).Truthy() {
				return js.Undefined(), js.Undefined(), fmt.Errorf("message %q: two buffers named %q", m.Type, buf.Name)
			}
			ab := BytesToJS(buf.Data)
			o.Set(buf.Name, ab)
			transfer.Call("push", ab)
		}
		obj.Set("buffers", o)
	}
	return obj, transfer, nil
}

// BytesToJS copies b into a new ArrayBuffer: one copy, whole.
func BytesToJS(b []byte) js.Value {
	u := js.Global().Get("Uint8Array").New(len(b))
	if len(b) > 0 {
		js.CopyBytesToJS(u, b)
	}
	return u.Get("buffer")
}

// FromJS reads a message object as postMessage delivered it. Its buffers
// stay in JavaScript memory until a Go caller copies the ones it needs.
func FromJS(v js.Value) (Message, JSBuffers, error) {
	if v.Type() != js.TypeObject {
		return Message{}, JSBuffers{}, fmt.Errorf("message is a %s, want an object with a type", v.Type())
	}
	bufs := v.Get("buffers")
	if bufs.Type() != js.TypeObject && !bufs.IsUndefined() && !bufs.IsNull() {
		return Message{}, JSBuffers{}, fmt.Errorf("message buffers is a %s, want an object", bufs.Type())
	}
	src := v
	if bufs.Type() == js.TypeObject {
		// Leave the bulk data out of the JSON (a typed array would be
		// written out element by element).
		src = js.Global().Get("Object").Call("assign", js.Global().Get("Object").New(), v)
		src.Delete("buffers")
	} else {
		bufs = js.Undefined()
	}
	s := js.Global().Get("JSON").Call("stringify", src).String()
	var m Message
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return Message{}, JSBuffers{}, fmt.Errorf("message: %w", err)
	}
	if m.Type == "" {
		return Message{}, JSBuffers{}, fmt.Errorf("message has no type")
	}
	return m, JSBuffers{bufs}, nil
}

// JSBuffers are the named buffers of a received message, still in
// JavaScript memory: ArrayBuffers or views on them (typed arrays,
// DataViews).
type JSBuffers struct{ v js.Value }

// Names lists the buffers, sorted.
func (b JSBuffers) Names() []string {
	if b.v.IsUndefined() {
		return nil
	}
	keys := js.Global().Get("Object").Call("keys", b.v)
	n := keys.Length()
	names := make([]string, n)
	for i := range n {
		names[i] = keys.Index(i).String()
	}
	sort.Strings(names)
	return names
}

// Value is the buffer as JavaScript sent it (to pass it on without
// bringing it into Go memory); undefined when there is none.
func (b JSBuffers) Value(name string) js.Value {
	if b.v.IsUndefined() {
		return js.Undefined()
	}
	return b.v.Get(name)
}

// bytesView returns a Uint8Array over the buffer's bytes.
func (b JSBuffers) bytesView(name string) (js.Value, error) {
	x := b.Value(name)
	if x.IsUndefined() || x.IsNull() {
		return js.Undefined(), fmt.Errorf("message has no buffer %q", name)
	}
	u8 := js.Global().Get("Uint8Array")
	if js.Global().Get("ArrayBuffer").Call("isView", x).Bool() {
		return u8.New(x.Get("buffer"), x.Get("byteOffset"), x.Get("byteLength")), nil
	}
	if x.InstanceOf(js.Global().Get("ArrayBuffer")) || (js.Global().Get("SharedArrayBuffer").Truthy() && x.InstanceOf(js.Global().Get("SharedArrayBuffer"))) {
		return u8.New(x), nil
	}
	return js.Undefined(), fmt.Errorf("buffer %q is not an ArrayBuffer or a view on one", name)
}

// Len is the buffer's length in bytes (-1 when there is no such buffer).
func (b JSBuffers) Len(name string) int {
	v, err := b.bytesView(name)
	if err != nil {
		return -1
	}
	return v.Get("byteLength").Int()
}

// CopyTo copies the buffer into dst, which must have its exact length:
// one copy, whole.
func (b JSBuffers) CopyTo(name string, dst []byte) error {
	v, err := b.bytesView(name)
	if err != nil {
		return err
	}
	if n := v.Get("byteLength").Int(); n != len(dst) {
		return fmt.Errorf("buffer %q holds %d bytes, want %d", name, n, len(dst))
	}
	if len(dst) > 0 {
		js.CopyBytesToGo(dst, v)
	}
	return nil
}

// Bytes copies the buffer into a new Go slice.
func (b JSBuffers) Bytes(name string) ([]byte, error) {
	v, err := b.bytesView(name)
	if err != nil {
		return nil, err
	}
	dst := make([]byte, v.Get("byteLength").Int())
	if len(dst) > 0 {
		js.CopyBytesToGo(dst, v)
	}
	return dst, nil
}

// Float32s copies a buffer of float32s into a new Go slice.
func (b JSBuffers) Float32s(name string) ([]float32, error) {
	n := b.Len(name)
	if n < 0 {
		return nil, fmt.Errorf("message has no buffer %q", name)
	}
	if n%4 != 0 {
		return nil, fmt.Errorf("buffer %q: %d bytes are not a whole number of float32s", name, n)
	}
	f := make([]float32, n/4)
	return f, b.CopyTo(name, Float32Bytes(f))
}
