//go:build js && wasm

// Command app is the browser app's program (app.wasm): the go-app
// components of package app, with the worker pool started beside them.
package main

import (
	webapp "github.com/goresnet/goresnet/app"
	"github.com/goresnet/goresnet/wasm/workerpool"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

func main() {
	webapp.Routes()
	webapp.SetWorkers(workerpool.AppWorkers{Pool: workerpool.Start(workerpool.Options{})})
	app.RunWhenOnBrowser()
}
