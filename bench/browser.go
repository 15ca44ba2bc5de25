package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/weights"
	"github.com/goresnet/goresnet/server"
)

// chromiumPath finds the browser as the e2e test does: $GORESNET_CHROMIUM,
// else Debian's chromium or another Chrome on the PATH.
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

func (h *harness) ensureChromium() (string, error) {
	if p := chromiumPath(); p != "" {
		return p, nil
	}
	if why := h.cannotApt(); why != "" {
		return "", fmt.Errorf("Chromium is not installed; %s (apt-get install -y chromium)", why)
	}
	if err := h.apt("chromium"); err != nil {
		return "", err
	}
	if p := chromiumPath(); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("apt-get installed chromium, but no chromium is on the PATH")
}

// ensureJS installs the JavaScript peers with npm ci (bench/js) unless
// node_modules is up to date with package-lock.json.
func (h *harness) ensureJS() error {
	dir := filepath.Join(h.root, "bench", "js")
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return err
	}
	if st, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !st.ModTime().Before(lock.ModTime()) {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm is not installed (Debian: apt-get install -y npm), so the JavaScript peers cannot be installed")
	}
	h.logf("npm ci in bench/js")
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = h.log, h.log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci in bench/js: %v", err)
	}
	h.installed = append(h.installed, "npm ci in bench/js (@tensorflow/tfjs, @tensorflow/tfjs-backend-wasm, onnxruntime-web)")
	return nil
}

// exportONNX writes a freshly initialised ResNet-50 as safetensors, then
// has our CLI export it as ONNX (the file onnxruntime-web runs).
func (h *harness) exportONNX(dir string) (string, error) {
	net, err := resnet.New(resnet.DefaultConfig())
	if err != nil {
		return "", err
	}
	w := filepath.Join(dir, "resnet50.safetensors")
	if err := weights.SaveNet(net, w, nil); err != nil {
		return "", err
	}
	cli := h.cli
	if _, err := os.Stat(cli); err != nil {
		cli = filepath.Join(dir, "goresnet")
		h.logf("go build -o %s .", cli)
		build := exec.Command("go", "build", "-o", cli, ".")
		build.Dir, build.Env, build.Stderr = h.root, goEnv(), h.log
		if err := build.Run(); err != nil {
			return "", fmt.Errorf("building the CLI: %v", err)
		}
	}
	out := filepath.Join(dir, "resnet50.onnx")
	args := []string{"export", "--weights", w, "--format", "onnx", "--out", out}
	h.logf("%s %s", cli, strings.Join(args, " "))
	cmd := exec.Command(cli, args...)
	cmd.Stdout, cmd.Stderr = h.log, h.log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("goresnet export: %v", err)
	}
	return out, nil
}

// benchFiles serves the bench pages (/bench/page/), the JavaScript peers
// (/bench/js/ from bench/js/node_modules) and the exported ONNX file
// (/bench/model.onnx), with the same isolation headers as our server.
type benchFiles struct {
	pages, modules, onnx string
}

func (b benchFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Embedder-Policy", "require-corp")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	p := r.URL.Path
	if os.Getenv("BENCH_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "bench: GET %s\n", p)
	}
	var file string
	switch {
	case p == "/bench/model.onnx" && b.onnx != "":
		file = b.onnx
	case strings.HasPrefix(p, "/bench/page/"):
		file = filepath.Join(b.pages, filepath.FromSlash(strings.TrimPrefix(p, "/bench/page/")))
	case strings.HasPrefix(p, "/bench/js/"):
		file = filepath.Join(b.modules, filepath.FromSlash(strings.TrimPrefix(p, "/bench/js/")))
	}
	if file == "" || strings.Contains(p, "..") {
		http.NotFound(w, r)
		return
	}
	switch filepath.Ext(file) {
	case ".mjs", ".js":
		hd.Set("Content-Type", "text/javascript; charset=utf-8")
	case ".wasm":
		hd.Set("Content-Type", "application/wasm")
	default:
		if t := mime.TypeByExtension(filepath.Ext(file)); t != "" {
			hd.Set("Content-Type", t)
		}
	}
	http.ServeFile(w, r, file)
}

// browserRun is a headless Chromium and our server (with the bench files)
// on a loopback port.
type browserRun struct {
	h       *harness
	base    string
	ctx     context.Context // the browser
	version string

	mu      sync.Mutex
	console []string
}

func (h *harness) startBrowser(ctx context.Context, chromium, onnx string) (*browserRun, func(), error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	srv, err := server.New(server.Config{WebDir: h.web, Log: io.Discard})
	if err != nil {
		return nil, stop, err
	}
	files := benchFiles{pages: filepath.Join(h.root, "bench", "web"), modules: filepath.Join(h.root, "bench", "js", "node_modules"), onnx: onnx}
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/bench/") {
			files.ServeHTTP(w, r)
			return
		}
		srv.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, stop, err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	stops = append(stops, func() { hs.Close() })

	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(filepath.Join(h.tmp, "chromium")),
		chromedp.WindowSize(1200, 900),
	)
	stops = append(stops, cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	stops = append(stops, cancelBrowser)
	if err := chromedp.Do(bctx); err != nil {
		return nil, stop, fmt.Errorf("starting %s: %v", chromium, err)
	}
	b := &browserRun{h: h, base: "http://" + ln.Addr().String(), ctx: bctx}
	return b, stop, nil
}

