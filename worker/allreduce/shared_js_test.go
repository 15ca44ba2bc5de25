//go:build js && wasm

package allreduce

import (
	"os"
	"path/filepath"
	"syscall/js"
	"testing"
	"time"
)

// loadScript loads assets/web/allreduce.js into node, as worker.js does in
// a browser's worker.
func loadScript(t *testing.T) {
	t.Helper()
	if js.Global().Get("goresnetAllReduce").Truthy() {
		return
	}
	req := js.Global().Get("require")
	if !req.Truthy() {
		t.Skip("no require: not running in node")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	req.Invoke(filepath.Join(wd, "..", "..", "assets", "web", "allreduce.js"))
	if !js.Global().Get("goresnetAllReduce").Truthy() {
		t.Fatal("allreduce.js did not define goresnetAllReduce")
	}
}

func newJSBuffer(t *testing.T, size, capacity int) Shared {
	b, err := NewBuffer(size, capacity)
	if err != nil {
		t.Fatal(err)
	}
	// A worker opens the buffer the page posted.
	o, err := OpenBuffer(b.Buffer())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// The same tests on a SharedArrayBuffer, with the JavaScript sum: the
// workers are goroutines of one instance here, so a waiting one blocks
// the thread in Atomics.wait for a millisecond and then yields.
func TestSumsJS(t *testing.T) {
	loadScript(t)
	testSums(t, func(size, capacity int) Shared { return newJSBuffer(t, size, capacity) })
}

func TestCommandsJS(t *testing.T) {
	loadScript(t)
	testCommands(t, newJSBuffer(t, 2, 8), 2, func() { time.Sleep(time.Millisecond) })
}

func TestAbortJS(t *testing.T) {
	loadScript(t)
	testAbort(t, func(size, capacity int) Shared { return newJSBuffer(t, size, capacity) })
}
