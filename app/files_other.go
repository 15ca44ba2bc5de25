//go:build !(js && wasm)

package app

// pickedFile has no files to offer outside the browser.
func pickedFile(id string) (any, string) { return nil, "" }
