//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "worker is the Web Worker program: build it with GOOS=js GOARCH=wasm (make web) and run it through the app (make run)")
	os.Exit(2)
}