// tab opens a new browser context (its own cache, storage and service
// workers: a cold start) with one tab, and collects its console.
func (b *browserRun) tab(timeout time.Duration) (context.Context, func()) {
	tctx, cancelTab := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	ctx, cancel := context.WithTimeout(tctx, timeout)
	b.mu.Lock()
	b.console = nil
	b.mu.Unlock()
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m.String())
			b.mu.Unlock()
		}
	}()
	return ctx, func() { cancel(); cancelTab() }
}

// consoleTail is the last console lines, for error reports.
func (b *browserRun) consoleTail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.console
	if len(c) > 5 {
		c = c[len(c)-5:]
	}
	return strings.Join(c, " / ")
}

// run loads a bench page in a fresh tab and evaluates expr (a promise of
// a JSON string) into v.
func (b *browserRun) run(page, expr string, timeout time.Duration, v any) error {
	ctx, done := b.tab(timeout)
	defer done()
	b.h.logf("browser: %s: %s", page, expr)
	if err := chromedp.Do(ctx, chromedp.Navigate(b.base+page)); err != nil {
		return fmt.Errorf("loading %s: %v", page, err)
	}
	if b.version == "" {
		if ua, err := chromedp.Run(ctx, chromedp.Evaluate[string]("navigator.userAgent")); err == nil {
			b.version = chromiumVersion(ua)
		}
	}
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		if tail := b.consoleTail(); tail != "" {
			err = fmt.Errorf("%v (console: %s)", err, tail)
		}
		return fmt.Errorf("%s: %v", page, err)
	}
	b.h.log.Write([]byte(s + "\n"))
	return json.Unmarshal([]byte(s), v)
}

// chromiumVersion turns a user agent into "Chromium 156".
func chromiumVersion(ua string) string {
	for _, f := range strings.Fields(ua) {
		if v, ok := strings.CutPrefix(f, "HeadlessChrome/"); ok {
			return "Chromium " + strings.SplitN(v, ".", 2)[0]
		}
		if v, ok := strings.CutPrefix(f, "Chrome/"); ok {
			return "Chromium " + strings.SplitN(v, ".", 2)[0]
		}
	}
	return "Chromium"
}

// where is the "where" cell of browser rows.
func (b *browserRun) where() string {
	if b.version == "" {
		return "Chromium (headless)"
	}
	return b.version + " (headless)"
}

// appLoad loads the app cold (a new browser context: no cache, no
// service worker) and times, from the navigation's start, the first
// rendering of the home page by app.wasm, then the worker pool's ready.
func (b *browserRun) appLoad(runs int) (shown, ready []float64, err error) {
	const pageShown = `!!document.querySelector("#gr-page-home") && document.querySelector("#gr-status-isolated")?.dataset.state === "yes"`
	const workersReady = `document.querySelector("#gr-status-workers")?.dataset.state === "ready"`
	for i := 0; i < runs; i++ {
		err := func() error {
			ctx, done := b.tab(3 * time.Minute)
			defer done()
			if err := chromedp.Do(ctx, chromedp.Navigate(b.base+"/")); err != nil {
				return err
			}
			poll := func(cond string) (float64, error) {
				return chromedp.Run(ctx, chromedp.Poll[float64]("("+cond+") && performance.now()",
					chromedp.WithPollingInterval(5*time.Millisecond), chromedp.WithPollingTimeout(2*time.Minute)))
			}
			s, err := poll(pageShown)
			if err != nil {
				return fmt.Errorf("waiting for the app: %v", err)
			}
			r, err := poll(workersReady)
			if err != nil {
				return fmt.Errorf("waiting for the workers: %v", err)
			}
			if b.version == "" {
				if ua, err := chromedp.Run(ctx, chromedp.Evaluate[string]("navigator.userAgent")); err == nil {
					b.version = chromiumVersion(ua)
				}
			}
			b.h.logf("app load %d: shown at %.0f ms, workers ready at %.0f ms", i, s, r)
			if i >= b.h.warmup {
				shown, ready = append(shown, s), append(ready, r)
			}
			return nil
		}()
		if err != nil {
			if tail := b.consoleTail(); tail != "" {
				err = fmt.Errorf("%v (console: %s)", err, tail)
			}
			return nil, nil, err
		}
	}
	return shown, ready, nil
}

type oursResult struct {
	Kernel  string  `json:"kernel"`
	SetupMS float64 `json:"setupMs"`
	ActMiB  float64 `json:"actMiB"`
	Modes   map[string]struct {
		RoundMS []float64   `json:"roundMs"`
		GoMS    [][]float64 `json:"goMs"`
	} `json:"modes"`
}

type tfjsResult struct {
	Backend     string    `json:"backend"`
	Version     string    `json:"version"`
	SIMD        bool      `json:"simd"`
	Multithread bool      `json:"multithread"`
	Threads     int       `json:"threads"`
	Isolated    bool      `json:"isolated"`
	Params      int       `json:"params"`
	ForwardMS   []float64 `json:"forwardMs"`
	TrainMS     []float64 `json:"trainMs"`
	TrainError  string    `json:"trainError"`
}

type ortResult struct {
	Version   string    `json:"version"`
	Threads   int       `json:"threads"`
	Isolated  bool      `json:"isolated"`
	Training  string    `json:"training"`
	ForwardMS []float64 `json:"forwardMs"`
}
