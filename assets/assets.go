// Package assets holds the static files the server ships with the app:
// Web holds what is served under /web/ (icons, the stylesheet, the worker
// bootstrap worker.js and any wasm import hooks beside it), and
// ServiceWorker is the template of the service worker (go-app's
// app-worker.js, rewritten so that every route and query works offline).
package assets

import (
	"embed"
	"io/fs"
)

//go:embed web
var web embed.FS

// Web is the files served under /web/ (web/NAME in this folder is
// /web/NAME).
var Web fs.FS = mustSub(web, "web")

// ServiceWorker is the service worker template for go-app's Handler
// (ServiceWorkerTemplate): {{.Version}} and {{.ResourcesToCache}} are
// replaced by the Handler.
//
//go:embed service-worker.js
var ServiceWorker string

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}
