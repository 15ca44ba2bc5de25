//go:build !js

package data

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// HTTPSource is native only: under js/wasm the worker reads datasets
// through the browser's fetch (worker/env_js.go), and linking net/http
// would add about 0.4 MB brotli (5 MB raw) to worker.wasm.

func openHTTP(loc string) (Source, error) { return NewHTTPSource(loc, nil) }

// HTTPSource reads a dataset served under a base URL (the server serves
// dataset NAME under /data/NAME/).
type HTTPSource struct {
	Base   *url.URL
	Client *http.Client // nil: http.DefaultClient
}

// NewHTTPSource makes a source for the folder URL base.
func NewHTTPSource(base string, client *http.Client) (*HTTPSource, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return &HTTPSource{Base: u, Client: client}, nil
}

func (s *HTTPSource) String() string { return s.Base.String() }

// URL returns the address of a dataset file.
func (s *HTTPSource) URL(name string) string {
	u := *s.Base
	u.Path = path.Join(u.Path, name)
	u.RawPath = ""
	return u.String()
}

// Open implements Source with a GET request.
func (s *HTTPSource) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	if !fs.ValidPath(name) {
		return nil, 0, fmt.Errorf("%s: invalid file name %q", s, name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL(name), nil)
	if err != nil {
		return nil, 0, err
	}
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, 0, fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	}
	return resp.Body, resp.ContentLength, nil
}
