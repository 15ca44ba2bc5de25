package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	webapp "github.com/goresnet/goresnet/app"
	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/datatest"
)

// fakeWeb makes a web folder with stand-ins for the built files and their
// compressed forms.
func fakeWeb(t *testing.T) string {
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	app := bytes.Repeat([]byte("\x00asm app "), 1000)
	write("app.wasm", app)
	var br bytes.Buffer
	bw := brotli.NewWriter(&br)
	bw.Write(app)
	bw.Close()
	write("app.wasm.br", br.Bytes())
	var gz bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(app)
	gw.Close()
	write("app.wasm.gz", gz.Bytes())
	write("worker.wasm", []byte("\x00asm worker"))
	write("wasm_exec.js", []byte("// the toolchain's wasm_exec.js\n"))
	return dir
}

// testServer serves a fake build and a small digits dataset (under a data
// folder as "mnist" and as the built-in "digits").
func testServer(t *testing.T, debug io.Writer) (*Server, string) {
	digits := datatest.Digits(t, 40, 20, 32)
	dataDir := t.TempDir()
	if err := os.Symlink(digits, filepath.Join(dataDir, "mnist")); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dataDir, "not-a-dataset"), 0o755)
	cfg := Config{WebDir: fakeWeb(t), DataDir: dataDir, Datasets: map[string]string{"digits": digits, "missing": filepath.Join(dataDir, "nope")}, Log: io.Discard}
	if debug != nil {
		cfg.Debug, cfg.Log = true, debug
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, digits
}

func get(t *testing.T, h http.Handler, path string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

func body(t *testing.T, r *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIsolationHeaders(t *testing.T) {
	s, _ := testServer(t, nil)
	for _, p := range []string{"/", "/data", "/train?x=1", "/web/app.wasm", "/web/worker.js", "/app.js", "/app-worker.js", "/manifest.webmanifest", "/wasm_exec.js", "/data/", "/data/digits/manifest.json", "/web/nope", "/nope"} {
		r := get(t, s, p)
		for k, v := range map[string]string{
			"Cross-Origin-Opener-Policy":   "same-origin",
			"Cross-Origin-Embedder-Policy": "require-corp",
			"Cross-Origin-Resource-Policy": "same-origin",
			"X-Content-Type-Options":       "nosniff",
		} {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s: %s is %q, want %q", p, k, got, v)
			}
		}
	}
}

func TestPrecompressedWasm(t *testing.T) {
	s, _ := testServer(t, nil)
	raw := s.static.get("/web/app.wasm").raw
	for _, c := range []struct{ accept, enc string }{
		{"gzip, deflate, br, zstd", "br"},
		{"gzip", "gzip"},
		{"br;q=0, gzip;q=0.5", "gzip"},
		{"*", "br"},
		{"", ""},
		{"identity", ""},
	} {
		r := get(t, s, "/web/app.wasm", "Accept-Encoding", c.accept)
		b := body(t, r)
		if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/wasm" || r.Header.Get("Content-Encoding") != c.enc {
			t.Fatalf("Accept-Encoding %q: %d %q %q", c.accept, r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"))
		}
		var got []byte
		switch c.enc {
		case "br":
			got, _ = io.ReadAll(brotli.NewReader(bytes.NewReader(b)))
		case "gzip":
			zr, _ := gzip.NewReader(bytes.NewReader(b))
			got, _ = io.ReadAll(zr)
		default:
			got = b
		}
		if !bytes.Equal(got, raw) {
			t.Fatalf("Accept-Encoding %q: the body does not decode to app.wasm", c.accept)
		}
		if !strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") || r.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("headers %v", r.Header)
		}
		tag := r.Header.Get("ETag")
		if r2 := get(t, s, "/web/app.wasm", "Accept-Encoding", c.accept, "If-None-Match", tag); r2.StatusCode != http.StatusNotModified {
			t.Fatalf("revalidating %s: %d", tag, r2.StatusCode)
		}
	}
	// A file without compressed forms, and the go-app alias /app.wasm.
	if r := get(t, s, "/web/worker.wasm", "Accept-Encoding", "br"); r.Header.Get("Content-Encoding") != "" || string(body(t, r)) != "\x00asm worker" || r.Header.Get("Content-Type") != "application/wasm" {
		t.Fatal("worker.wasm")
	}
	if r := get(t, s, "/app.wasm"); r.StatusCode != 200 || !bytes.Equal(body(t, r), raw) {
		t.Fatalf("/app.wasm: %d", r.StatusCode)
	}
}

