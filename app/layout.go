package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// layout frames a page: the navigation bar, the page's content, and the
// status bar. Every page renders through it.
func layout(current string, content ...app.UI) app.UI {
	return app.Div().Class("gr-shell").Body(
		&Nav{Current: current},
		app.Main().Class("gr-main").ID("gr-page-"+pageID(current)).Body(content...),
		&StatusBar{},
	)
}

// pageID names a route for element ids ("/" is "home").
func pageID(path string) string {
	if path == "/" || path == "" {
		return "home"
	}
	return path[1:]
}
