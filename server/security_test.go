//go:build !js

package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/datatest"
)

// secret is the content of files placed just outside the server's roots:
// no response may ever contain it.
const secret = "TOP-SECRET-outside-the-roots"

// hostile is a server whose roots have neighbours and traps: a secret
// file beside the web folder, the data folder and the dataset; in the web
// folder a symbolic link to it; in dataset "evil" (a copy of the digits)
// a shard replaced by a link to a file outside the dataset (with the
// very same bytes, so that only the link gives it away) and an
// import-report.json that links to the secret.
type hostile struct {
	srv    *Server
	base   string // http://127.0.0.1:PORT
	top    string // the folder holding everything
	digits string // the built-in digits' folder
	shard  data.ShardInfo
	bytes  []byte // the shard's content
}

func startHostile(t *testing.T, cfg Config) *hostile {
	t.Helper()
	top := t.TempDir()
	writeSecret := func(p string) {
		if err := os.WriteFile(p, []byte(secret), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeSecret(filepath.Join(top, "secret.txt"))
	writeSecret(filepath.Join(top, "secret.json"))
	web := fakeWeb(t)
	if err := os.Symlink(filepath.Join(top, "secret.txt"), filepath.Join(web, "secret.js")); err != nil {
		t.Fatal(err)
	}
	writeSecret(filepath.Join(web, ".hidden.js"))
	digits := datatest.Digits(t, 40, 20, 32)
	dataDir := filepath.Join(top, "data")
	evil := filepath.Join(dataDir, "evil")
	if err := os.MkdirAll(evil, 0o755); err != nil {
		t.Fatal(err)
	}
	writeSecret(filepath.Join(dataDir, "secret.txt"))
	entries, err := os.ReadDir(digits)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(digits, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(evil, e.Name()), b, 0o644)
	}
	mb, _ := os.ReadFile(filepath.Join(digits, data.ManifestName))
	m, err := data.ParseManifest(mb)
	if err != nil {
		t.Fatal(err)
	}
	sh := m.Splits[0].Shards[0]
	shardBytes, _ := os.ReadFile(filepath.Join(digits, sh.File))
	outside := filepath.Join(top, "outside.shard")
	os.WriteFile(outside, shardBytes, 0o644)
	os.Remove(filepath.Join(evil, sh.File))
	if err := os.Symlink(outside, filepath.Join(evil, sh.File)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(evil, "import-report.json"))
	if err := os.Symlink(filepath.Join(top, "secret.json"), filepath.Join(evil, "import-report.json")); err != nil {
		t.Fatal(err)
	}
	// A dataset folder that is itself a link (a dataset kept elsewhere)
	// is served: that is how --data folders may point at big disks.
	if err := os.Symlink(digits, filepath.Join(dataDir, "linked")); err != nil {
		t.Fatal(err)
	}

	cfg.WebDir, cfg.DataDir = web, dataDir
	cfg.Datasets = map[string]string{"digits": digits}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &hostile{srv: s, base: "http://" + ln.Addr().String(), top: top, digits: digits, shard: sh, bytes: shardBytes}
}

// raw sends one request exactly as written (method and request target
// untouched by any client library) and reads the response.
func (h *hostile) raw(t *testing.T, method, target string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := method + " " + target + " HTTP/1.1\r\nHost: " + strings.TrimPrefix(h.base, "http://") + "\r\nConnection: close\r\n"
	for i := 0; i+1 < len(headers); i += 2 {
		req += headers[i] + ": " + headers[i+1] + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %q: %v", method, target, err)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("%s %q: body: %v", method, target, err)
	}
	return r, b
}

// TestOnlyFilesUnderTheRoots: request targets that try to leave the
// roots (.., encoded %2e%2e and %2f, backslashes, absolute paths and
// absolute-form targets, NUL bytes, links that point outside) never
// reach a file outside them: /web/ and /data/ answer 400 or 404, and the
// pages of the app (any other path) are the app's.
func TestOnlyFilesUnderTheRoots(t *testing.T) {
	h := startHostile(t, Config{})
	shard := h.shard.File
	for _, target := range []string{
		// ".." in every spelling, under /data/ and /web/.
		"/data/../secret.txt",
		"/data/../../secret.txt",
		"/data/digits/../../secret.txt",
		"/data/digits/../../../secret.txt",
		"/data/%2e%2e/secret.txt",
		"/data/%2E%2E/%2e%2e/secret.txt",
		"/data/digits/%2e%2e/%2e%2e/secret.txt",
		"/data/digits/..%2f..%2fsecret.txt",
		"/data/digits/%2e%2e%2f%2e%2e%2fsecret.txt",
		"/data/..%2fdata%2fsecret.txt",
		"/data/%252e%252e/secret.txt",
		"/data/digits/" + shard + "/../../secret.txt",
		"/web/../secret.txt",
		"/web/%2e%2e/%2e%2e/secret.txt",
		"/web/..%2f..%2fsecret.txt",
		"/web/.hidden.js",
		"/web/secret.js", // a link to the secret
		"/web/",
		"/web",
		// Backslashes (Windows separators).
		"/data/digits/..\\..\\secret.txt",
		"/data/digits/..%5c..%5csecret.txt",
		"/data/%5c..%5csecret.txt",
		"/web/..\\secret.txt",
		"/web/..%5csecret.txt",
		// Absolute paths, doubled slashes, absolute-form targets.
		"//secret.txt",
		"/data//secret.txt",
		"/data/digits//" + shard,
		"/data/digits/" + strings.ReplaceAll(h.top, "/", "%2f") + "%2fsecret.txt",
		"/data/" + h.top + "/secret.txt",
		"/web/" + h.top + "/secret.txt",
		"http://127.0.0.1/data/../secret.txt",
		"http://127.0.0.1/data/digits/%2e%2e/%2e%2e/secret.txt",
		// NUL bytes.
		"/data/digits/" + shard + "%00",
		"/data/digits/%00/../manifest.json",
		"/data/digits%00/manifest.json",
		"/web/app.wasm%00.js",
		"/web/%00",
		// Links inside a dataset that point outside it.
		"/data/evil/" + shard,
		"/data/evil/import-report.json",
		"/data/evil/../linked/manifest.json",
	} {
		r, b := h.raw(t, "GET", target)
		if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, h.bytes[:256]) {
			t.Errorf("GET %s: %d, and the body holds a file from outside the roots", target, r.StatusCode)
			continue
		}
		if r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 404 or 400", target, r.StatusCode)
		}
	}
	// Raw NUL bytes and backslashes in the request line itself.
	for _, target := range []string{"/data/digits/\x00", "/web/app.wasm\x00", "/data/digits\\..\\..\\secret.txt"} {
		r, b := h.raw(t, "GET", target)
		if bytes.Contains(b, []byte(secret)) || r.StatusCode == http.StatusOK {
			t.Errorf("GET %q: %d", target, r.StatusCode)
		}
	}
	// Any other path is go-app's: a page of the app, or a 404 for a path
	// that looks like a file it does not have; never a file from disk.
	for _, target := range []string{"/../secret.txt", "/%2e%2e/secret.txt", "/secret.txt", "/..%5csecret.txt", "/" + h.top + "/secret.txt", "/../data", "/%2e%2e/train"} {
		r, b := h.raw(t, "GET", target)
		page := r.StatusCode == http.StatusOK && strings.HasPrefix(r.Header.Get("Content-Type"), "text/html")
		if bytes.Contains(b, []byte(secret)) || !page && r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d %s", target, r.StatusCode, r.Header.Get("Content-Type"))
		}
	}
	// What is inside the roots is still served: the dataset behind the
	// linked folder, and evil's files that are not links.
	for _, target := range []string{"/data/linked/manifest.json", "/data/linked/" + shard, "/data/evil/manifest.json", "/data/digits/" + shard, "/web/app.wasm"} {
		if r, _ := h.raw(t, "GET", target); r.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", target, r.StatusCode)
		}
	}
}

