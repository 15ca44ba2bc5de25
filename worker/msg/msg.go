// Package msg is the message protocol between the app (the UI thread's
// worker pool, wasm/workerpool) and the Web Workers (worker/): the message
// types, their fields, and, under js/wasm, their conversion to and from
// the JavaScript objects that postMessage carries (msg_js.go).
//
// A message is a plain JavaScript object with a "type" field. Its small
// fields travel as JSON-compatible values (structured clone); big numeric
// data travels as named ArrayBuffers in its "buffers" field, listed as
// transferables, so they move between threads without a copy. Going into
// or out of Go memory, each buffer is copied once, whole
// (js.CopyBytesToJS / js.CopyBytesToGo), never element by element.
//
// worker/README.md describes the protocol for JavaScript readers.
package msg

import (
	"encoding/json"
	"fmt"
	"unsafe"
)

// Message types. A worker posts Ready once its Go program runs (and only
// then may it be sent work); Ping asks for a Pong; Error reports a failure
// (a Go panic, an unknown request, a worker that could not start or whose
// Go program exited).
const (
	Ready = "ready"
	Ping  = "ping"
	Pong  = "pong"
	Error = "error"
)

// Message is the part of a message that is not bulk data. Type says what
// it is; ID, set by the sender of a request, is echoed in the answer so
// the sender can match them; Body holds a type's own fields as JSON.
type Message struct {
	Type string `json:"type"`
	ID   int64  `json:"id,omitempty"`

	// Ready and Pong: the worker's GEMM micro-kernel (model/kernels.KernelName)
	// and Go version.
	Kernel    string `json:"kernel,omitempty"`
	GoVersion string `json:"goVersion,omitempty"`

	// Error: what went wrong, and the Go stack or stderr tail when known.
	Message string `json:"message,omitempty"`
	Stack   string `json:"stack,omitempty"`

	// Body holds the fields of message types that this package does not
	// name (training messages, built by other packages), as JSON.
	Body json.RawMessage `json:"body,omitempty"`
}

// Errorf makes an Error message in answer to request id (0: none).
func Errorf(id int64, format string, args ...any) Message {
	return Message{Type: Error, ID: id, Message: fmt.Sprintf(format, args...)}
}

// Err is an Error message as a Go error.
type Err struct{ M Message }

func (e *Err) Error() string {
	if e.M.Stack != "" {
		return e.M.Message + "\n" + e.M.Stack
	}
	return e.M.Message
}

// AsError returns an error for an Error message, nil for any other type.
func (m Message) AsError() error {
	if m.Type != Error {
		return nil
	}
	return &Err{m}
}

// WithBody returns m with v, encoded as JSON, in its Body.
func (m Message) WithBody(v any) (Message, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return m, fmt.Errorf("message %q: encoding its body: %w", m.Type, err)
	}
	m.Body = b
	return m, nil
}

// DecodeBody decodes m's Body into v.
func (m Message) DecodeBody(v any) error {
	if len(m.Body) == 0 {
		return fmt.Errorf("message %q has no body", m.Type)
	}
	if err := json.Unmarshal(m.Body, v); err != nil {
		return fmt.Errorf("message %q: decoding its body: %w", m.Type, err)
	}
	return nil
}

// Buffer is one named bulk buffer of a message, as bytes. Float32Bytes and
// BytesFloat32 view float32 data as bytes and back without copying.
type Buffer struct {
	Name string
	Data []byte
}

// Float32Bytes views a float32 slice as its bytes (little-endian on every
// platform Go's wasm and the browsers run), without copying.
func Float32Bytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f))
}

// BytesFloat32 views bytes as float32s without copying. len(b) must be a
// multiple of 4 and b 4-byte aligned (Go allocations and slices of them
// at multiples of 4 are).
func BytesFloat32(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%d bytes are not a whole number of float32s", len(b))
	}
	if len(b) == 0 {
		return nil, nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		return nil, fmt.Errorf("buffer is not 4-byte aligned")
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4), nil
}
