//go:build js && wasm

package storage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"syscall/js"

	"github.com/goresnet/goresnet/model/data"
)

// Local datasets: the datasets a person imported from their own pictures
// in this browser. Each is the files `goresnet import` writes (manifest,
// shards, import report) plus the Data page's summary, kept in the Cache
// Storage cache LocalCacheName under LocalURL(name, file): keys that are
// never fetched (nothing leaves the machine). The manifest is written
// last and deleted first, so a dataset is listed only when it is whole.
// The shards are not put in the shard cache as well (they would be
// stored twice): a local dataset is opened with its own Source and no
// cache.

// LocalCacheName is the Cache Storage cache of the local datasets (the
// service worker deletes only its own "app-" caches).
const LocalCacheName = "goresnet-local-datasets"

// localPrefix starts every local dataset's key.
const localPrefix = "/goresnet-local/"

// LocalURL is the cache key of a local dataset's file; LocalURL(name, "")
// is its folder, which dataset-open also accepts as the dataset's URL.
func LocalURL(name, file string) string { return localPrefix + name + "/" + file }

// IsLocalURL reports whether u is a local dataset's folder and names it.
func IsLocalURL(u string) (name string, ok bool) {
	rest, ok := strings.CutPrefix(u, localPrefix)
	if !ok {
		return "", false
	}
	name = strings.TrimSuffix(rest, "/")
	return name, data.ValidName(name) == nil && !strings.Contains(name, "/")
}

func openLocal(ctx context.Context) (js.Value, error) {
	caches := js.Global().Get("caches")
	if !caches.Truthy() {
		return js.Undefined(), fmt.Errorf("this browser has no Cache Storage (it needs a secure context: https or localhost), so imported datasets cannot be kept")
	}
	return awaitPromise(ctx, "opening the local datasets", caches.Call("open", LocalCacheName))
}

func putBytes(ctx context.Context, cache js.Value, key string, b []byte, what string) error {
	headers := js.Global().Get("Object").New()
	headers.Set("content-type", "application/octet-stream")
	init := js.Global().Get("Object").New()
	init.Set("headers", headers)
	resp := js.Global().Get("Response").New(js.Global().Get("Uint8Array").New(bytesToJS(b)), init)
	_, err := awaitPromise(ctx, what, cache.Call("put", key, resp))
	return err
}

func getBytes(ctx context.Context, cache js.Value, key string) ([]byte, error) {
	resp, err := awaitPromise(ctx, "reading the local datasets", cache.Call("match", key))
	if err != nil {
		return nil, err
	}
	if !resp.Truthy() {
		return nil, ErrNotFound
	}
	ab, err := awaitPromise(ctx, "reading "+key, resp.Call("arrayBuffer"))
	if err != nil {
		return nil, err
	}
	return bytesFromJS(ctx, ab)
}

// PutLocalDataset stores an imported dataset's files (names relative to
// its folder, data.ManifestName among them): the manifest last. A dataset
// of that name already stored is an error; a failure (the quota, say)
// removes what was written.
func PutLocalDataset(ctx context.Context, name string, files map[string][]byte) error {
	if err := data.ValidName(name); err != nil {
		return err
	}
	manifest, ok := files[data.ManifestName]
	if !ok {
		return fmt.Errorf("dataset %s: no %s", name, data.ManifestName)
	}
	cache, err := openLocal(ctx)
	if err != nil {
		return err
	}
	if hit, _ := awaitPromise(ctx, "reading the local datasets", cache.Call("match", LocalURL(name, data.ManifestName))); hit.Truthy() {
		return fmt.Errorf("this browser already has a dataset named %q: delete it first or choose another name", name)
	}
	names := make([]string, 0, len(files))
	for f := range files {
		if f != data.ManifestName {
			names = append(names, f)
		}
	}
	sort.Strings(names)
	for _, f := range append(names, data.ManifestName) {
		b := files[f]
		if f == data.ManifestName {
			b = manifest
		}
		if err := putBytes(ctx, cache, LocalURL(name, f), b, "storing "+f); err != nil {
			DeleteLocalDataset(context.WithoutCancel(ctx), name)
			return fmt.Errorf("storing dataset %s in the browser: %w", name, err)
		}
	}
	return nil
}

