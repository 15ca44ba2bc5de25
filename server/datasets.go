package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	webapp "github.com/goresnet/goresnet/app"
	"github.com/goresnet/goresnet/model/data"
)

// datasets serves dataset folders under /data/NAME/, outside go-app's
// Handler (which would mark everything no-cache with the app's ETag):
//
//   - /data/ lists the datasets as JSON (app.DatasetIndex);
//   - /data/NAME/manifest.json is revalidated on every use (no-cache, ETag
//     from its sha256);
//   - a shard listed in the manifest is served with Range support (206)
//     and the ETag "sha256:HEX" of the manifest's hash; requested as
//     FILE?sha256=HEX (a content-addressed URL), it may be cached forever
//     (immutable), and a HEX that is no longer the shard's is a 404;
//   - import-report.json, when present, as JSON.
//
// Folders are read at each request, so datasets imported while the server
// runs appear without a restart.
type datasets struct {
	dir   string            // every folder under it with a manifest.json
	extra map[string]string // name -> folder (the built-in digits)
	log   *log.Logger

	mu    sync.Mutex
	cache map[string]*manifestFile // by manifest path
}

// manifestFile is a parsed manifest, kept while its file is unchanged.
type manifestFile struct {
	size    int64
	modTime time.Time
	raw     []byte
	etag    string
	m       *data.Manifest
	err     error
}

func newDatasets(dir string, extra map[string]string, l *log.Logger) *datasets {
	return &datasets{dir: dir, extra: extra, log: l, cache: map[string]*manifestFile{}}
}

// folders maps each dataset's URL name to its folder: the folders under
// dir that hold a manifest, then the extra ones whose name is not taken.
func (d *datasets) folders() map[string]string {
	out := map[string]string{}
	if d.dir != "" {
		entries, _ := os.ReadDir(d.dir)
		for _, e := range entries {
			if data.ValidName(e.Name()) != nil {
				continue
			}
			// A folder or a link to one (a dataset kept elsewhere).
			f := filepath.Join(d.dir, e.Name())
			if st, err := statIn(f, data.ManifestName); err == nil && st.Mode().IsRegular() {
				out[e.Name()] = f
			}
		}
	}
	for name, f := range d.extra {
		if _, taken := out[name]; taken || data.ValidName(name) != nil {
			continue
		}
		if st, err := statIn(f, data.ManifestName); err == nil && st.Mode().IsRegular() {
			out[name] = f
		}
	}
	return out
}

// folder is the folder of the dataset named name.
func (d *datasets) folder(name string) (string, bool) {
	if data.ValidName(name) != nil {
		return "", false
	}
	f, ok := d.folders()[name]
	return f, ok
}

// Files of a dataset are opened inside its folder with os.Root: a name
// cannot leave the folder, through ".." or through a symbolic link that
// points outside it (the folder itself may be a link: a dataset kept
// elsewhere). The names served are also only those the manifest lists
// (data.Manifest.Validate allows clean relative paths only).

// statIn stats name inside folder.
func statIn(folder, name string) (os.FileInfo, error) {
	root, err := os.OpenRoot(folder)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.Stat(name)
}

// readIn reads name inside folder.
func readIn(folder, name string) ([]byte, error) {
	root, err := os.OpenRoot(folder)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.ReadFile(name)
}

