//go:build js && wasm

// Command app is the browser app's program (app.wasm): the go-app
// components of package app, with the worker pool started beside them.
package main

import (
	"context"
	"syscall/js"
	"time"

	webapp "github.com/goresnet/goresnet/app"
	"github.com/goresnet/goresnet/wasm/localdata"
	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/goresnet/goresnet/wasm/trainer"
	"github.com/goresnet/goresnet/wasm/workerpool"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

func main() {
	webapp.Routes()
	if app.IsClient {
		pool := workerpool.Start(workerpool.Options{})
		webapp.SetWorkers(workerpool.AppWorkers{Pool: pool})
		webapp.SetTraining(trainer.New(pool))
		// goresnetDebug.post(i, message) posts a protocol message
		// (worker/README.md) to worker i of the pool, bypassing the
		// pool's bookkeeping: for the console, and for the browser
		// tests, which kill a worker with worker/debug.go's debug-exit
		// to test the recovery. It returns an error's text, or null. It
		// gives a page script nothing it could not do already (it could
		// start or terminate workers itself).
		debug := js.Global().Get("Object").New()
		debug.Set("post", js.FuncOf(func(this js.Value, args []js.Value) any {
			if len(args) != 2 || args[0].Type() != js.TypeNumber || args[1].Type() != js.TypeObject {
				return "usage: goresnetDebug.post(worker, {type, id, body})"
			}
			if err := pool.PostJS(args[0].Int(), args[1], js.Global().Get("Array").New()); err != nil {
				return err.Error()
			}
			return nil
		}))
		js.Global().Set("goresnetDebug", debug)
		webapp.SetModels(trainer.NewModels(pool))
		webapp.SetLocalData(localdata.New(pool))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		db, err := storage.Open(ctx)
		cancel()
		if err != nil {
			webapp.SetStore(nil, err)
		} else {
			webapp.SetStore(db, nil)
		}
	}
	app.RunWhenOnBrowser()
}
