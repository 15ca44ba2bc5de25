package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// StatusBar shows whether the page is cross-origin isolated (which
// SharedArrayBuffer, and so the workers' shared gradients, need), the
// state of the worker pool, and a reload button once a new version of the
// app has been installed in the background.
type StatusBar struct {
	app.Compo

	checked  bool // false until mounted in a browser
	isolated bool
	workers  WorkerStatus
	update   bool
	stop     func()
}

// OnAppUpdate is called by go-app when the service worker has installed
// a new build.
func (s *StatusBar) OnAppUpdate(ctx app.Context) { s.update = ctx.AppUpdateAvailable() }

func (s *StatusBar) OnMount(ctx app.Context) {
	s.checked = true
	s.update = ctx.AppUpdateAvailable()
	s.isolated = app.Window().Get("crossOriginIsolated").Truthy()
	if w := workers(); w != nil {
		s.workers = w.Status()
		s.stop = w.Watch(func(st WorkerStatus) {
			ctx.Dispatch(func(app.Context) { s.workers = st })
		})
	}
}

func (s *StatusBar) OnDismount() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

func (s *StatusBar) Render() app.UI {
	iso, isoState := "cross-origin isolation: checking", "unknown"
	if s.checked {
		if s.isolated {
			iso, isoState = "cross-origin isolated", "yes"
		} else {
			iso, isoState = "not cross-origin isolated: SharedArrayBuffer is unavailable (serve the app with goresnet serve)", "no"
		}
	}
	wk, wkState := "workers: starting", "starting"
	if s.checked {
		wk = s.workers.String()
		switch {
		case s.workers.Err != "":
			wkState = "error"
		case s.workers.AllReady():
			wkState = "ready"
		case s.workers.Size == 0:
			wkState = "none"
		}
	}
	return app.Footer().Class("gr-status").Body(
		app.Span().ID("gr-status-isolated").Class("gr-status-"+isoState).DataSet("state", isoState).Text(iso),
		app.Span().ID("gr-status-workers").Class("gr-status-"+wkState).DataSet("state", wkState).DataSet("kernel", s.workers.Kernel).Text(wk),
		app.If(s.update, func() app.UI {
			return app.Button().ID("gr-update").Text("A new version is ready: reload").OnClick(func(ctx app.Context, e app.Event) { ctx.Reload() })
		}),
	)
}
