//go:build js && wasm

package app

import (
	"syscall/js"
	"time"
)

// downloadBytes offers data as a file download through a blob: URL (the
// history CSV; checkpoints and exports never pass through the page's Go
// memory).
func downloadBytes(name, mime string, data []byte) error {
	u8 := js.Global().Get("Uint8Array").New(len(data))
	js.CopyBytesToJS(u8, data)
	DownloadBlob(name, mime, u8)
	return nil
}

// DownloadBlob offers a JavaScript value that a Blob takes (an
// ArrayBuffer, a typed array) as a file named name.
func DownloadBlob(name, mime string, data js.Value) {
	opts := js.Global().Get("Object").New()
	opts.Set("type", mime)
	blob := js.Global().Get("Blob").New(js.Global().Get("Array").New(data), opts)
	url := js.Global().Get("URL").Call("createObjectURL", blob)
	doc := js.Global().Get("document")
	a := doc.Call("createElement", "a")
	a.Set("href", url)
	a.Set("download", name)
	a.Get("style").Set("display", "none")
	doc.Get("body").Call("appendChild", a)
	a.Call("click")
	a.Call("remove")
	// Revoke later: the download reads the blob asynchronously.
	time.AfterFunc(time.Minute, func() { js.Global().Get("URL").Call("revokeObjectURL", url) })
}
