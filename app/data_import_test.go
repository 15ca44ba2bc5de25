package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/worker/msg"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// fakeLocal is LocalData in memory: it records what the page asks for.
type fakeLocal struct {
	list     []LocalDataset
	imports  []msg.DatasetImportRequest
	files    [][]PickedFile
	deleted  []string
	summary  map[string]*msg.DatasetSummary
	failWith error
}

func (f *fakeLocal) List(ctx context.Context) ([]LocalDataset, error) { return f.list, nil }
func (f *fakeLocal) Import(ctx context.Context, req msg.DatasetImportRequest, files []PickedFile, progress func(msg.ImportProgressReport)) (*msg.DatasetImportResult, error) {
	f.imports, f.files = append(f.imports, req), append(f.files, files)
	progress(msg.ImportProgressReport{Name: req.Name, Phase: "split", Split: "train", Done: 1, Total: 2})
	if f.failWith != nil {
		return nil, f.failWith
	}
	m := shapesManifest(req.Name)
	return &msg.DatasetImportResult{Manifest: m, Report: shapesReport(), Summary: *shapesSummary(req.Name)}, nil
}
func (f *fakeLocal) Delete(ctx context.Context, name string) error {
	f.deleted = append(f.deleted, name)
	return nil
}
func (f *fakeLocal) Summary(ctx context.Context, name string) (*msg.DatasetSummary, error) {
	if s, ok := f.summary[name]; ok {
		return s, nil
	}
	return nil, errors.New("no such dataset")
}

func shapesManifest(name string) *data.Manifest {
	return &data.Manifest{Format: data.ManifestFormat, Version: 1, Name: name,
		Image:   data.Image{Height: 32, Width: 32, Channels: 3, Layout: "HWC", DType: "uint8"},
		Classes: []data.Class{{Name: "blue"}, {Name: "green"}, {Name: "red"}},
		Splits: []data.Split{{Name: "train", Count: 24, Shards: []data.ShardInfo{{File: "train-00000.shard", Records: 24, Bytes: 74000}}},
			{Name: "test", Count: 6, Shards: []data.ShardInfo{{File: "test-00000.shard", Records: 6, Bytes: 18500}}}}}
}

func shapesReport() msg.ImportReport {
	return msg.ImportReport{Skipped: []msg.Skipped{{File: "blue/notes.txt", Reason: "not an image (unknown format)"}, {File: "red/broken.jpg", Reason: "invalid JPEG"}},
		Notes: []string{"no split folders or lists: a stratified split (seed 0) put 0.2 of each class in test"}}
}

func shapesSummary(name string) *msg.DatasetSummary {
	return &msg.DatasetSummary{Name: name, Classes: []string{"blue", "green", "red"}, Splits: []string{"train", "test"},
		Counts:   [][]int{{8, 8, 8}, {2, 2, 2}},
		Examples: []msg.ClassExamples{{Class: 0, N: 8, Cell: 32, PNG: []byte("\x89PNG")}, {Class: 2, N: 8, Cell: 32, PNG: []byte("\x89PNG")}}}
}

// dataHarness is the Data page with the context it was mounted with, so
// that a test can do what its buttons do.
type dataHarness struct {
	DataPage
	ctx app.Context
}

// OnPreRender is what the test engine calls with a context outside the
// browser (OnMount is browser-only).
func (h *dataHarness) OnPreRender(ctx app.Context) { h.ctx = ctx }

// renderNow renders the harness's page as it is now (the mounted
// component's HTML is the tree as last updated in the engine).
func renderNow(t *testing.T, h *dataHarness) string {
	cp := h.DataPage
	cp.Compo = app.Compo{}
	return render(t, &cp)
}

