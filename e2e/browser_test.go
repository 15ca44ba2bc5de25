//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	webapp "github.com/goresnet/goresnet/app"
	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/datatest"
	"github.com/goresnet/goresnet/server"
)

// chromiumPath finds the browser: $GORESNET_CHROMIUM, else Debian's
// chromium or another Chrome on the PATH.
func chromiumPath() string {
	if p := os.Getenv("GORESNET_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// artifacts is the folder for screenshots.
func artifacts(t testing.TB) string {
	dir := os.Getenv("GORESNET_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	dir = filepath.Join(dir, "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// buildWeb builds app.wasm and worker.wasm as `make web` does (brotli at
// a quick quality) into a temporary folder, once for all the tests of the
// package (TestMain removes it).
func buildWeb(t testing.TB) string {
	t.Helper()
	webOnce.Do(func() {
		t0 := time.Now()
		webDir, webErr = buildWebDir(t)
		t.Logf("built the app in %v", time.Since(t0).Round(time.Millisecond))
	})
	if webErr != nil {
		t.Fatal(webErr)
	}
	return webDir
}

var (
	webOnce sync.Once
	webDir  string
	webErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if webDir != "" {
		os.RemoveAll(webDir)
	}
	os.Exit(code)
}

func buildWebDir(t testing.TB) (string, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	web, err := os.MkdirTemp("", "goresnet-web-")
	if err != nil {
		return "", err
	}
	run := func(env []string, name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		if len(out) > 0 {
			t.Logf("%s", out)
		}
		return nil
	}
	wasm := []string{"GOOS=js", "GOARCH=wasm"}
	if err := run(wasm, "go", "build", "-o", filepath.Join(web, "app.wasm"), "./wasm/app"); err != nil {
		return "", err
	}
	if err := run(wasm, "go", "build", "-o", filepath.Join(web, "worker.wasm"), "./worker"); err != nil {
		return "", err
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(web, "wasm_exec.js"), b, 0o644); err != nil {
		return "", err
	}
	addHookTest(t, root, web)
	if err := run(nil, "go", "run", "./internal/precompress", "-quality", "4",
		filepath.Join(web, "app.wasm"), filepath.Join(web, "worker.wasm"), filepath.Join(web, "wasm_exec.js")); err != nil {
		return "", err
	}
	return web, nil
}

// hookTest is a hook script as a kernel would add one (see
// worker/README.md): it adds an import module and, once worker.wasm is
// instantiated, reports what it saw.
const hookTest = `"use strict";
goresnetWorker.addWasmImports((go) => ({ goresnet_hooktest: { answer: () => 42 } }));
goresnetWorker.onInstance((instance, go) => {
  self.postMessage({
    type: "hooktest",
    merged: typeof go.importObject.goresnet_hooktest.answer === "function" && typeof go.importObject.gojs === "object",
    mem: instance.exports.mem instanceof WebAssembly.Memory,
  });
});
`

// addHookTest puts beside the build a copy of the worker bootstrap whose
// HOOK_SCRIPTS lists hooktest.js (the pool keeps the real bootstrap).
func addHookTest(t testing.TB, root, web string) {
	b, err := os.ReadFile(filepath.Join(root, "assets", "web", "worker.js"))
	if err != nil {
		t.Fatal(err)
	}
	const list = "const HOOK_SCRIPTS = ["
	if !strings.Contains(string(b), list) {
		t.Fatalf("worker.js has no %q", list)
	}
	js := strings.Replace(string(b), list, list+`"/web/hooktest.js",`, 1)
	if err := os.WriteFile(filepath.Join(web, "worker-hooktest.js"), []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(web, "hooktest.js"), []byte(hookTest), 0o644); err != nil {
		t.Fatal(err)
	}
}

// logWriter sends the server's log to the test log.
type logWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Logf("server: %s", strings.TrimRight(string(b), "\n"))
	}
	return len(b), nil
}

func (w *logWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

type browser struct {
	t    testing.TB
	ctx  context.Context
	base string
	shot string
}

// eval evaluates a JavaScript expression (awaiting a promise) into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate.
func (b *browser) waitFor(what, expr string, timeout time.Duration) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		b.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	// The whole page: the viewport grows to the page's height for the
	// shot (a "full" screenshot would leave the sticky status bar where
	// the viewport ended).
	size, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]int64]("[innerWidth, innerHeight, document.documentElement.scrollHeight]"))
	if err == nil && size[2] > size[1] {
		err = chromedp.Do(b.ctx, chromedp.EmulateViewport(size[0], size[2]))
		defer chromedp.Do(b.ctx, chromedp.ResetViewport())
	}
	var png []byte
	if err == nil {
		png, err = chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	}
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(b.shot, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Error(err)
	}
}

