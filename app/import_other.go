//go:build !(js && wasm)

package app

// Outside the browser there are no files to pick or drop (the components
// are tested with PickedFiles set directly).

func pickedFolder(id string) []PickedFile       { return nil }
func pickedFiles(id, label string) []PickedFile { return nil }
func clearInput(id string)                      {}
func watchDrop(id string, onOver func(bool), onFiles func([]PickedFile, error)) (release func()) {
	return func() {}
}
