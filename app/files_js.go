//go:build js && wasm

package app

import "syscall/js"

// pickedFile returns the file picked in the file input with that id (a
// File, passed to the workers as it is: they read its bytes) and its
// name; nil when none.
func pickedFile(id string) (any, string) {
	in := js.Global().Get("document").Call("getElementById", id)
	if !in.Truthy() {
		return nil, ""
	}
	files := in.Get("files")
	if !files.Truthy() || files.Length() == 0 {
		return nil, ""
	}
	f := files.Index(0)
	return f, f.Get("name").String()
}