// TestOnlyGetAndHead: every other method is 405 Method Not Allowed with
// Allow: GET, HEAD, on every kind of path; HEAD sends the headers and no
// body.
func TestOnlyGetAndHead(t *testing.T) {
	h := startHostile(t, Config{})
	paths := []string{"/", "/train", "/app.js", "/app-worker.js", "/manifest.webmanifest", "/wasm_exec.js", "/web/app.wasm", "/web/worker.js",
		"/data/", "/data/digits/manifest.json", "/data/digits/" + h.shard.File, "/data/nope/x", "/nope"}
	for _, p := range paths {
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "CONNECT"} {
			r, _ := h.raw(t, m, p, "Content-Length", "0")
			if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d, Allow %q", m, p, r.StatusCode, r.Header.Get("Allow"))
			}
		}
		get, gb := h.raw(t, "GET", p)
		head, hb := h.raw(t, "HEAD", p)
		if head.StatusCode != get.StatusCode || len(hb) != 0 {
			t.Errorf("HEAD %s: %d with %d bytes; GET: %d", p, head.StatusCode, len(hb), get.StatusCode)
		}
		if cl := head.Header.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(gb)) && get.Header.Get("Content-Encoding") == "" {
			t.Errorf("HEAD %s: Content-Length %s, GET sends %d bytes", p, cl, len(gb))
		}
	}
	// The server-wide "OPTIONS *" too.
	if r, _ := h.raw(t, "OPTIONS", "*"); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("OPTIONS *: %d", r.StatusCode)
	}
}