// pageReady is true once app.wasm has rendered the route's page (the
// prerendered HTML, or the cached "/" offline, shows other markers: the
// status bar's isolation state is "unknown" until the app runs).
func pageReady(path string) string {
	id := "home"
	if p := strings.SplitN(path, "?", 2)[0]; p != "/" {
		id = p[1:]
	}
	return fmt.Sprintf(`!!document.querySelector("#gr-page-%s") && document.querySelector("#gr-status-isolated")?.dataset.state === "yes"`, id)
}

const windowWidth, windowHeight = 1200, 900

const workersReady = `document.querySelector("#gr-status-workers")?.dataset.state === "ready"`

func TestBrowser(t *testing.T) {
	chromium := chromiumPath()
	if chromium == "" {
		t.Skip("skipped: Chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
	}
	web := buildWeb(t)
	digits := datatest.Digits(t, 300, 100, 32)
	manifest, err := os.ReadFile(filepath.Join(digits, data.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := data.ParseManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}

	logw := &logWriter{t: t}
	defer logw.stop()
	srv, err := server.New(server.Config{WebDir: web, Datasets: map[string]string{"digits": digits}, Debug: testing.Verbose(), Log: logw})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	srvCtx, stopServer := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(srvCtx, ln) }()
	defer stopServer()

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(windowWidth, windowHeight),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// Start the browser before anything else uses the context (two
	// first uses at once would both start one).
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	ctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	defer cancel()

	// The page's console, reported when the test fails.
	var consoleMu sync.Mutex
	var console []string
	go func() {
		for msg, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			consoleMu.Lock()
			console = append(console, msg.String())
			consoleMu.Unlock()
		}
	}()
	defer func() {
		if t.Failed() {
			consoleMu.Lock()
			t.Logf("browser console:\n%s", strings.Join(console, "\n"))
			consoleMu.Unlock()
		}
	}()

	b := &browser{t: t, ctx: ctx, base: base, shot: artifacts(t)}

	// Online: the app loads, is cross-origin isolated, and its workers
	// start and answer a ping with their kernel.
	t1 := time.Now()
	b.do(chromedp.Navigate(base + "/"))
	b.waitFor("the app", pageReady("/"), 60*time.Second)
	t.Logf("app loaded in %v", time.Since(t1).Round(time.Millisecond))
	if title := eval[string](b, "document.title"); title != webapp.Title {
		t.Errorf("title %q, want %q", title, webapp.Title)
	}
	if !eval[bool](b, "self.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function'") {
		t.Error("the page is not cross-origin isolated")
	}
	b.waitFor("the workers", workersReady, 90*time.Second)
	t.Logf("workers ready %v after navigation", time.Since(t1).Round(time.Millisecond))
	kernel := eval[string](b, `document.querySelector("#gr-status-workers").dataset.kernel`)
	status := eval[string](b, `document.querySelector("#gr-status-workers").textContent`)
	if kernel == "" || !strings.Contains(status, kernel) || !strings.Contains(status, "ready") {
		t.Errorf("worker status %q, kernel %q", status, kernel)
	}
	t.Logf("status bar: %s; %s", eval[string](b, `document.querySelector("#gr-status-isolated").textContent`), status)
	b.screenshot("home")

	// The worker protocol, spoken directly to a worker of our own (whose
	// bootstrap loads a hook script): the hook's imports are merged and it
	// sees the instance before Go runs, then ready, pong with the kernel,
	// an error answer to an unknown type (and the worker lives on).
	var replies []map[string]any
	raw := eval[string](b, `new Promise((resolve, reject) => {
		const w = new Worker("/web/worker-hooktest.js");
		const got = [];
		w.onmessage = (e) => {
			got.push(e.data);
			if (e.data.type === "ready") {
				w.postMessage({type: "nope", id: 1});
				w.postMessage({type: "ping", id: 2});
			}
			if (got.length === 4) { w.terminate(); resolve(JSON.stringify(got)); }
		};
		w.onerror = (e) => reject(String(e.message));
		setTimeout(() => reject("no answers in 60 s: " + JSON.stringify(got)), 60000);
	})`)
	if err := json.Unmarshal([]byte(raw), &replies); err != nil {
		t.Fatal(err)
	}
	byType := map[string]map[string]any{}
	for _, r := range replies {
		byType[r["type"].(string)] = r
	}
	if len(replies) != 4 || replies[0]["type"] != "hooktest" || replies[0]["merged"] != true || replies[0]["mem"] != true {
		t.Errorf("the hook: %v", replies)
	}
	if replies[1]["type"] != "ready" || replies[1]["kernel"] != kernel {
		t.Errorf("second message %v, want ready with kernel %s", replies[1], kernel)
	}
	if p := byType["pong"]; p == nil || p["id"] != 2.0 || p["kernel"] != kernel {
		t.Errorf("pong %v", p)
	}
	if e := byType["error"]; e == nil || e["id"] != 1.0 || !strings.Contains(fmt.Sprint(e["message"]), `unknown message type "nope"`) {
		t.Errorf("error answer %v", e)
	}

	// Response headers, seen by the page.
	type headers struct {
		Status     int    `json:"status"`
		COOP       string `json:"coop"`
		COEP       string `json:"coep"`
		CORP       string `json:"corp"`
		Type       string `json:"type"`
		Range      string `json:"range"`
		Length     int    `json:"length"`
		CacheUsage string `json:"cache"`
	}
	fetchHeaders := func(url, rangeHeader string) headers {
		opts := "{}"
		if rangeHeader != "" {
			opts = `{headers: {Range: "` + rangeHeader + `"}}`
		}
		s := eval[string](b, `fetch("`+url+`", `+opts+`).then(async (r) => JSON.stringify({
			status: r.status, coop: r.headers.get("cross-origin-opener-policy"), coep: r.headers.get("cross-origin-embedder-policy"),
			corp: r.headers.get("cross-origin-resource-policy"), type: r.headers.get("content-type"),
			range: r.headers.get("content-range"), length: (await r.arrayBuffer()).byteLength, cache: r.headers.get("cache-control")}))`)
		var h headers
		if err := json.Unmarshal([]byte(s), &h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	if h := fetchHeaders("/train", ""); h.COOP != "same-origin" || h.COEP != "require-corp" || h.CORP != "same-origin" {
		t.Errorf("page headers %+v", h)
	}
	if h := fetchHeaders("/web/worker.wasm", ""); h.Type != "application/wasm" || h.COEP != "require-corp" {
		t.Errorf("worker.wasm headers %+v", h)
	}
	shard := m.Splits[0].Shards[0]
	if h := fetchHeaders("/data/digits/"+shard.File, "bytes=16-1039"); h.Status != 206 || h.Length != 1024 || h.Range != fmt.Sprintf("bytes 16-1039/%d", shard.Bytes) {
		t.Errorf("shard range request: %+v", h)
	}
	if h := fetchHeaders("/data/digits/"+shard.File+"?sha256="+shard.SHA256, "bytes=0-9"); h.Status != 206 || !strings.Contains(h.CacheUsage, "immutable") {
		t.Errorf("content-addressed shard range request: %+v", h)
	}

	// The Data page lists the digits; choosing them shows the manifest.
	b.do(chromedp.Click("#gr-nav-data", chromedp.NodeVisible))
	b.waitFor("the dataset list", `!!document.querySelector('#gr-datasets tr[data-name="digits"] a')`, 30*time.Second)
	b.do(chromedp.Click(`#gr-datasets tr[data-name="digits"] a`, chromedp.NodeVisible))
	b.waitFor("the digits manifest", `document.querySelectorAll('#gr-manifest[data-name="digits"] #gr-classes li').length === 10`, 30*time.Second)
	if loc := eval[string](b, "location.pathname + location.search"); loc != "/data?name=digits" {
		t.Errorf("location %s", loc)
	}
	classes := eval[[]string](b, `[...document.querySelectorAll("#gr-classes li")].map((e) => e.textContent)`)
	if strings.Join(classes, ",") != "0,1,2,3,4,5,6,7,8,9" {
		t.Errorf("classes %v", classes)
	}
	splits := eval[string](b, `[...document.querySelectorAll("#gr-splits tbody tr")].map((e) => e.dataset.split + "=" + e.children[1].textContent).join(" ")`)
	if splits != "train=300 test=100" {
		t.Errorf("splits %q", splits)
	}
	b.screenshot("data")

	// Every page, through the app's navigation.
	for _, p := range webapp.Pages[2:] {
		b.do(chromedp.Click("#gr-nav-"+p.Path[1:], chromedp.NodeVisible))
		b.waitFor(p.Title, pageReady(p.Path), 30*time.Second)
		if h1 := eval[string](b, "document.querySelector('main h1').textContent"); h1 != p.Title {
			t.Errorf("%s: heading %q", p.Path, h1)
		}
		b.screenshot(p.Path[1:])
	}

	// Offline: wait until the service worker controls the page and has
	// cached the app, stop the server, and load every route again.
	b.waitFor("the service worker", `navigator.serviceWorker.controller !== null`, 60*time.Second)
	cached := eval[[]string](b, `caches.open("app-`+srv.Version+`").then((c) => c.keys()).then((ks) => ks.map((r) => new URL(r.url).pathname).sort())`)
	for _, want := range []string{"/", "/web/app.wasm", "/web/worker.wasm", "/web/worker.js", "/wasm_exec.js", "/app.js", "/web/icon-192.png"} {
		if !contains(cached, want) {
			t.Errorf("the service worker did not cache %s (it has %v)", want, cached)
		}
	}
	stopServer()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("server: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop")
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Fatal("the server still answers")
	}
	logw.stop()

	for i, p := range append([]string{"/", "/data?name=digits"}, pagePaths()[2:]...) {
		t2 := time.Now()
		b.do(chromedp.Navigate(base + p))
		b.waitFor(p+" offline", pageReady(p), 60*time.Second)
		if i == 0 {
			b.waitFor("the workers offline", workersReady, 90*time.Second)
			t.Logf("offline: app and workers ready in %v", time.Since(t2).Round(time.Millisecond))
			b.screenshot("offline-home")
		}
		if p == "/data?name=digits" {
			b.waitFor("the digits manifest offline", `document.querySelectorAll('#gr-classes li').length === 10 && !!document.querySelector('#gr-datasets tr[data-name="digits"]')`, 30*time.Second)
			b.waitFor("the workers offline", workersReady, 90*time.Second)
			b.screenshot("offline-data")
		}
		if h1 := eval[string](b, "document.querySelector('main h1').textContent"); p != "/" && !strings.HasPrefix(strings.ToLower(p[1:]), strings.ToLower(h1)) {
			t.Errorf("offline %s: heading %q", p, h1)
		}
	}
	if !eval[bool](b, "self.crossOriginIsolated === true") {
		t.Error("offline, the page is not cross-origin isolated")
	}
	t.Logf("screenshots in %s", b.shot)
}

func pagePaths() []string {
	var p []string
	for _, pg := range webapp.Pages {
		p = append(p, pg.Path)
	}
	return p
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