func TestStaleCompressedIgnored(t *testing.T) {
	dir := fakeWeb(t)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(dir, "app.wasm.br"), old, old)
	s, err := New(Config{WebDir: dir, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if r := get(t, s, "/web/app.wasm", "Accept-Encoding", "br, gzip"); r.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("a .br older than its file was served (encoding %q)", r.Header.Get("Content-Encoding"))
	}
}

func TestNotBuilt(t *testing.T) {
	_, err := New(Config{WebDir: t.TempDir(), Log: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "make web") {
		t.Fatalf("error %v", err)
	}
}

// remote matches an address on another host ("https:///" is go-app's
// og:url without a Domain).
var remote = regexp.MustCompile(`https?://[^/"\s]+`)

func TestAppHandler(t *testing.T) {
	s, _ := testServer(t, nil)
	r := get(t, s, "/")
	page := string(body(t, r))
	if r.StatusCode != 200 || !strings.Contains(page, "<title>"+webapp.Title+"</title>") || r.Header.Get("ETag") != `"`+s.Version+`"` {
		t.Fatalf("/: %d ETag %q\n%s", r.StatusCode, r.Header.Get("ETag"), page)
	}
	if !strings.Contains(page, "Train a ResNet in your browser") || !strings.Contains(page, "/web/goresnet.css") {
		t.Fatalf("/ is not prerendered:\n%s", page)
	}
	// Every route is a page (not a redirect to /data/ for the Data page).
	for _, p := range webapp.Pages {
		if r := get(t, s, p.Path); r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s: %d %s", p.Path, r.StatusCode, r.Header.Get("Content-Type"))
		}
	}
	if r := get(t, s, "/data"); !strings.Contains(string(body(t, r)), "Datasets on this server") {
		t.Fatal("/data is not the Data page")
	}
	// Nothing remote: the default go-app icons would break offline use.
	for _, p := range []string{"/", "/manifest.webmanifest", "/app-worker.js", "/app.js"} {
		if b := string(body(t, get(t, s, p))); remote.MatchString(b) {
			t.Errorf("%s refers to a remote file: %s", p, remote.FindString(b))
		}
	}
	var man struct {
		Name  string `json:"name"`
		Icons []struct {
			Src, Sizes string
		} `json:"icons"`
	}
	if err := json.Unmarshal(body(t, get(t, s, "/manifest.webmanifest")), &man); err != nil || man.Name != webapp.Name || len(man.Icons) == 0 {
		t.Fatalf("manifest %+v %v", man, err)
	}
	for _, ic := range man.Icons {
		if r := get(t, s, ic.Src); r.StatusCode != 200 {
			t.Errorf("icon %s: %d", ic.Src, r.StatusCode)
		}
	}
	sw := string(body(t, get(t, s, "/app-worker.js")))
	for _, want := range []string{`"app-" + "` + s.Version + `"`, `"/web/worker.js"`, `"/web/worker.wasm"`, `"/web/app.wasm"`, `"/wasm_exec.js"`, `"/web/icon-512.png"`, `"/"`, `req.mode === "navigate"`} {
		if !strings.Contains(sw, want) {
			t.Errorf("the service worker lacks %s", want)
		}
	}
	appJS := string(body(t, get(t, s, "/app.js")))
	if !strings.Contains(appJS, `goappWasmContentLength = "9000"`) {
		t.Errorf("app.js does not set WasmContentLength to app.wasm's size")
	}
	if r := get(t, s, "/wasm_exec.js"); string(body(t, r)) != "// the toolchain's wasm_exec.js\n" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") {
		t.Fatal("/wasm_exec.js is not the web folder's")
	}
	if r := get(t, s, "/web/worker.js"); r.StatusCode != 200 || !strings.Contains(string(body(t, r)), "addWasmImports") {
		t.Fatal("worker.js")
	}
}

