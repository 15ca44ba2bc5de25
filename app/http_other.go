//go:build !(js && wasm)

package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// httpGet reads url with net/http, at most max bytes of body.
func httpGet(ctx context.Context, c *http.Client, url string, max int64) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return 0, nil, err
	}
	if int64(len(b)) > max {
		return 0, nil, fmt.Errorf("more than %d bytes", max)
	}
	return resp.StatusCode, b, nil
}
