package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/goresnet/goresnet/model/data"
)

// DatasetIndex is the server's list of datasets (GET /data/, JSON).
type DatasetIndex struct {
	Datasets []DatasetSummary `json:"datasets"`
}

// DatasetSummary describes one dataset of the index; its manifest has the
// rest (GET URL + "manifest.json").
type DatasetSummary struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	URL         string         `json:"url"` // "/data/NAME/"
	Classes     int            `json:"classes"`
	Image       data.Image     `json:"image"`
	Splits      []SplitSummary `json:"splits"`
	Bytes       int64          `json:"bytes"` // all shards
}

// SplitSummary is a split's name and example count.
type SplitSummary struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Summarize makes the index entry of a dataset served as name at url.
func Summarize(m *data.Manifest, name, url string) DatasetSummary {
	s := DatasetSummary{Name: name, Description: m.Description, URL: url, Classes: len(m.Classes), Image: m.Image}
	for _, sp := range m.Splits {
		s.Splits = append(s.Splits, SplitSummary{sp.Name, sp.Count})
		for _, sh := range sp.Shards {
			s.Bytes += sh.Bytes
		}
	}
	return s
}

// Fetcher reads the server's dataset index and manifests. The browser
// uses HTTP (fetch, through net/http); tests put a fake in its place.
type Fetcher interface {
	Index(ctx context.Context) (*DatasetIndex, error)
	Manifest(ctx context.Context, name string) (*data.Manifest, error)
}

// fetcher is the Fetcher pages use.
var fetcher Fetcher = &HTTPFetcher{}

// HTTPFetcher is a Fetcher over HTTP. Base is the server's address, e.g.
// "http://127.0.0.1:8080/"; empty means the page's own origin. In the
// browser it calls fetch directly (net/http's client would add megabytes
// to app.wasm); elsewhere it uses Client (nil: http.DefaultClient).
type HTTPFetcher struct {
	Base   string
	Client *http.Client
}

func (f *HTTPFetcher) resolve(path string) (string, error) {
	base := f.Base
	if base == "" {
		base = pageOrigin()
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	return b.ResolveReference(&url.URL{Path: path}).String(), nil
}

func (f *HTTPFetcher) get(ctx context.Context, path string, max int64) ([]byte, error) {
	u, err := f.resolve(path)
	if err != nil {
		return nil, err
	}
	status, b, err := httpGet(ctx, f.Client, u, max)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", path, status, http.StatusText(status))
	}
	return b, nil
}

// Index implements Fetcher.
func (f *HTTPFetcher) Index(ctx context.Context) (*DatasetIndex, error) {
	b, err := f.get(ctx, "/data/", 4<<20)
	if err != nil {
		return nil, err
	}
	var idx DatasetIndex
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("the dataset index: %w", err)
	}
	return &idx, nil
}

// Manifest implements Fetcher.
func (f *HTTPFetcher) Manifest(ctx context.Context, name string) (*data.Manifest, error) {
	if err := data.ValidName(name); err != nil {
		return nil, err
	}
	b, err := f.get(ctx, "/data/"+name+"/"+data.ManifestName, 64<<20)
	if err != nil {
		return nil, err
	}
	return data.ParseManifest(b)
}
