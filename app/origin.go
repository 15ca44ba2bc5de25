package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// pageOrigin is the page's origin with a trailing slash ("" when not in a
// browser).
func pageOrigin() string {
	if !app.IsClient {
		return ""
	}
	return app.Window().Get("location").Get("origin").String() + "/"
}
