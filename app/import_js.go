//go:build js && wasm

package app

import (
	"errors"
	"path"
	"strings"
	"syscall/js"
)

// The browser side of choosing pictures: the files of a folder picker
// (<input type=file webkitdirectory>, with webkitRelativePath), of a
// plain file picker (given a label), and of a folder dropped on the drop
// zone (DataTransferItem.webkitGetAsEntry, walked with readEntries). The
// File objects are kept as they are, to be passed to the worker.

func fileOf(f js.Value, p string) PickedFile {
	return PickedFile{Path: p, Size: int64(f.Get("size").Float()), File: f}
}

// pickedFolder returns the files of a folder picker, with their paths in
// the folder ("pets/cat/1.jpg").
func pickedFolder(id string) []PickedFile {
	in := js.Global().Get("document").Call("getElementById", id)
	if !in.Truthy() || !in.Get("files").Truthy() {
		return nil
	}
	files := in.Get("files")
	out := make([]PickedFile, 0, files.Length())
	for i := range files.Length() {
		f := files.Index(i)
		p := f.Get("webkitRelativePath").String()
		if p == "" || p == "<undefined>" {
			p = f.Get("name").String()
		}
		out = append(out, fileOf(f, p))
	}
	return out
}

// pickedFiles returns the files of a file picker, put in the class folder
// label ("label/name.jpg").
func pickedFiles(id, label string) []PickedFile {
	in := js.Global().Get("document").Call("getElementById", id)
	if !in.Truthy() || !in.Get("files").Truthy() {
		return nil
	}
	files := in.Get("files")
	out := make([]PickedFile, 0, files.Length())
	for i := range files.Length() {
		f := files.Index(i)
		out = append(out, fileOf(f, path.Join(label, f.Get("name").String())))
	}
	return out
}

// clearInput empties a file input, so that picking the same files again
// fires its change event.
func clearInput(id string) {
	if in := js.Global().Get("document").Call("getElementById", id); in.Truthy() {
		in.Set("value", "")
	}
}

// watchDrop makes the element id a drop zone: a drop's files and folders
// (walked recursively, paths from the dropped items: "pets/cat/1.jpg")
// are passed to onFiles, from a goroutine. The DataTransfer's items are
// only readable during the drop event, so they are taken in the
// JavaScript listener itself, not in a go-app handler (which runs later).
func watchDrop(id string, onOver func(bool), onFiles func([]PickedFile, error)) (release func()) {
	el := js.Global().Get("document").Call("getElementById", id)
	if !el.Truthy() {
		return func() {}
	}
	over := js.FuncOf(func(this js.Value, args []js.Value) any {
		args[0].Call("preventDefault")
		if dt := args[0].Get("dataTransfer"); dt.Truthy() {
			dt.Set("dropEffect", "copy")
		}
		onOver(true)
		return nil
	})
	leave := js.FuncOf(func(this js.Value, args []js.Value) any {
		onOver(false)
		return nil
	})
	drop := js.FuncOf(func(this js.Value, args []js.Value) any {
		ev := args[0]
		ev.Call("preventDefault")
		onOver(false)
		dt := ev.Get("dataTransfer")
		if !dt.Truthy() {
			return nil
		}
		var entries []js.Value
		var loose []PickedFile
		items := dt.Get("items")
		for i := range items.Length() {
			it := items.Index(i)
			if it.Get("kind").String() != "file" {
				continue
			}
			if it.Get("webkitGetAsEntry").Truthy() {
				if e := it.Call("webkitGetAsEntry"); e.Truthy() {
					entries = append(entries, e)
					continue
				}
			}
			if f := it.Call("getAsFile"); f.Truthy() {
				loose = append(loose, fileOf(f, f.Get("name").String()))
			}
		}
		go func() {
			out := loose
			for _, e := range entries {
				files, err := walkEntry(e)
				if err != nil {
					onFiles(nil, err)
					return
				}
				out = append(out, files...)
			}
			onFiles(out, nil)
		}()
		return nil
	})
	el.Call("addEventListener", "dragover", over)
	el.Call("addEventListener", "dragleave", leave)
	el.Call("addEventListener", "drop", drop)
	return func() {
		el.Call("removeEventListener", "dragover", over)
		el.Call("removeEventListener", "dragleave", leave)
		el.Call("removeEventListener", "drop", drop)
		over.Release()
		leave.Release()
		drop.Release()
	}
}

// call runs an entry API method that takes success and error callbacks
// and waits for it.
func call(v js.Value, method string) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	done := make(chan result, 1)
	ok := js.FuncOf(func(this js.Value, args []js.Value) any { done <- result{v: args[0]}; return nil })
	bad := js.FuncOf(func(this js.Value, args []js.Value) any {
		text := method + " failed"
		if len(args) > 0 && args[0].Truthy() {
			text = args[0].Call("toString").String()
		}
		done <- result{err: errors.New(text)}
		return nil
	})
	defer func() { ok.Release(); bad.Release() }()
	v.Call(method, ok, bad)
	r := <-done
	return r.v, r.err
}

// walkEntry lists the files under a FileSystemEntry.
func walkEntry(e js.Value) ([]PickedFile, error) {
	p := strings.TrimPrefix(e.Get("fullPath").String(), "/")
	if e.Get("isFile").Bool() {
		f, err := call(e, "file")
		if err != nil {
			return nil, errors.New(p + ": " + err.Error())
		}
		return []PickedFile{fileOf(f, p)}, nil
	}
	var out []PickedFile
	r := e.Call("createReader")
	for {
		// readEntries returns the folder in batches (100 in Chromium),
		// then an empty one.
		batch, err := call(r, "readEntries")
		if err != nil {
			return nil, errors.New(p + ": " + err.Error())
		}
		if batch.Length() == 0 {
			return out, nil
		}
		for i := range batch.Length() {
			files, err := walkEntry(batch.Index(i))
			if err != nil {
				return nil, err
			}
			out = append(out, files...)
		}
	}
}