// manifest reads (or reuses) the manifest of the dataset in folder.
func (d *datasets) manifest(folder string) *manifestFile {
	p := filepath.Join(folder, data.ManifestName)
	st, err := statIn(folder, data.ManifestName)
	if err != nil {
		return &manifestFile{err: err}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.cache[p]; c != nil && c.size == st.Size() && c.modTime.Equal(st.ModTime()) {
		return c
	}
	c := &manifestFile{size: st.Size(), modTime: st.ModTime()}
	c.raw, c.err = readIn(folder, data.ManifestName)
	if c.err == nil {
		c.m, c.err = data.ParseManifest(c.raw)
		sum := sha256.Sum256(c.raw)
		c.etag = `"` + hex.EncodeToString(sum[:16]) + `"`
	}
	if c.err != nil {
		d.log.Printf("dataset %s: %v (not served)", folder, c.err)
	}
	d.cache[p] = c
	return c
}

// index lists the datasets that have a valid manifest, by name.
func (d *datasets) index() webapp.DatasetIndex {
	idx := webapp.DatasetIndex{Datasets: []webapp.DatasetSummary{}}
	for name, f := range d.folders() {
		mf := d.manifest(f)
		if mf.err != nil {
			continue
		}
		idx.Datasets = append(idx.Datasets, webapp.Summarize(mf.m, name, "/data/"+name+"/"))
	}
	sort.Slice(idx.Datasets, func(i, j int) bool { return idx.Datasets[i].Name < idx.Datasets[j].Name })
	return idx
}

// names lists the datasets served, for the start-up message.
func (d *datasets) names() []string {
	var n []string
	for _, s := range d.index().Datasets {
		n = append(n, s.Name)
	}
	return n
}

func (d *datasets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, "/data/")
	if rest == "" {
		d.serveIndex(w, r)
		return
	}
	name, file, ok := strings.Cut(rest, "/")
	folder, found := d.folder(name)
	if !ok || !found || file == "" {
		http.NotFound(w, r)
		return
	}
	mf := d.manifest(folder)
	if mf.err != nil {
		http.Error(w, "dataset "+name+": its manifest is not valid", http.StatusInternalServerError)
		return
	}
	switch file {
	case data.ManifestName:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", mf.etag)
		if !zeroSuffixRanges(w, r, int64(len(mf.raw))) {
			return
		}
		http.ServeContent(w, r, file, time.Time{}, bytes.NewReader(mf.raw))
		return
	case "import-report.json":
		d.serveFile(w, r, folder, file, "application/json", "no-cache", "", -1)
		return
	}
	for _, sp := range mf.m.Splits {
		for _, sh := range sp.Shards {
			if sh.File != file {
				continue
			}
			cache := "no-cache"
			if v := r.URL.Query().Get("sha256"); v != "" {
				if v != sh.SHA256 {
					http.Error(w, "dataset "+name+": shard "+file+" no longer has that sha256 (the dataset changed: read its manifest again)", http.StatusNotFound)
					return
				}
				cache = "public, max-age=31536000, immutable"
			}
			d.serveFile(w, r, folder, file, "application/octet-stream", cache, `"sha256:`+sh.SHA256+`"`, sh.Bytes)
			return
		}
	}
	http.NotFound(w, r)
}

// serveFile serves the file name (slash-separated) inside folder with
// Range support; size, when not -1, must be the file's (a shard that does
// not match its manifest is not served).
func (d *datasets) serveFile(w http.ResponseWriter, r *http.Request, folder, name, ctype, cache, etag string, size int64) {
	p := filepath.Join(folder, filepath.FromSlash(name))
	root, err := os.OpenRoot(folder)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(name))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			d.log.Printf("%s: %v (not served)", p, err)
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	if size >= 0 && st.Size() != size {
		d.log.Printf("%s: %d bytes, its manifest says %d (not served)", p, st.Size(), size)
		http.Error(w, "shard does not match its manifest", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", cache)
	if etag != "" {
		h.Set("ETag", etag)
	}
	if !zeroSuffixRanges(w, r, st.Size()) {
		return
	}
	http.ServeContent(w, r, filepath.Base(p), time.Time{}, f)
}

func (d *datasets) serveIndex(w http.ResponseWriter, r *http.Request) {
	b, err := json.MarshalIndent(d.index(), "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b = append(b, '\n')
	sum := sha256.Sum256(b)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", fmt.Sprintf(`"%x"`, sum[:16]))
	if !zeroSuffixRanges(w, r, int64(len(b))) {
		return
	}
	http.ServeContent(w, r, "index.json", time.Time{}, bytes.NewReader(b))
}