// LocalDatasets lists the stored local datasets' manifests by name. A
// manifest that does not parse is listed in bad with the reason.
func LocalDatasets(ctx context.Context) (ms []*data.Manifest, bad map[string]string, err error) {
	caches := js.Global().Get("caches")
	if !caches.Truthy() {
		return nil, nil, nil
	}
	cache, err := openLocal(ctx)
	if err != nil {
		return nil, nil, err
	}
	keys, err := awaitPromise(ctx, "listing the local datasets", cache.Call("keys"))
	if err != nil {
		return nil, nil, err
	}
	bad = map[string]string{}
	for i := range keys.Length() {
		u := js.Global().Get("URL").New(keys.Index(i).Get("url")).Get("pathname").String()
		rest, ok := strings.CutPrefix(u, localPrefix)
		if !ok {
			continue
		}
		name, file, _ := strings.Cut(rest, "/")
		if file != data.ManifestName {
			continue
		}
		b, err := getBytes(ctx, cache, u)
		if err != nil {
			bad[name] = err.Error()
			continue
		}
		m, err := data.ParseManifest(b)
		if err != nil {
			bad[name] = err.Error()
			continue
		}
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	return ms, bad, nil
}

// LocalFile reads a file of a stored local dataset (ErrNotFound if none).
func LocalFile(ctx context.Context, name, file string) ([]byte, error) {
	if err := data.ValidName(name); err != nil {
		return nil, err
	}
	cache, err := openLocal(ctx)
	if err != nil {
		return nil, err
	}
	return getBytes(ctx, cache, LocalURL(name, file))
}

// HasLocalDataset reports whether a local dataset of that name is stored.
func HasLocalDataset(ctx context.Context, name string) bool {
	if data.ValidName(name) != nil || !js.Global().Get("caches").Truthy() {
		return false
	}
	cache, err := openLocal(ctx)
	if err != nil {
		return false
	}
	hit, err := awaitPromise(ctx, "reading the local datasets", cache.Call("match", LocalURL(name, data.ManifestName)))
	return err == nil && hit.Truthy()
}

// DeleteLocalDataset removes a local dataset: its manifest first (so it
// is no longer listed), then its other files.
func DeleteLocalDataset(ctx context.Context, name string) error {
	if err := data.ValidName(name); err != nil {
		return err
	}
	cache, err := openLocal(ctx)
	if err != nil {
		return err
	}
	if _, err := awaitPromise(ctx, "deleting "+name, cache.Call("delete", LocalURL(name, data.ManifestName))); err != nil {
		return err
	}
	keys, err := awaitPromise(ctx, "listing the local datasets", cache.Call("keys"))
	if err != nil {
		return err
	}
	prefix := LocalURL(name, "")
	for i := range keys.Length() {
		req := keys.Index(i)
		if strings.HasPrefix(js.Global().Get("URL").New(req.Get("url")).Get("pathname").String(), prefix) {
			if _, err := awaitPromise(ctx, "deleting "+name, cache.Call("delete", req)); err != nil {
				return err
			}
		}
	}
	return nil
}

// LocalSource is a data.Source over a stored local dataset: the training
// workers' dataset-open reads it from the browser, with no request to the
// server.
type LocalSource string

func (s LocalSource) String() string { return "this browser's dataset " + string(s) }

// Persistent tells dataset-open not to put its shards in the shard cache
// too: they are stored in the browser already.
func (s LocalSource) Persistent() bool { return true }

// Open implements data.Source.
func (s LocalSource) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	if !fs.ValidPath(name) {
		return nil, 0, fmt.Errorf("%s: invalid file name %q", s, name)
	}
	b, err := LocalFile(ctx, string(s), name)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %s: %w", s, name, err)
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

// ReadBlob copies a Blob's (a File's) or an ArrayBuffer's bytes into Go
// memory.
func ReadBlob(ctx context.Context, v js.Value) ([]byte, error) { return bytesFromJS(ctx, v) }
