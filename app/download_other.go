//go:build !(js && wasm)

package app

import "sync"

// downloads records what downloadBytes offered (tests).
var (
	downloadsMu sync.Mutex
	downloads   = map[string][]byte{}
)

// downloadBytes has no browser to download into outside it: it keeps the
// file for the tests.
func downloadBytes(name, mime string, data []byte) error {
	downloadsMu.Lock()
	downloads[name] = append([]byte(nil), data...)
	downloadsMu.Unlock()
	return nil
}
