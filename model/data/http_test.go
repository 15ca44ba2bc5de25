//go:build !js

package data

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHTTPServer reads a dataset from a real HTTP server on loopback. It
// is native only: js/wasm has no sockets to listen on (TestHTTPSource
// covers HTTPSource there with a fake transport).
func TestHTTPServer(t *testing.T) {
	fsys, _ := build(t, 3, 2, map[string][]int{"train": {4, 2}})
	srv := httptest.NewServer(http.StripPrefix("/data/toy/", http.FileServerFS(fsys)))
	defer srv.Close()
	ds, err := OpenPath(context.Background(), srv.URL+"/data/toy/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(ds, LoaderConfig{Split: "train", BatchSize: 4, Shuffle: true, Prefetch: 1})
	if err != nil {
		t.Fatal(err)
	}
	it := l.Epoch(context.Background(), 0)
	defer it.Close()
	n := 0
	for {
		b, err := it.Next()
		if err != nil {
			break
		}
		n += b.N
	}
	if n != 6 {
		t.Errorf("%d examples over HTTP", n)
	}
}
