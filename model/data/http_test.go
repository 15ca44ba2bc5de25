//go:build !js

package data

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
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

// mapTransport serves files over a fake HTTP transport, so HTTPSource is
// tested under js/wasm too (where there are no sockets to listen on).
type mapTransport struct {
	fsys fstest.MapFS
	mu   sync.Mutex
	got  []string
}

func (m *mapTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	m.mu.Lock()
	m.got = append(m.got, r.URL.String())
	m.mu.Unlock()
	name := strings.TrimPrefix(r.URL.Path, "/data/toy/")
	f, ok := m.fsys[name]
	if !ok {
		return &http.Response{StatusCode: 404, Status: "404 Not Found", Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	}
	return &http.Response{StatusCode: 200, Status: "200 OK", ContentLength: int64(len(f.Data)), Body: io.NopCloser(bytes.NewReader(f.Data)), Request: r}, nil
}

func TestHTTPSource(t *testing.T) {
	fsys, _ := build(t, 2, 2, map[string][]int{"train": {3, 3}})
	tr := &mapTransport{fsys: fsys}
	src, err := NewHTTPSource("http://127.0.0.1:8080/data/toy", &http.Client{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Open(context.Background(), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if tr.got[0] != "http://127.0.0.1:8080/data/toy/manifest.json" || tr.got[1] != "http://127.0.0.1:8080/data/toy/train-00000.shard" {
		t.Errorf("requests %v", tr.got)
	}
	delete(fsys, "train-00001.shard")
	if _, err := ds.Shard(context.Background(), "train", 1); err == nil || !strings.Contains(err.Error(), "404 Not Found") {
		t.Errorf("missing shard: %v", err)
	}
}