// openTag returns the opening tag of the element with that id (go-app
// writes attributes in no fixed order).
func openTag(html, id string) string {
	i := strings.Index(html, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(html[:i], "<")
	end := strings.Index(html[i:], ">")
	return html[start : i+end+1]
}

func mustBeDisabled(t *testing.T, html, id string, want bool) {
	t.Helper()
	tag := openTag(html, id)
	// go-app writes a false boolean attribute as disabled="false".
	disabled := strings.Contains(tag, " disabled") && !strings.Contains(tag, `disabled="false"`)
	if tag == "" || disabled != want {
		t.Errorf("element %s: %q, want disabled %v", id, tag, want)
	}
}

func TestPickedClasses(t *testing.T) {
	files := func(paths ...string) []PickedFile {
		var out []PickedFile
		for _, p := range paths {
			out = append(out, PickedFile{Path: p})
		}
		return out
	}
	cases := []struct {
		files   []PickedFile
		classes string
		name    string
	}{
		{files("pets/cat/1.jpg", "pets/cat/2.jpg", "pets/dog/1.jpg"), "[{cat 2} {dog 1}]", "pets"},
		{files("/My Pets!/cat/1.jpg", "/My Pets!/dog/x/1.jpg"), "[{cat 1} {dog 1}]", "my-pets"},
		{files("cat/1.jpg", "dog/1.jpg"), "[{cat 1} {dog 1}]", "my-pictures"},
		{files("cat/1.jpg", "cat/2.jpg"), "[{cat 2}]", "my-pictures"},
		{files("stray.jpg", "cat/1.jpg"), "[{ 1} {cat 1}]", "my-pictures"},
	}
	for _, c := range cases {
		if got := fmt.Sprint(pickedClasses(c.files)); got != c.classes {
			t.Errorf("%v: classes %s, want %s", c.files, got, c.classes)
		}
		if got := suggestName(c.files); got != c.name {
			t.Errorf("%v: name %q, want %q", c.files, got, c.name)
		}
	}
}

// TestDataPageLocal: the datasets kept in the browser are listed beside
// the server's; a chosen one shows its class counts, example strips and
// import report, and can be deleted.
func TestDataPageLocal(t *testing.T) {
	p := &DataPage{}
	html := render(t, p)
	mustContain(t, html, `id="gr-local-loading"`, `id="gr-import"`, `id="gr-drop"`, `id="gr-import-folder"`, `webkitdirectory=`,
		`id="gr-import-files"`, `id="gr-import-label"`, `id="gr-import-add"`, "never uploaded")
	mustBeDisabled(t, html, "gr-import-start", true)
	p.setLocal(nil, nil)
	mustContain(t, render(t, p), `id="gr-local-empty"`)
	p.setLocal(nil, errors.New("QuotaExceededError"))
	mustContain(t, render(t, p), `id="gr-local-error"`, "QuotaExceededError")

	rep := shapesReport()
	p = &DataPage{name: "shapes"}
	p.setLocal([]LocalDataset{{Manifest: shapesManifest("shapes"), Report: &rep, Summary: shapesSummary("shapes"), Bytes: 92500}}, nil)
	p.setManifest("shapes", shapesManifest("shapes"), nil)
	html = render(t, p)
	if !strings.Contains(html, `<tr data-name="shapes" class="gr-chosen">`) && !strings.Contains(html, `<tr class="gr-chosen" data-name="shapes">`) {
		t.Error("the chosen local dataset's row is not marked")
	}
	mustContain(t, html, `id="gr-local"`, "train 24, test 6", "92.5 KB", `class="gr-delete"`,
		`data-where="local"`, `id="gr-examples"`, `<tr data-class="blue">`, `data-split="train">8</td>`, `data-split="test">2</td>`,
		`src="data:image/png;base64,iVBORw=="`, `alt="8 examples of red"`, "no picture",
		`id="gr-import-report"`, "2 files were left out", `data-file="blue/notes.txt"`, `data-file="red/broken.jpg"`, "invalid JPEG", "stratified split")

	// A server dataset's summary is asked for with a button.
	SetLocalData(&fakeLocal{})
	defer SetLocalData(nil)
	p = &DataPage{name: "digits"}
	p.setManifest("digits", shapesManifest("digits"), nil)
	html = render(t, p)
	mustContain(t, html, `data-where="server"`, `id="gr-examples-show"`)
	if strings.Contains(html, `id="gr-import-report"`) {
		t.Error("a server dataset shows an import report")
	}
	p.summaryFor = "digits"
	p.setSummary("digits", shapesSummary("digits"), nil)
	mustContain(t, render(t, p), `id="gr-examples"`, `<tr data-class="green">`)
	p.setSummary("other", nil, errors.New("late answer")) // dropped
	p.summaryFor = "digits"
	p.setSummary("digits", nil, errors.New("GET /data/digits/train-00000.shard: 404"))
	mustContain(t, render(t, p), `id="gr-examples-error"`, "404")
}

// TestDataPageImport drives an import through the page in go-app's test
// engine: files added from a folder and with a label, checks, the request
// the worker gets, progress, the new dataset listed and chosen; delete.
func TestDataPageImport(t *testing.T) {
	fl := &fakeLocal{}
	SetLocalData(fl)
	defer SetLocalData(nil)
	h := &dataHarness{}
	e := app.NewTestEngine()
	if err := e.Load(h); err != nil {
		t.Fatal(err)
	}
	e.ConsumeAll()
	p := &h.DataPage
	p.index = &DatasetIndex{Datasets: []DatasetSummary{{Name: "digits"}}}

	p.startImport(h.ctx)
	if !strings.Contains(p.imp.err, "Choose pictures first") || len(fl.imports) != 0 {
		t.Fatalf("no files: %q", p.imp.err)
	}
	p.addFiles([]PickedFile{{Path: "shapes/red/1.png", Size: 10}, {Path: "shapes/blue/1.png", Size: 11}, {Path: "shapes/red/1.png"}})
	p.addFiles([]PickedFile{{Path: "green/a.jpg", Size: 12}})
	if len(p.imp.files) != 3 || p.imp.name != "my-pictures" {
		t.Fatalf("files %v name %q", p.imp.files, p.imp.name)
	}
	p.imp.files = p.imp.files[:2]
	p.addFiles(nil)
	if p.imp.name != "shapes" {
		t.Fatalf("name %q, want the folder's", p.imp.name)
	}
	html := renderNow(t, h)
	mustContain(t, html, "2 files in 2 folders: blue 1, red 1", `id="gr-import-clear"`)
	mustBeDisabled(t, html, "gr-import-start", false)

	for _, c := range []struct {
		set  func()
		want string
	}{
		{func() { p.imp.name = "digits" }, "The server offers a dataset named"},
		{func() { p.imp.name = "bad name" }, "Dataset name"},
		{func() { p.imp.name, p.imp.size = "shapes", 4 }, "Image size 4"},
		{func() { p.imp.size, p.imp.testPct = 32, 100 }, "Validation share"},
	} {
		c.set()
		p.startImport(h.ctx)
		if !strings.Contains(p.imp.err, c.want) {
			t.Errorf("error %q, want %q", p.imp.err, c.want)
		}
	}
	// A failing import says why and keeps the files.
	p.imp.testPct, p.imp.seed = 25, 7
	fl.failWith = errors.New("no images at all could be imported (2 files skipped)")
	p.startImport(h.ctx)
	e.ConsumeAll()
	if !strings.Contains(p.imp.err, "no images at all") || len(p.imp.files) != 2 || p.imp.running {
		t.Errorf("failed import: %q, %d files", p.imp.err, len(p.imp.files))
	}
	// Delete, from the list's button.
	p.local = []LocalDataset{{Manifest: shapesManifest("old")}}
	p.deleteLocal(h.ctx, "old")
	e.ConsumeAll()
	if fmt.Sprint(fl.deleted) != "[old]" || len(p.local) != 0 {
		t.Errorf("deleted %v, listed %d", fl.deleted, len(p.local))
	}

	fl.failWith = nil
	p.startImport(h.ctx)
	if !p.imp.running || p.imp.progress == nil {
		t.Fatal("the import did not start")
	}
	html = renderNow(t, h)
	mustContain(t, html, `id="gr-import-progress"`)
	mustBeDisabled(t, html, "gr-import-start", true)
	e.ConsumeAll()
	if len(fl.imports) != 2 {
		t.Fatalf("%d imports", len(fl.imports))
	}
	req := fl.imports[1]
	if req.Name != "shapes" || req.Size != 32 || req.Seed != 7 || req.TestFraction != 0.25 || len(fl.files[1]) != 2 {
		t.Errorf("request %+v with %d files", req, len(fl.files[1]))
	}
	if p.imp.running || p.imp.err != "" || p.imp.done == nil || len(p.imp.files) != 0 {
		t.Fatalf("after the import: running %v err %q done %v", p.imp.running, p.imp.err, p.imp.done)
	}
	html = renderNow(t, h)
	mustContain(t, html, `id="gr-import-done"`, "Imported shapes: 3 classes, train 24, test 6; 2 files left out", `<tr data-name="shapes"`)

	// The same name again is refused before any work.
	p.addFiles([]PickedFile{{Path: "x/a/1.png"}, {Path: "x/b/1.png"}})
	p.imp.name = "shapes"
	p.startImport(h.ctx)
	if !strings.Contains(p.imp.err, "already has a dataset named") || len(fl.imports) != 2 {
		t.Errorf("a second shapes: %q", p.imp.err)
	}
}

// TestLocalFirstFetcher: with local datasets installed, the pages'
// manifests come from the browser for local names and from the server
// for the others (the Train page trains on either).
func TestLocalFirstFetcher(t *testing.T) {
	server := &fakeFetcher{m: shapesManifest("digits")}
	old := fetcher
	SetLocalData(nil)
	fetcher, serverGet = server, nil
	defer func() { fetcher, serverGet = old, nil }()
	SetLocalData(&fakeLocal{list: []LocalDataset{{Manifest: shapesManifest("shapes")}}})
	m, err := fetcher.Manifest(context.Background(), "shapes")
	if err != nil || m.Name != "shapes" || server.asked != 0 {
		t.Fatalf("local: %v %v, server asked %d", m, err, server.asked)
	}
	if m, err := fetcher.Manifest(context.Background(), "digits"); err != nil || m.Name != "digits" || server.asked != 1 {
		t.Fatalf("server: %v %v", m, err)
	}
	SetLocalData(nil)
	if fetcher != Fetcher(server) {
		t.Error("removing the local datasets did not restore the server's fetcher")
	}
}

type fakeFetcher struct {
	m     *data.Manifest
	asked int
}

func (f *fakeFetcher) Index(ctx context.Context) (*DatasetIndex, error) { return &DatasetIndex{}, nil }
func (f *fakeFetcher) Manifest(ctx context.Context, name string) (*data.Manifest, error) {
	f.asked++
	return f.m, nil
}