func TestVersionFollowsFiles(t *testing.T) {
	dir := fakeWeb(t)
	a, err := New(Config{WebDir: dir, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(Config{WebDir: dir, Log: io.Discard})
	os.WriteFile(filepath.Join(dir, "worker.wasm"), []byte("\x00asm worker 2"), 0o644)
	c, _ := New(Config{WebDir: dir, Log: io.Discard})
	if a.Version != b.Version || a.Version == c.Version || len(a.Version) != 20 {
		t.Fatalf("versions %s %s %s", a.Version, b.Version, c.Version)
	}
}

func TestDatasets(t *testing.T) {
	s, digits := testServer(t, nil)
	var idx webapp.DatasetIndex
	r := get(t, s, "/data/")
	if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("index headers %v", r.Header)
	}
	if err := json.Unmarshal(body(t, r), &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Datasets) != 2 || idx.Datasets[0].Name != "digits" || idx.Datasets[1].Name != "mnist" {
		t.Fatalf("index %+v", idx)
	}
	d := idx.Datasets[0]
	if d.URL != "/data/digits/" || d.Classes != 10 || len(d.Splits) != 2 || d.Splits[0] != (webapp.SplitSummary{Name: "train", Count: 40}) || d.Image.Height != 32 || d.Bytes <= 0 {
		t.Fatalf("digits %+v", d)
	}

	r = get(t, s, "/data/digits/manifest.json")
	mb := body(t, r)
	m, err := data.ParseManifest(mb)
	if err != nil || r.Header.Get("Cache-Control") != "no-cache" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("manifest: %v %v", err, r.Header)
	}
	if r2 := get(t, s, "/data/digits/manifest.json", "If-None-Match", r.Header.Get("ETag")); r2.StatusCode != http.StatusNotModified {
		t.Fatalf("manifest revalidation: %d", r2.StatusCode)
	}

	sh := m.Splits[0].Shards[0]
	file, _ := os.ReadFile(filepath.Join(digits, sh.File))
	r = get(t, s, "/data/digits/"+sh.File, "Range", "bytes=100-355")
	if b := body(t, r); r.StatusCode != http.StatusPartialContent || !bytes.Equal(b, file[100:356]) || r.Header.Get("Content-Range") == "" {
		t.Fatalf("range: %d %q, %d bytes", r.StatusCode, r.Header.Get("Content-Range"), len(b))
	}
	if r.Header.Get("ETag") != `"sha256:`+sh.SHA256+`"` || r.Header.Get("Cache-Control") != "no-cache" || r.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("shard headers %v", r.Header)
	}
	r = get(t, s, "/data/digits/"+sh.File+"?sha256="+sh.SHA256)
	if b := body(t, r); r.StatusCode != 200 || !bytes.Equal(b, file) || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("content-addressed shard: %d %v", r.StatusCode, r.Header)
	}
	if r := get(t, s, "/data/digits/"+sh.File, "If-None-Match", `"sha256:`+sh.SHA256+`"`); r.StatusCode != http.StatusNotModified {
		t.Fatalf("shard revalidation: %d", r.StatusCode)
	}
	for _, p := range []string{
		"/data/digits/" + sh.File + "?sha256=" + strings.Repeat("0", 64),
		"/data/digits/other.shard",
		"/data/digits/../mnist/manifest.json",
		"/data/digits/",
		"/data/digits",
		"/data/nope/manifest.json",
		"/data/missing/manifest.json",
		"/data/not-a-dataset/manifest.json",
		"/data/.hidden/manifest.json",
	} {
		if r := get(t, s, p); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, r.StatusCode)
		}
	}
	if r := get(t, s, "/data/digits/import-report.json"); r.StatusCode != 200 {
		t.Errorf("import report: %d", r.StatusCode)
	}
	req := httptest.NewRequest(http.MethodPost, "/data/", nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /data/: %d", w.Code)
	}
}

func TestDebugLog(t *testing.T) {
	var logBuf bytes.Buffer
	s, _ := testServer(t, &logBuf)
	logBuf.Reset()
	get(t, s, "/web/app.wasm", "Accept-Encoding", "br")
	get(t, s, "/data/digits/manifest.json", "Range", "bytes=0-9")
	lines := strings.Split(strings.TrimSpace(logBuf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "GET /web/app.wasm 200") || !strings.Contains(lines[0], " br ") || !strings.Contains(lines[1], "206 10B range=bytes=0-9") {
		t.Fatalf("log:\n%s", logBuf.String())
	}
}

func TestServeShutsDown(t *testing.T) {
	s, _ := testServer(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/data/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
		t.Fatal("still serving")
	}
}