// TestRanges: Range requests on a shard (and on the app's files): single,
// open-ended, suffix, several at once (multipart/byteranges), and ranges
// that start past the end (416 with Content-Range bytes */SIZE).
func TestRanges(t *testing.T) {
	h := startHostile(t, Config{})
	file := h.bytes
	n := len(file)
	url := "/data/digits/" + h.shard.File
	for _, c := range []struct {
		rng  string
		from int
		to   int // exclusive
	}{
		{"bytes=0-0", 0, 1},
		{"bytes=16-1039", 16, 1040},
		{fmt.Sprintf("bytes=%d-", n-10), n - 10, n},
		{"bytes=-100", n - 100, n},
		{fmt.Sprintf("bytes=-%d", n+1000), 0, n},      // a suffix longer than the file: all of it
		{fmt.Sprintf("bytes=100-%d", n+5000), 100, n}, // an end past the end is cut
		{fmt.Sprintf("bytes=%d-%d", n-1, n-1), n - 1, n},
	} {
		r, b := h.raw(t, "GET", url, "Range", c.rng)
		want := fmt.Sprintf("bytes %d-%d/%d", c.from, c.to-1, n)
		if r.StatusCode != http.StatusPartialContent || r.Header.Get("Content-Range") != want || !bytes.Equal(b, file[c.from:c.to]) {
			t.Errorf("%s: %d %q (want %q), %d bytes", c.rng, r.StatusCode, r.Header.Get("Content-Range"), want, len(b))
		}
	}
	// Several ranges: a multipart/byteranges body with each part.
	r, b := h.raw(t, "GET", url, "Range", "bytes=0-9,100-199,-5")
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.StatusCode != http.StatusPartialContent || err != nil || mt != "multipart/byteranges" {
		t.Fatalf("multiple ranges: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(bytes.NewReader(b), params["boundary"])
	for _, want := range [][2]int{{0, 10}, {100, 200}, {n - 5, n}} {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(p)
		cr := fmt.Sprintf("bytes %d-%d/%d", want[0], want[1]-1, n)
		if p.Header.Get("Content-Range") != cr || p.Header.Get("Content-Type") != "application/octet-stream" || !bytes.Equal(got, file[want[0]:want[1]]) {
			t.Errorf("part %s: %q, %d bytes", cr, p.Header.Get("Content-Range"), len(got))
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("more parts than ranges: %v", err)
	}
	// A zero-length suffix beside other ranges is ignored.
	if r, b := h.raw(t, "GET", url, "Range", "bytes=-0, 5-9"); r.StatusCode != http.StatusPartialContent || r.Header.Get("Content-Range") != fmt.Sprintf("bytes 5-9/%d", n) || !bytes.Equal(b, file[5:10]) {
		t.Errorf("bytes=-0, 5-9: %d %q", r.StatusCode, r.Header.Get("Content-Range"))
	}
	// Unsatisfiable: every range starts at or past the end, or is a suffix
	// of length 0 (which net/http alone would answer 206 with an invalid
	// Content-Range: golang/go#81262).
	for _, rng := range []string{fmt.Sprintf("bytes=%d-", n), fmt.Sprintf("bytes=%d-%d", n+10, n+20), fmt.Sprintf("bytes=%d-,%d-", n, n+1), "bytes=-0", "bytes=-00, -0"} {
		r, b := h.raw(t, "GET", url, "Range", rng)
		if r.StatusCode != http.StatusRequestedRangeNotSatisfiable || r.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", n) || bytes.Contains(b, file[:64]) {
			t.Errorf("%s: %d %q, want 416 with bytes */%d", rng, r.StatusCode, r.Header.Get("Content-Range"), n)
		}
	}
	// Malformed ranges are refused (416) or ignored (200 and the whole
	// file), never misread. (Empty list elements, "bytes=0-1,,", are
	// allowed by HTTP's list syntax.)
	for _, rng := range []string{"bytes=abc", "bytes=10-5", "bytes=--5", "bytes=5", "items=0-5", "bytes=-"} {
		r, _ := h.raw(t, "GET", url, "Range", rng)
		if r.StatusCode != http.StatusRequestedRangeNotSatisfiable && r.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", rng, r.StatusCode)
		}
		if r.StatusCode == http.StatusOK && r.Header.Get("Content-Length") != fmt.Sprint(n) {
			t.Errorf("%s: 200 without the whole file", rng)
		}
	}
	// If-Range with a stale validator sends the whole file.
	if r, b := h.raw(t, "GET", url, "Range", "bytes=0-9", "If-Range", `"sha256:`+strings.Repeat("0", 64)+`"`); r.StatusCode != http.StatusOK || len(b) != n {
		t.Errorf("stale If-Range: %d, %d bytes", r.StatusCode, len(b))
	}
	// The app's files take ranges too (of the encoding sent).
	if r, b := h.raw(t, "GET", "/web/app.wasm", "Range", "bytes=-4"); r.StatusCode != http.StatusPartialContent || string(b) != "app " {
		t.Errorf("app.wasm suffix range: %d %q", r.StatusCode, b)
	}
}

// TestHeaders: the Content-Type of each kind of file, and the security
// headers on every response (errors included).
func TestHeaders(t *testing.T) {
	h := startHostile(t, Config{})
	for p, want := range map[string]string{
		"/web/app.wasm":                   "application/wasm",
		"/web/worker.wasm":                "application/wasm",
		"/web/worker.js":                  "text/javascript; charset=utf-8",
		"/web/gemm_hook.js":               "text/javascript; charset=utf-8",
		"/wasm_exec.js":                   "text/javascript; charset=utf-8",
		"/web/goresnet.css":               "text/css; charset=utf-8",
		"/web/icon.svg":                   "image/svg+xml",
		"/web/icon-192.png":               "image/png",
		"/data/":                          "application/json",
		"/data/digits/manifest.json":      "application/json",
		"/data/digits/" + h.shard.File:    "application/octet-stream",
		"/data/digits/import-report.json": "application/json",
		"/":                               "text/html",
		"/app.js":                         "text/javascript",
		"/app-worker.js":                  "text/javascript",
		"/manifest.webmanifest":           "application/manifest+json",
	} {
		r, _ := h.raw(t, "GET", p)
		if got := r.Header.Get("Content-Type"); r.StatusCode != 200 || !strings.HasPrefix(got, want) {
			t.Errorf("%s: %d, Content-Type %q, want %q", p, r.StatusCode, got, want)
		}
	}
	wantCSP := map[string][]string{
		"default-src":     {"'self'"},
		"script-src":      {"'self'", "'wasm-unsafe-eval'"},
		"worker-src":      {"'self'", "blob:"},
		"connect-src":     {"'self'", "blob:"},
		"img-src":         {"'self'", "blob:", "data:"},
		"media-src":       {"'self'", "blob:"},
		"style-src":       {"'self'"},
		"font-src":        {"'self'"},
		"manifest-src":    {"'self'"},
		"object-src":      {"'none'"},
		"base-uri":        {"'none'"},
		"form-action":     {"'self'"},
		"frame-ancestors": {"'none'"},
	}
	for _, p := range []string{"/", "/data", "/web/app.wasm", "/web/worker.js", "/app-worker.js", "/data/", "/data/digits/manifest.json", "/data/digits/" + h.shard.File, "/web/nope", "/data/nope/x", "/data/../x"} {
		for _, m := range []string{"GET", "POST"} {
			r, _ := h.raw(t, m, p)
			for k, v := range map[string]string{
				"Cross-Origin-Opener-Policy":   "same-origin",
				"Cross-Origin-Embedder-Policy": "require-corp",
				"Cross-Origin-Resource-Policy": "same-origin",
				"X-Content-Type-Options":       "nosniff",
				"Referrer-Policy":              "no-referrer",
			} {
				if got := r.Header.Get(k); got != v {
					t.Errorf("%s %s (%d): %s %q, want %q", m, p, r.StatusCode, k, got, v)
				}
			}
			got := map[string][]string{}
			for _, d := range strings.Split(r.Header.Get("Content-Security-Policy"), ";") {
				f := strings.Fields(d)
				if len(f) > 0 {
					got[f[0]] = f[1:]
				}
			}
			if len(got) != len(wantCSP) {
				t.Errorf("%s %s: CSP %q", m, p, r.Header.Get("Content-Security-Policy"))
			}
			for k, v := range wantCSP {
				if !slices.Equal(got[k], v) {
					t.Errorf("%s %s: CSP %s %v, want %v", m, p, k, got[k], v)
				}
			}
		}
	}
}

// TestClientLimits: a client that sends its headers too slowly, stays
// idle, or sends too large a header is cut off.
func TestClientLimits(t *testing.T) {
	h := startHostile(t, Config{ReadHeaderTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond, MaxHeaderBytes: 8 << 10})
	addr := strings.TrimPrefix(h.base, "http://")
	// closedWithin reads until the server closes the connection.
	closedWithin := func(what string, c net.Conn, d time.Duration) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(d))
		_, err := io.Copy(io.Discard, c)
		if err != nil {
			t.Errorf("%s: the server did not close the connection within %v: %v", what, d, err)
		}
	}
	// Slow headers (slowloris): half a request line, then nothing.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /web/app.wasm HTTP/1.1\r\nHost: x\r\n")
	t0 := time.Now()
	closedWithin("slow headers", c, 3*time.Second)
	t.Logf("slow headers cut after %v", time.Since(t0).Round(time.Millisecond))
	c.Close()
	// Idle keep-alive connection.
	c, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /web/worker.wasm HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	r, err := http.ReadResponse(br, nil)
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("keep-alive request: %v", err)
	}
	io.Copy(io.Discard, r.Body)
	t0 = time.Now()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("idle connection: %v, want EOF from the server", err)
	}
	t.Logf("idle connection closed after %v", time.Since(t0).Round(time.Millisecond))
	c.Close()
	// Too large a header: 431.
	r2, _ := h.raw(t, "GET", "/", "X-Big", strings.Repeat("a", 32<<10))
	if r2.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 32 KiB header: %d, want 431", r2.StatusCode)
	}
	// The defaults.
	srv := h.srv
	srv.cfg = Config{}
	d := srv.httpServer(context.Background())
	if d.ReadHeaderTimeout != ReadHeaderTimeout || d.IdleTimeout != IdleTimeout || d.MaxHeaderBytes != MaxHeaderBytes || d.WriteTimeout != 0 || !d.DisableGeneralOptionsHandler {
		t.Errorf("default limits: %v %v %v %v", d.ReadHeaderTimeout, d.IdleTimeout, d.MaxHeaderBytes, d.WriteTimeout)
	}
}
