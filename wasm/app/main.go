//go:build js && wasm

// Command app is the browser app's program (app.wasm): the go-app
// components of package app, with the worker pool started beside them.
package main

import (
	"context"
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
