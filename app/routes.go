// Package app is the browser app's user interface: go-app components, one
// per file, and the routes that show them. The same code renders in the
// browser (app.wasm, built from wasm/app) and on the server, which
// prerenders each page's first view (server/). It does no computing: the
// Web Workers do (see Workers).
package app

import (
	"sync"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Page is one route of the app.
type Page struct {
	Path  string
	Title string // in the navigation bar and the page heading
}

// Pages are the app's routes, in navigation order.
var Pages = []Page{
	{"/", "Home"},
	{"/data", "Data"},
	{"/model", "Model"},
	{"/train", "Train"},
	{"/evaluate", "Evaluate"},
	{"/predict", "Predict"},
	{"/export", "Export"},
}

// Name and Title name the app in the browser and the web manifest.
const (
	Name  = "goresnet"
	Title = "goresnet: train a ResNet in your browser"
)

var routesOnce sync.Once

// Routes registers the pages with go-app. Both the wasm main and the
// server call it (once is enough; more calls do nothing).
func Routes() {
	routesOnce.Do(func() {
		app.Route("/", func() app.Composer { return &Home{} })
		app.Route("/data", func() app.Composer { return &DataPage{} })
		app.Route("/model", func() app.Composer { return &ModelPage{} })
		app.Route("/train", func() app.Composer { return &TrainPage{} })
		app.Route("/evaluate", func() app.Composer { return &EvaluatePage{} })
		app.Route("/predict", func() app.Composer { return &PredictPage{} })
		app.Route("/export", func() app.Composer { return &ExportPage{} })
	})
}
