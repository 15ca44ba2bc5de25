package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/datatest"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// render returns a component's HTML, rendered by go-app's test engine
// (as the server's prerendering does).
func render(t *testing.T, c app.Composer) string {
	t.Helper()
	return app.HTMLString(c)
}

// TestEngineLoads mounts each page in go-app's test engine.
func TestEngineLoads(t *testing.T) {
	for _, c := range []app.Composer{&Home{}, &DataPage{}, &ModelPage{}, &TrainPage{}, &EvaluatePage{}, &PredictPage{}, &ExportPage{}} {
		e := app.NewTestEngine()
		if err := e.Load(c); err != nil {
			t.Fatal(err)
		}
		e.ConsumeAll()
		if err := app.Match(app.Div().Class("gr-shell"), c, 0); err != nil {
			t.Errorf("%T: %v", c, err)
		}
	}
}

func mustContain(t *testing.T, html string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(html, w) {
			t.Errorf("the HTML lacks %q:\n%s", w, html)
		}
	}
}

func TestPagesRender(t *testing.T) {
	pages := map[string]app.Composer{
		"/": &Home{}, "/data": &DataPage{}, "/model": &ModelPage{}, "/train": &TrainPage{},
		"/evaluate": &EvaluatePage{}, "/predict": &PredictPage{}, "/export": &ExportPage{},
	}
	if len(pages) != len(Pages) {
		t.Fatalf("%d pages tested, %d routes", len(pages), len(Pages))
	}
	for _, p := range Pages {
		c := pages[p.Path]
		html := render(t, c)
		mustContain(t, html,
			`id="gr-page-`+pageID(p.Path)+`"`,
			`id="gr-nav-`+pageID(p.Path)+`"`, `class="gr-current"`, `aria-current="page"`,
			`id="gr-status-isolated"`, `data-state="unknown"`, `id="gr-status-workers"`,
		)
		if p.Path != "/" {
			mustContain(t, html, "<h1>"+p.Title+"</h1>")
		}
		noInlineStyle(t, html)
		if strings.Contains(html, "being built") {
			t.Errorf("%s still says it is being built", p.Path)
		}
		if strings.Contains(strings.ToUpper(html), "TODO") {
			t.Errorf("%s says TODO", p.Path)
		}
	}
}

func TestRoutes(t *testing.T) {
	Routes()
	Routes() // twice is harmless
}

func TestDataPage(t *testing.T) {
	p := &DataPage{}
	mustContain(t, render(t, p), `id="gr-datasets-loading"`)

	p = &DataPage{}
	p.setIndex(nil, errors.New("offline"))
	mustContain(t, render(t, p), `id="gr-datasets-error"`, "offline")

	p = &DataPage{}
	p.setIndex(&DatasetIndex{}, nil)
	mustContain(t, render(t, p), `id="gr-datasets-empty"`, "make data/digits")

	dir := datatest.Digits(t, 30, 12, 32)
	b, err := os.ReadFile(filepath.Join(dir, data.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := data.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	p = &DataPage{name: "digits"}
	p.setIndex(&DatasetIndex{Datasets: []DatasetSummary{Summarize(m, "digits", "/data/digits/")}}, nil)
	html := render(t, p)
	mustContain(t, html, `class="gr-chosen"`, `data-name="digits"`, `href="/data?name=digits"`, "train 30, test 12", "32×32 RGB", "Reading its manifest")

	p.setManifest("other", m, nil) // an answer for another dataset is dropped
	if p.manifest != nil {
		t.Fatal("kept a manifest for a dataset not chosen")
	}
	p.setManifest("digits", m, nil)
	html = render(t, p)
	mustContain(t, html, `id="gr-manifest"`, "10 classes", `<li>7</li>`, `<tr data-split="train">`, `<td class="gr-num">30</td>`)

	p = &DataPage{name: "digits"}
	p.setManifest("digits", nil, errors.New("404 Not Found"))
	mustContain(t, render(t, p), "Could not read its manifest: 404 Not Found")
}

func TestHTTPFetcher(t *testing.T) {
	dir := datatest.Digits(t, 10, 5, 32)
	manifest, err := os.ReadFile(filepath.Join(dir, data.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := data.ParseManifest(manifest)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/data/":
			json.NewEncoder(w).Encode(DatasetIndex{Datasets: []DatasetSummary{Summarize(m, "digits", "/data/digits/")}})
		case "/data/digits/manifest.json":
			w.Write(manifest)
		case "/data/bad/manifest.json":
			w.Write([]byte(`{"format":"something else"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	f := &HTTPFetcher{Base: srv.URL + "/somewhere/"}
	ctx := context.Background()
	idx, err := f.Index(ctx)
	if err != nil || len(idx.Datasets) != 1 || idx.Datasets[0].Classes != 10 || idx.Datasets[0].Splits[1].Count != 5 {
		t.Fatalf("index %+v, %v", idx, err)
	}
	got, err := f.Manifest(ctx, "digits")
	if err != nil || got.Name != "digits" || len(got.Classes) != 10 {
		t.Fatalf("manifest %v", err)
	}
	if _, err := f.Manifest(ctx, "bad"); err == nil {
		t.Error("an invalid manifest: no error")
	}
	if _, err := f.Manifest(ctx, "missing"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a missing dataset: %v", err)
	}
	if _, err := f.Manifest(ctx, "../etc"); err == nil {
		t.Error("a bad name: no error")
	}
}

func TestWorkerStatus(t *testing.T) {
	for _, c := range []struct {
		s     WorkerStatus
		ready bool
		text  string
	}{
		{WorkerStatus{}, false, "workers: not started"},
		{WorkerStatus{Size: 2, Ready: 1, Kernel: "k"}, false, "workers: 1 of 2 ready"},
		{WorkerStatus{Size: 2, Ready: 2, Kernel: "k"}, true, "workers: 2 ready (k)"},
		{WorkerStatus{Size: 2, Ready: 2, Kernel: "k", Err: "worker 1: boom"}, false, "workers: worker 1: boom"},
	} {
		if c.s.AllReady() != c.ready || c.s.String() != c.text {
			t.Errorf("%+v: %v %q", c.s, c.s.AllReady(), c.s.String())
		}
	}
	s := &StatusBar{checked: true, isolated: true, workers: WorkerStatus{Size: 2, Ready: 2, Kernel: "f32_test"}}
	mustContain(t, render(t, s), `data-state="yes"`, "cross-origin isolated", `data-state="ready"`, `data-kernel="f32_test"`, "workers: 2 ready (f32_test)")
	if strings.Contains(render(t, s), "gr-update") {
		t.Error("an update is offered with none available")
	}
	s.update = true
	mustContain(t, render(t, s), `id="gr-update"`, "A new version is ready")
	s = &StatusBar{checked: true, workers: WorkerStatus{Size: 1, Err: "worker 0: could not start"}}
	mustContain(t, render(t, s), `data-state="no"`, "SharedArrayBuffer is unavailable", `data-state="error"`, "could not start")
}

func TestFormats(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 60000: "60,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q", n, got)
		}
	}
	for n, want := range map[int64]string{12: "12 B", 1500: "1.5 KB", 215320160: "215.3 MB", 3e9: "3.00 GB"} {
		if got := bytesText(n); got != want {
			t.Errorf("bytesText(%d) = %q", n, got)
		}
	}
}
