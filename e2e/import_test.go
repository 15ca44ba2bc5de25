//go:build !js

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/goresnet/goresnet/model/data/datatest"
)

// writePictures writes a folder of real pictures, as a person's would be:
// root/NAME/CLASS/NN.png|jpg, perClass per class (a disc of the class's
// colour on a noisy background, at a random place and size), plus a
// damaged JPEG and a text file that the import must leave out.
func writePictures(t *testing.T, root string, perClass int) (dir string, classes []string) {
	t.Helper()
	dir = filepath.Join(root, "shapes")
	colours := map[string]color.RGBA{"blue": {40, 60, 220, 255}, "green": {30, 170, 60, 255}, "red": {210, 40, 30, 255}}
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"blue", "green", "red"} { // in order: the same pictures every run
		c := colours[name]
		classes = append(classes, name)
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range perClass {
			w, h := 40+r.IntN(30), 36+r.IntN(30)
			m := image.NewRGBA(image.Rect(0, 0, w, h))
			cx, cy, rad := w/2+r.IntN(9)-4, h/2+r.IntN(9)-4, 10+r.IntN(6)
			for y := range h {
				for x := range w {
					o := m.PixOffset(x, y)
					g := uint8(110 + r.IntN(40))
					px := color.RGBA{g, g, g, 255}
					if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= rad*rad {
						px = c
					}
					m.Pix[o], m.Pix[o+1], m.Pix[o+2], m.Pix[o+3] = px.R, px.G, px.B, 255
				}
			}
			var b bytes.Buffer
			var err error
			file := filepath.Join(dir, name, fmt.Sprintf("%02d.png", i))
			if i%2 == 1 {
				file = strings.TrimSuffix(file, ".png") + ".jpg"
				err = jpeg.Encode(&b, m, &jpeg.Options{Quality: 90})
			} else {
				err = png.Encode(&b, m)
			}
			if err == nil {
				err = os.WriteFile(file, b.Bytes(), 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	// A JPEG cut short after its header, and notes that are no picture.
	good, err := os.ReadFile(filepath.Join(dir, "red", "01.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "red", "broken.jpg"), good[:len(good)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "blue", "notes.txt"), []byte("blue things, taken in the garden\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, classes
}

// pictureName matches the test's picture files in a URL.
var pictureName = regexp.MustCompile(`/[0-9][0-9]\.(png|jpg)|broken\.jpg|notes\.txt`)

// request is one network request the page or one of its workers made.
type request struct {
	Target string // page, worker, service_worker
	Method string
	URL    string
	Body   bool // it has a request body (post data)
}

// netRecorder records every network request of the page and of every
// worker and service worker it starts (attached as they appear), from
// the CDP Network domain's requestWillBeSent events.
type netRecorder struct {
	mu       sync.Mutex
	reqs     []request
	attached map[target.ID]string
}

func (r *netRecorder) add(kind string, ev *network.EventRequestWillBeSent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	req := ev.Request
	r.reqs = append(r.reqs, request{Target: kind, Method: req.Method, URL: req.URL, Body: req.HasPostData || len(req.PostDataEntries) > 0})
}

func (r *netRecorder) listen(ctx context.Context, kind string) error {
	return chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			r.add(kind, e)
		}
	})
}

// recordNetwork starts recording: the page's requests, and those of each
// worker and service worker, attached (with the Network domain enabled)
// as soon as the browser reports it, and the ones already running.
func recordNetwork(t *testing.T, h *trainHarness) *netRecorder {
	t.Helper()
	r := &netRecorder{attached: map[target.ID]string{}}
	if err := r.listen(h.ctx, "page"); err != nil {
		t.Fatal(err)
	}
	attach := func(info *target.Info) {
		switch info.Type {
		case "worker", "service_worker", "shared_worker":
		default:
			return
		}
		r.mu.Lock()
		_, done := r.attached[info.TargetID]
		if !done {
			r.attached[info.TargetID] = info.Type
		}
		r.mu.Unlock()
		if done {
			return
		}
		go func() {
			wctx, _ := chromedp.NewContext(h.ctx, chromedp.WithTargetID(info.TargetID))
			if err := r.listen(wctx, info.Type); err != nil && h.ctx.Err() == nil {
				t.Logf("attaching to %s %s: %v", info.Type, info.URL, err)
			}
		}()
	}
	if err := chromedp.ListenBrowser(h.ctx, func(ev any) {
		switch e := ev.(type) {
		case *target.EventTargetCreated:
			attach(e.TargetInfo)
		case *target.EventTargetInfoChanged:
			attach(e.TargetInfo)
		}
	}); err != nil {
		t.Fatal(err)
	}
	infos, err := chromedp.Targets(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		attach(info)
	}
	return r
}

func (r *netRecorder) snapshot() ([]request, map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	kinds := map[string]int{}
	for _, t := range r.attached {
		kinds[t]++
	}
	return append([]request(nil), r.reqs...), kinds
}

// TestBrowserImport imports a folder of pictures through the Data page
// (the folder picker, as a person's choice of a folder), checks the
// import report (the damaged JPEG and the text file left out), the class
// counts and the example strips, trains on the dataset from the Train
// page with 2 workers and sees the loss fall, checks that no request of
// the page or its workers left the app's origin or carried a body (the
// pictures never leave the machine), and that the dataset is still there
// after a reload; then deletes it.
func TestBrowserImport(t *testing.T) {
	t0 := time.Now()
	const perClass = 24
	dir, classes := writePictures(t, t.TempDir(), perClass)
	digits := datatest.Digits(t, 60, 20, 32)
	h := newTrainHarness(t, digits)
	b := h.browser
	net := recordNetwork(t, h)

	b.do(chromedp.Navigate(h.base + "/data"))
	b.waitFor("the data page", pageReady("/data"), 60*time.Second)
	b.waitFor("the workers", workersReady, 90*time.Second)
	b.waitFor("the local datasets", `!!document.querySelector("#gr-local-empty")`, 30*time.Second)
	t.Logf("app and workers ready in %v", time.Since(t0).Round(time.Millisecond))

	// Choose the folder with the folder picker (<input webkitdirectory>).
	b.do(chromedp.SetUploadFiles("#"+"gr-import-folder", []string{dir}))
	b.waitFor("the chosen files", `document.querySelector("#gr-import-chosen").textContent.includes("files in")`, 30*time.Second)
	chosen := eval[string](b, `document.querySelector("#gr-import-chosen").textContent`)
	want := fmt.Sprintf("%d files in 3 folders: blue %d, green %d, red %d", 3*perClass+2, perClass+1, perClass, perClass+1)
	if !strings.Contains(chosen, want) {
		t.Fatalf("chosen: %q, want %q", chosen, want)
	}
	if name := eval[string](b, `document.querySelector("#gr-import-name").value`); name != "shapes" {
		t.Errorf("suggested name %q, want the folder's, shapes", name)
	}
	b.do(chromedp.SetValue("#gr-import-size", "32"))
	eval[bool](b, `document.querySelector("#gr-import-size").dispatchEvent(new Event("change", {bubbles: true}))`)
	t1 := time.Now()
	b.do(chromedp.Click("#gr-import-start", chromedp.NodeVisible))
	b.waitFor("the import's progress", `!!document.querySelector("#gr-import-progress") || location.search === "?name=shapes"`, 30*time.Second)
	b.waitFor("the imported dataset", `location.search === "?name=shapes" && document.querySelector("#gr-manifest")?.dataset.where === "local" && !!document.querySelector("#gr-examples")`, 120*time.Second)
	t.Logf("imported %d files in %v", 3*perClass+2, time.Since(t1).Round(time.Millisecond))

	// The report lists the two bad files, with why.
	skipped := eval[[]string](b, `[...document.querySelectorAll("#gr-report tr[data-file]")].map((r) => r.dataset.file + ": " + r.cells[1].textContent)`)
	if len(skipped) != 2 || !strings.HasPrefix(skipped[0], "blue/notes.txt: ") || !strings.HasPrefix(skipped[1], "red/broken.jpg: ") {
		t.Errorf("the report lists %q, want blue/notes.txt and red/broken.jpg", skipped)
	}
	// Counts per class and split: a stratified 20% of each class's
	// candidates in test (red's damaged JPEG passes the header check, so
	// it is drawn into a split before it fails to decode: red has 16 or
	// 17 candidates' share).
	trainN, testN := 0, 0
	for _, c := range classes {
		var counts map[string]int
		raw := eval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll('#gr-examples tr[data-class=%q] td[data-split]')].map((td) => td.dataset.split + " " + td.textContent)`, c))
		counts = map[string]int{}
		for _, r := range raw {
			var sp string
			var n int
			fmt.Sscanf(r, "%s %d", &sp, &n)
			counts[sp] = n
		}
		want := (perClass*2 + 5) / 10 // round(0.2 * perClass)
		okTest := counts["test"] == want || (c == "red" && counts["test"] == (perClass*2+7)/10-1)
		if len(raw) != 2 || counts["train"]+counts["test"] != perClass || !okTest {
			t.Errorf("class %s: counts %v, want %d pictures, %d of them in test (red: one fewer if its damaged file fell in test)", c, raw, perClass, want)
		}
		trainN, testN = trainN+counts["train"], testN+counts["test"]
	}
	// The example grid: a strip of 8 pictures per class, decoded.
	b.waitFor("the example strips", `[...document.querySelectorAll("#gr-examples img.gr-strip")].filter((i) => i.complete && i.naturalWidth > 0).length === 3`, 10*time.Second)
	widths := eval[[]int](b, `[...document.querySelectorAll("#gr-examples img.gr-strip")].map((i) => i.naturalWidth)`)
	for _, w := range widths {
		if w != 8*32+7*2 {
			t.Errorf("example strips %v px wide, want 8 pictures of 32 px", widths)
			break
		}
	}
	local := eval[string](b, `document.querySelector('#gr-local tr[data-name="shapes"]')?.textContent || ""`)
	if !strings.Contains(local, fmt.Sprintf("train %d, test %d", trainN, testN)) {
		t.Errorf("the list of local datasets shows %q", local)
	}
	b.screenshot("data-import")

	// Train on it from the Train page, as on a server's dataset.
	b.do(chromedp.Click("#gr-train-this", chromedp.NodeVisible))
	b.waitFor("the train page", pageReady("/train")+` && location.search === "?dataset=shapes"`, 30*time.Second)
	b.waitFor("the dataset on the train page", `!document.querySelector("#gr-train-start").disabled && document.querySelector("#gr-train-data").textContent.includes("3 classes")`, 30*time.Second)
	h.setField("arch", "resnet18")
	h.setField("width", "8")
	h.setField("epochs", "8")
	h.setField("batch", "16")
	h.setField("workers", "2")
	h.setField("lr", "0.02")
	h.setField("val", "test")
	t2 := time.Now()
	b.do(chromedp.Click("#gr-train-start", chromedp.NodeVisible))
	b.waitFor("the end of training", `document.querySelector("#gr-train-phase")?.dataset.phase === "done"`, 300*time.Second)
	rows := h.epochRows()
	t.Logf("trained 8 epochs in %v: losses %v", time.Since(t2).Round(time.Millisecond), rows)
	if len(rows) != 8 || !(rows[8] < rows[1] && rows[7] < rows[1]) {
		t.Errorf("the loss did not fall over 8 epochs: %v", rows)
	}
	b.screenshot("train-imported")

	// Reload: the dataset is kept in the browser.
	b.do(chromedp.Navigate(h.base + "/data?name=shapes"))
	b.waitFor("the data page after a reload", pageReady("/data"), 60*time.Second)
	defer func() {
		if t.Failed() {
			// Whether Cache Storage answers the page at all.
			t.Logf("cache storage: %s", eval[string](b, `Promise.race([caches.open("goresnet-local-datasets").then((c) => c.keys()).then((k) => k.length + " keys"), new Promise((r) => setTimeout(() => r("no answer in 5 s"), 5000))])`))
		}
	}()
	b.waitFor("the imported dataset after a reload", `!!document.querySelector('#gr-local tr[data-name="shapes"]') && document.querySelector("#gr-manifest")?.dataset.where === "local" && document.querySelectorAll("#gr-examples img.gr-strip").length === 3 && document.querySelectorAll("#gr-report tr[data-file]").length === 2`, 60*time.Second)
	b.screenshot("data-local-after-reload")

	// Pictures picked with a typed label, one class at a time.
	for _, c := range []string{"red", "blue"} {
		var files []string
		for i := range 6 {
			ext := ".png"
			if i%2 == 1 {
				ext = ".jpg"
			}
			files = append(files, filepath.Join(dir, c, fmt.Sprintf("%02d%s", i, ext)))
		}
		b.do(chromedp.SetUploadFiles("#gr-import-files", files))
		b.do(chromedp.SetValue("#gr-import-label", "my "+c, chromedp.NodeVisible))
		eval[bool](b, `document.querySelector("#gr-import-label").dispatchEvent(new Event("input", {bubbles: true}))`)
		b.do(chromedp.Click("#gr-import-add", chromedp.NodeVisible))
		b.waitFor("the labelled pictures", fmt.Sprintf(`document.querySelector("#gr-import-chosen").textContent.includes("my %s 6")`, c), 10*time.Second)
	}
	b.do(chromedp.SetValue("#gr-import-name", "labelled", chromedp.NodeVisible))
	eval[bool](b, `document.querySelector("#gr-import-name").dispatchEvent(new Event("input", {bubbles: true}))`)
	b.do(chromedp.Click("#gr-import-start", chromedp.NodeVisible))
	b.waitFor("the labelled dataset", `location.search === "?name=labelled" && document.querySelector("#gr-manifest")?.dataset.where === "local" && document.querySelectorAll("#gr-examples img.gr-strip").length === 2`, 60*time.Second)
	if got := eval[string](b, `[...document.querySelectorAll("#gr-examples tbody tr")].map((r) => r.dataset.class + " " + [...r.querySelectorAll("td[data-split]")].map((td) => td.textContent).join("+")).join(", ")`); got != "my blue 5+1, my red 5+1" {
		t.Errorf("the labelled dataset's classes: %q, want my blue 5+1, my red 5+1", got)
	}
	if n := eval[int](b, `document.querySelectorAll("#gr-local tbody tr").length`); n != 2 {
		t.Errorf("%d local datasets listed, want 2", n)
	}
	b.do(chromedp.Click(`#gr-local tr[data-name="labelled"] .gr-delete`, chromedp.NodeVisible))
	b.waitFor("the labelled dataset's deletion", `!document.querySelector('#gr-local tr[data-name="labelled"]') && !document.querySelector("#gr-manifest")`, 30*time.Second)
	if !eval[bool](b, `!!document.querySelector('#gr-local tr[data-name="shapes"]')`) {
		t.Fatal("deleting the labelled dataset deleted shapes too")
	}

	// The privacy check: every request of the page, its workers and the
	// service worker, during the import, the training and the reload.
	reqs, kinds := net.snapshot()
	origin, err := url.Parse(h.base)
	if err != nil {
		t.Fatal(err)
	}
	byTarget := map[string]int{}
	var bad []string
	for _, r := range reqs {
		byTarget[r.Target]++
		u, err := url.Parse(r.URL)
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s %s from the %s: %v", r.Method, r.URL, r.Target, err))
		case u.Scheme == "data":
			// Inline (the example strips): not a request to anywhere.
		case u.Scheme+"://"+u.Host != origin.Scheme+"://"+origin.Host:
			bad = append(bad, fmt.Sprintf("%s %s from the %s: not the app's origin", r.Method, r.URL, r.Target))
		case r.Method != "GET" || r.Body:
			bad = append(bad, fmt.Sprintf("%s %s from the %s (body: %v): only GETs of the app's files are allowed", r.Method, r.URL, r.Target, r.Body))
		case pictureName.MatchString(r.URL) || len(r.URL) > 300:
			bad = append(bad, fmt.Sprintf("%s %s from the %s: names the pictures", r.Method, r.URL, r.Target))
		}
	}
	t.Logf("network during the import, training and reload: %d requests (%v), attached targets %v", len(reqs), byTarget, kinds)
	if kinds["worker"] < 2 || kinds["service_worker"] < 1 {
		t.Errorf("recorded the requests of %v, want the 2+ workers and the service worker too", kinds)
	}
	if byTarget["page"] == 0 || byTarget["service_worker"] == 0 {
		t.Error("recorded no request of the page or the service worker: is the recorder working?")
	}
	if len(bad) > 0 {
		t.Errorf("%d requests broke privacy:\n%s", len(bad), strings.Join(bad, "\n"))
	}

	// The recorder does see a worker's requests: the digits' examples,
	// which a worker reads from the server.
	b.do(chromedp.Navigate(h.base + "/data?name=digits"))
	b.waitFor("the digits", pageReady("/data")+` && !!document.querySelector("#gr-examples-show")`, 60*time.Second)
	b.do(chromedp.Click("#gr-examples-show", chromedp.NodeVisible))
	b.waitFor("the digits' examples", `document.querySelectorAll("#gr-examples img.gr-strip").length === 10`, 60*time.Second)
	fromWorkers := 0
	after, _ := net.snapshot()
	for _, r := range after[len(reqs):] {
		if r.Target == "worker" && strings.Contains(r.URL, "/data/digits/") && strings.HasSuffix(r.URL, ".shard") {
			fromWorkers++
		}
	}
	if fromWorkers == 0 {
		t.Errorf("no worker request recorded for the digits' shards: the recorder misses the workers (%v)", after[len(reqs):])
	}
	b.screenshot("data-server-examples")

	// Delete it: gone from the list, and after a reload too.
	b.do(chromedp.Click(`#gr-local tr[data-name="shapes"] .gr-delete`, chromedp.NodeVisible))
	b.waitFor("the deletion", `!document.querySelector('#gr-local tr[data-name="shapes"]')`, 30*time.Second)
	b.do(chromedp.Reload())
	b.waitFor("the data page after the deletion", pageReady("/data")+` && !!document.querySelector("#gr-local-empty")`, 60*time.Second)
	t.Logf("done in %v", time.Since(t0).Round(time.Millisecond))
}

// TestBrowserImportDrop drops the folder on the Data page's drop zone (a
// real drag of files, Input.dispatchDragEvent: the page walks it with
// webkitGetAsEntry) and imports it.
func TestBrowserImportDrop(t *testing.T) {
	const perClass = 6
	dir, _ := writePictures(t, t.TempDir(), perClass)
	h := newTrainHarness(t, datatest.Digits(t, 20, 10, 32))
	b := h.browser
	b.do(chromedp.Navigate(h.base + "/data"))
	b.waitFor("the data page", pageReady("/data"), 60*time.Second)
	b.waitFor("the workers", workersReady, 90*time.Second)
	b.do(chromedp.ScrollIntoView("#gr-drop"))
	box := eval[[]float64](b, `(() => { const r = document.querySelector("#gr-drop").getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`)
	drag := &input.DragData{Items: []*input.DragDataItem{}, Files: []string{dir}, DragOperationsMask: 1}
	for _, typ := range []input.DispatchDragEventType{input.DispatchDragEventTypeDragEnter, input.DispatchDragEventTypeDragOver, input.DispatchDragEventTypeDrop} {
		if _, err := chromedp.Call(b.ctx, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: box[0], Y: box[1], Data: drag}); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	b.waitFor("the dropped files", `document.querySelector("#gr-import-chosen").textContent.includes("files in")`, 30*time.Second)
	chosen := eval[string](b, `document.querySelector("#gr-import-chosen").textContent`)
	want := fmt.Sprintf("%d files in 3 folders: blue %d, green %d, red %d", 3*perClass+2, perClass+1, perClass, perClass+1)
	if !strings.Contains(chosen, want) {
		t.Fatalf("dropped: %q, want %q", chosen, want)
	}
	b.do(chromedp.Click("#gr-import-start", chromedp.NodeVisible))
	b.waitFor("the imported dataset", `location.search === "?name=shapes" && document.querySelectorAll("#gr-examples img.gr-strip").length === 3 && document.querySelectorAll("#gr-report tr[data-file]").length === 2`, 120*time.Second)
	b.screenshot("data-import-drop")
}
