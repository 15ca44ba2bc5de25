//go:build js

package data

import "fmt"

// Under js/wasm there is no HTTPSource (see source_http.go): the worker
// opens datasets over fetch with its own Source.
func openHTTP(loc string) (Source, error) {
	return nil, fmt.Errorf("%s: in the browser, datasets are opened over fetch by the worker (worker/env_js.go), not with data.OpenSource", loc)
}
