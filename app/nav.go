package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// Nav is the navigation bar: the app's name and a link per page, the
// current one marked.
type Nav struct {
	app.Compo
	Current string // the current page's path
}

func (n *Nav) Render() app.UI {
	return app.Header().Class("gr-nav").Body(
		app.A().Class("gr-brand").Href("/").Body(
			app.Img().Src("/web/icon.svg").Alt("").Class("gr-logo"),
			app.Span().Text(Name),
		),
		app.Nav().Body(app.Range(Pages).Slice(func(i int) app.UI {
			p := Pages[i]
			a := app.A().Href(p.Path).ID("gr-nav-" + pageID(p.Path)).Text(p.Title)
			if p.Path == n.Current {
				a = a.Class("gr-current").Aria("current", "page")
			}
			return a
		})),
	)
}
