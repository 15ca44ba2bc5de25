//go:build js && wasm

package allreduce

import (
	"errors"
	"fmt"
	"syscall/js"
	"time"

	"github.com/goresnet/goresnet/worker/msg"
)

// JS is a Shared on a SharedArrayBuffer: control words through Atomics,
// slots written and the result read with one js.CopyBytesToJS /
// js.CopyBytesToGo each, chunks summed by assets/web/allreduce.js.
type JS struct {
	sab      js.Value
	l        Layout
	atomics  js.Value
	i32      js.Value // the control words
	f64      js.Value // the checksums
	slots    []js.Value
	result   js.Value // Uint8Array over the result
	views    js.Value // allreduce.js's typed arrays
	sumFn    js.Value
	api      js.Value
	canBlock bool
}

// NewBuffer creates and initialises a shared buffer for size workers of
// capacity floats (the page does; the page must be cross-origin isolated).
func NewBuffer(size, capacity int) (*JS, error) {
	ctor := js.Global().Get("SharedArrayBuffer")
	if !ctor.Truthy() {
		return nil, errors.New("SharedArrayBuffer is unavailable: the page is not cross-origin isolated (serve it with goresnet serve)")
	}
	if size < 1 || size > MaxSize || capacity < 1 {
		return nil, fmt.Errorf("allreduce: %d workers of %d floats", size, capacity)
	}
	l := Layout{Size: size, Capacity: capacity}
	var sab js.Value
	if err := catch(func() { sab = ctor.New(l.Bytes()) }); err != nil {
		return nil, fmt.Errorf("allreduce: a shared buffer of %d bytes: %w", l.Bytes(), err)
	}
	s := newJS(sab, l)
	Init(s)
	return s, nil
}

// OpenBuffer opens a shared buffer posted by the page.
func OpenBuffer(sab js.Value) (*JS, error) {
	if !sab.Truthy() || sab.Get("byteLength").Type() != js.TypeNumber {
		return nil, errors.New("allreduce: no shared buffer")
	}
	i32 := js.Global().Get("Int32Array").New(sab, 0, ControlWords)
	at := js.Global().Get("Atomics")
	l := Layout{Size: at.Call("load", i32, WordSize).Int(), Capacity: at.Call("load", i32, WordCapacity).Int()}
	if at.Call("load", i32, WordMagic).Int() != Magic || l.Size < 1 || l.Size > MaxSize || l.Bytes() > sab.Get("byteLength").Int() {
		return nil, errors.New("allreduce: the shared buffer is not initialised for training")
	}
	return newJS(sab, l), nil
}

func newJS(sab js.Value, l Layout) *JS {
	g := js.Global()
	s := &JS{sab: sab, l: l, atomics: g.Get("Atomics")}
	s.i32 = g.Get("Int32Array").New(sab, 0, ControlWords)
	s.f64 = g.Get("Float64Array").New(sab, l.Checksums(), MaxSize)
	u8 := g.Get("Uint8Array")
	for k := range l.Size {
		s.slots = append(s.slots, u8.New(sab, l.Slot(k), l.Capacity*4))
	}
	s.result = u8.New(sab, l.Result(), l.Capacity*4)
	// Atomics.wait is allowed in workers (and node), not on a page.
	s.canBlock = !g.Get("document").Truthy()
	return s
}

// Buffer is the SharedArrayBuffer (to post to the workers).
func (s *JS) Buffer() js.Value { return s.sab }

func (s *JS) Layout() Layout { return s.l }

func (s *JS) Load(w int) int32 { return int32(s.atomics.Call("load", s.i32, w).Int()) }

func (s *JS) Store(w int, v int32) { s.atomics.Call("store", s.i32, w, v) }

func (s *JS) Add(w int, d int32) int32 {
	return int32(s.atomics.Call("add", s.i32, w, d).Int()) + d // Atomics.add returns the old value
}

func (s *JS) Notify(w int) { s.atomics.Call("notify", s.i32, w) }

// Wait blocks the worker's thread in Atomics.wait (a page cannot block:
// there it sleeps, which only the tests would do).
func (s *JS) Wait(w int, v int32, timeout time.Duration) {
	if !s.canBlock {
		time.Sleep(min(timeout, time.Millisecond))
		return
	}
	s.atomics.Call("wait", s.i32, w, v, float64(timeout)/float64(time.Millisecond))
}

func (s *JS) Write(k, off int, src []float32) {
	if len(src) == 0 {
		return
	}
	dst := s.slots[k].Call("subarray", off*4, (off+len(src))*4)
	js.CopyBytesToJS(dst, msg.Float32Bytes(src))
}

func (s *JS) Read(off int, dst []float32) {
	if len(dst) == 0 {
		return
	}
	src := s.result.Call("subarray", off*4, (off+len(dst))*4)
	js.CopyBytesToGo(msg.Float32Bytes(dst), src)
}

// Sum calls goresnetAllReduce.sum (assets/web/allreduce.js), which must
// be loaded.
func (s *JS) Sum(lo, hi int) {
	if s.sumFn.IsUndefined() {
		api := js.Global().Get("goresnetAllReduce")
		if !api.Truthy() {
			panic("allreduce: allreduce.js is not loaded (worker.js lists it in HOOK_SCRIPTS)")
		}
		s.api = api
		s.views = api.Call("views", s.sab, s.l.Slot(0), s.l.Capacity, s.l.Size, s.l.Result())
		s.sumFn = api.Get("sum")
	}
	s.sumFn.Invoke(s.views, lo, hi)
}

func (s *JS) SetChecksum(k int, v float64) { s.f64.SetIndex(k, v) }

func (s *JS) Checksum(k int) float64 { return s.f64.Index(k).Float() }

// catch turns a JavaScript exception into an error.
func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}
