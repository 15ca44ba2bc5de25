//go:build !js

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/goresnet/goresnet/cli"
	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/datatest"
	"github.com/goresnet/goresnet/model/predict"
	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/train"
)

// TestBrowserEvaluatePredict: a checkpoint trained natively on the digits
// (model/train through the CLI: seconds here, where training in the
// browser takes minutes on a shared 2-core machine and TestBrowserTrain
// already covers it; and the very same file is then measured natively) is
// imported on the Train page; the Evaluate page's numbers, computed in a
// worker, agree with model/train's evaluation of it; then, with the server
// stopped, the app reloads from the service worker's cache and the Predict
// page classifies a digit picture file with the model kept in IndexedDB,
// and a frame of Chromium's fake camera.
func TestBrowserEvaluatePredict(t *testing.T) {
	t0 := time.Now()
	digits := datatest.Digits(t, 480, 100, 32)

	// Train natively: a 1/8-width ResNet-18 at 32x32, 4 epochs.
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := cli.Main([]string{"train", "--data", digits, "--arch", "resnet18", "--width-div", "8", "--epochs", "4", "--batch", "16",
		"--lr", "0.05", "--val-split", "test", "--checkpoint-dir", dir, "--checkpoint-pattern", ""}, &out, &errOut); code != 0 {
		t.Fatalf("training natively: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	ckPath := filepath.Join(dir, "digits-model.safetensors")
	if err := os.Rename(filepath.Join(dir, "last.safetensors"), ckPath); err != nil {
		t.Fatal(err)
	}
	ck, err := train.OpenCheckpoint(ckPath)
	if err != nil {
		t.Fatal(err)
	}
	want := evaluateNatively(t, ck, digits)
	t.Logf("trained natively in %v: test loss %.4f, top-1 %.4f, top-5 %.4f on %d examples", time.Since(t0).Round(time.Millisecond), want.Loss, want.Top1, want.Top5, want.N)
	if want.Top1 < 0.5 {
		t.Fatalf("the model is not clearly above chance (top-1 %.3f on 10 classes)", want.Top1)
	}

	// The digits to classify: of the test pictures, saved as PNG files,
	// the ones the model classifies right with the highest probability
	// (two of different classes: one picked as a file, one dropped).
	digitsOK := pickDigits(t, ck, digits)
	if len(digitsOK) < 2 {
		t.Fatalf("the model gets only %d classes right in the first test pictures", len(digitsOK))
	}
	picture, label, prob := digitsOK[0].path, digitsOK[0].label, digitsOK[0].p
	t.Logf("picture %s: digit %s, native top-1 probability %.4f; dropped: %+v", filepath.Base(picture), label, prob, digitsOK[1])

	h := newTrainHarness(t, digits,
		chromedp.Flag("use-fake-device-for-media-stream", true), chromedp.Flag("use-fake-ui-for-media-stream", true))
	b := h.browser

	// Import the checkpoint on the Train page: it becomes the current model.
	b.do(chromedp.Navigate(h.base + "/train?dataset=digits"))
	b.waitFor("the train page", pageReady("/train"), 60*time.Second)
	b.waitFor("the workers", workersReady, 90*time.Second)
	b.do(chromedp.SetUploadFiles("#gr-import-file", []string{ckPath}, chromedp.NodeReady))
	b.waitFor("the imported checkpoint", `!!document.querySelector('#gr-checkpoints tr[data-kind=import]')`, 60*time.Second)

	// Evaluate: the current model, digits, test are chosen.
	b.do(chromedp.Click("#gr-nav-evaluate", chromedp.NodeVisible))
	b.waitFor("the evaluate page", pageReady("/evaluate"), 30*time.Second)
	b.waitFor("the choices", `document.querySelector("#gr-eval-checkpoint")?.value.startsWith("import/") && document.querySelector("#gr-eval-dataset")?.value === "digits" && document.querySelector("#gr-eval-split")?.value === "test" && !document.querySelector("#gr-eval-run").disabled`, 30*time.Second)
	b.screenshot("evaluate-choose")
	t1 := time.Now()
	b.do(chromedp.Click("#gr-eval-run", chromedp.NodeVisible))
	b.waitFor("the evaluation", `!!document.querySelector("#gr-eval-result") || !!document.querySelector("#gr-eval-error")`, 120*time.Second)
	if e := eval[string](b, `document.querySelector("#gr-eval-error")?.textContent || ""`); e != "" {
		t.Fatal(e)
	}
	got := pageMetrics(b)
	t.Logf("the Evaluate page, in %v: loss %.6f, top-1 %.4f, top-5 %.4f on %d (natively %.6f, %.4f, %.4f on %d)",
		time.Since(t1).Round(time.Millisecond), got.Loss, got.Top1, got.Top5, got.N, want.Loss, want.Top1, want.Top5, want.N)
	compareMetrics(t, "online", got, want)
	b.screenshot("evaluate")

	// Beside training: with
	// fewer training workers than the pool has, the last one evaluates
	// while the others train; with all of them training, Evaluate and
	// Predict say that they wait and send nothing.
	pool := eval[int](b, `+document.querySelector("#gr-status-workers").textContent.match(/(\d+) ready/)[1]`)
	startTraining := func(workers int) {
		t.Helper()
		b.do(chromedp.Click("#gr-nav-train", chromedp.NodeVisible))
		b.waitFor("the train page", pageReady("/train")+` && !document.querySelector("#gr-train-start").disabled`, 30*time.Second)
		h.setField("workers", fmt.Sprint(workers))
		h.setField("epochs", "50")
		b.do(chromedp.Click("#gr-train-start", chromedp.NodeVisible))
		b.waitFor("training", `document.querySelector("#gr-progress")?.dataset.step >= 1`, 90*time.Second)
	}
	stopTraining := func() {
		t.Helper()
		b.do(chromedp.Click("#gr-nav-train", chromedp.NodeVisible))
		b.waitFor("the train page", pageReady("/train"), 30*time.Second)
		b.do(chromedp.Click("#gr-train-stop", chromedp.NodeVisible))
		b.waitFor("training to stop", `["stopped", "done", "failed"].includes(document.querySelector("#gr-train-phase").dataset.phase)`, 90*time.Second)
	}
	chooseImported := `(() => { const s = document.querySelector("#gr-eval-checkpoint"); const o = [...s.options].find((o) => o.value.startsWith("import/"));
		s.value = o.value; s.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`
	if pool >= 2 {
		startTraining(pool - 1)
		b.do(chromedp.Click("#gr-nav-evaluate", chromedp.NodeVisible))
		b.waitFor("the evaluate page while training", pageReady("/evaluate")+` && document.querySelectorAll("#gr-eval-checkpoint option").length > 0`, 30*time.Second)
		eval[bool](b, chooseImported)
		b.waitFor("a free worker", `!document.querySelector("#gr-eval-run").disabled && !document.querySelector("#gr-eval-busy")`, 30*time.Second)
		b.do(chromedp.Click("#gr-eval-run", chromedp.NodeVisible))
		b.waitFor("the evaluation while training", `!!document.querySelector("#gr-eval-result") || !!document.querySelector("#gr-eval-error")`, 120*time.Second)
		if e := eval[string](b, `document.querySelector("#gr-eval-error")?.textContent || ""`); e != "" {
			t.Fatalf("while training: %s", e)
		}
		during := pageMetrics(b)
		t.Logf("while %d of %d workers train, the last one evaluates: loss %.6f, top-1 %.4f", pool-1, pool, during.Loss, during.Top1)
		compareMetrics(t, "while training", during, want)
		stopTraining()
	}
	startTraining(pool)
	b.do(chromedp.Click("#gr-nav-evaluate", chromedp.NodeVisible))
	b.waitFor("the evaluate page waits", pageReady("/evaluate")+` && !!document.querySelector("#gr-eval-busy") && document.querySelector("#gr-eval-run").disabled && document.querySelectorAll("#gr-eval-split option").length > 0`, 30*time.Second)
	if msg := eval[string](b, `document.querySelector("#gr-eval-busy").textContent`); !strings.Contains(msg, "waits until training ends") {
		t.Errorf("the busy notice: %q", msg)
	}
	b.screenshot("evaluate-waits")
	b.do(chromedp.Click("#gr-nav-predict", chromedp.NodeVisible))
	b.waitFor("the predict page waits", pageReady("/predict")+` && !!document.querySelector("#gr-predict-busy")`, 30*time.Second)
	stopTraining()
	b.do(chromedp.Click("#gr-nav-evaluate", chromedp.NodeVisible))
	b.waitFor("the evaluate page free again", pageReady("/evaluate")+` && !document.querySelector("#gr-eval-busy") && document.querySelectorAll("#gr-eval-checkpoint option").length > 0`, 30*time.Second)

	// Offline: once the service worker has cached the app, stop the server.
	b.waitFor("the service worker", `navigator.serviceWorker.controller !== null`, 60*time.Second)
	b.waitFor("the cached app", `caches.keys().then((ks) => Promise.all(ks.filter((k) => k.startsWith("app-")).map((k) => caches.open(k).then((c) => c.match("/web/worker.wasm"))))).then((r) => r.some((x) => !!x))`, 60*time.Second)
	h.stopServer()
	select {
	case err := <-h.served:
		if err != nil {
			t.Fatalf("server: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop")
	}
	if _, err := http.Get(h.base + "/"); err == nil {
		t.Fatal("the server still answers")
	}

	t2 := time.Now()
	b.do(chromedp.Navigate(h.base + "/predict"))
	b.waitFor("the predict page offline", pageReady("/predict"), 60*time.Second)
	b.waitFor("the workers offline", workersReady, 90*time.Second)
	// The person chooses the imported model (training above made its own
	// checkpoint the current model).
	b.waitFor("the stored models offline", `document.querySelectorAll("#gr-predict-checkpoint option").length >= 2`, 30*time.Second)
	eval[bool](b, strings.ReplaceAll(chooseImported, "gr-eval-checkpoint", "gr-predict-checkpoint"))
	b.waitFor("the imported model chosen", `document.querySelector("#gr-predict-checkpoint").value.startsWith("import/")`, 10*time.Second)
	t.Logf("offline: the Predict page and its workers ready in %v", time.Since(t2).Round(time.Millisecond))
	b.do(chromedp.SetUploadFiles("#gr-predict-file", []string{picture}, chromedp.NodeReady))
	b.waitFor("the prediction", `!!document.querySelector("#gr-predict-result") || !!document.querySelector("#gr-predict-error")`, 60*time.Second)
	if e := eval[string](b, `document.querySelector("#gr-predict-error")?.textContent || ""`); e != "" {
		t.Fatal(e)
	}
	type row struct {
		Class string  `json:"class"`
		P     float64 `json:"p"`
		Width float64 `json:"width"`
	}
	readTop := func() []row {
		var rows []row
		s := eval[string](b, `JSON.stringify([...document.querySelectorAll("#gr-predict-top tr")].map((r) => ({class: r.dataset.class, p: +r.dataset.probability, width: r.querySelector(".gr-bar").getBoundingClientRect().width})))`)
		if err := json.Unmarshal([]byte(s), &rows); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	top := readTop()
	t.Logf("offline prediction of %s: %+v", filepath.Base(picture), top)
	if len(top) != 5 || top[0].Class != label || top[0].P <= top[1].P {
		t.Fatalf("top 5 %+v, want digit %s first", top, label)
	}
	if math.Abs(top[0].P-prob) > 1e-4 {
		t.Errorf("the browser gives digit %s probability %.6f, natively %.6f", label, top[0].P, prob)
	}
	if !(top[0].Width > 20 && top[0].Width > top[4].Width) {
		t.Errorf("the bars do not show the probabilities: %+v", top)
	}
	if !eval[bool](b, `document.querySelector("#gr-predict-preview")?.complete && document.querySelector("#gr-predict-preview").naturalWidth === 32`) {
		t.Error("the picture is not shown")
	}
	b.screenshot("offline-predict")

	// A picture dropped on the page (a drop event carrying the file, as
	// a person's drag from the desktop makes).
	drop, err := os.ReadFile(digitsOK[1].path)
	if err != nil {
		t.Fatal(err)
	}
	eval[bool](b, fmt.Sprintf(`(() => {
		const bytes = Uint8Array.from(atob(%q), (c) => c.charCodeAt(0));
		const dt = new DataTransfer();
		dt.items.add(new File([bytes], %q, {type: "image/png"}));
		const zone = document.querySelector("#gr-predict-drop");
		zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
		return zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
	})()`, base64.StdEncoding.EncodeToString(drop), filepath.Base(digitsOK[1].path)))
	b.waitFor("the dropped picture's prediction", fmt.Sprintf(`document.querySelector("#gr-predict-result .gr-hint")?.textContent.includes(%q) || !!document.querySelector("#gr-predict-error")`, filepath.Base(digitsOK[1].path)), 60*time.Second)
	if e := eval[string](b, `document.querySelector("#gr-predict-error")?.textContent || ""`); e != "" {
		t.Fatal(e)
	}
	if dropped := readTop(); len(dropped) != 5 || dropped[0].Class != digitsOK[1].label || math.Abs(dropped[0].P-digitsOK[1].p) > 1e-4 {
		t.Errorf("dropped %s: top 5 %+v, want digit %s with probability %.6f", filepath.Base(digitsOK[1].path), dropped, digitsOK[1].label, digitsOK[1].p)
	}

	// The camera: Chromium's fake device; a frame is taken and classified.
	b.do(chromedp.Click("#gr-camera-start", chromedp.NodeVisible))
	b.waitFor("the camera", `document.querySelector("#gr-camera")?.videoWidth > 0 || !!document.querySelector("#gr-camera-error")`, 30*time.Second)
	if e := eval[string](b, `document.querySelector("#gr-camera-error")?.textContent || ""`); e != "" {
		t.Fatalf("camera: %s", e)
	}
	b.do(chromedp.Click("#gr-camera-shoot", chromedp.NodeVisible))
	b.waitFor("the camera's prediction", `document.querySelector("#gr-predict-result .gr-hint")?.textContent.includes("the camera's picture") || !!document.querySelector("#gr-predict-error")`, 60*time.Second)
	if e := eval[string](b, `document.querySelector("#gr-predict-error")?.textContent || ""`); e != "" {
		t.Fatal(e)
	}
	cam := readTop()
	// The frame stays on the page: the canvas has the camera's size and
	// its picture (the fake device draws a pattern: more than one colour).
	frame := eval[[]int](b, `(() => {
		const c = document.querySelector("#gr-camera-canvas"), v = document.querySelector("#gr-camera");
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data, seen = new Set();
		for (let i = 0; i < d.length; i += 4 * 97) seen.add(d[i] + "," + d[i + 1] + "," + d[i + 2]);
		return [c.width, c.height, v.videoWidth, v.videoHeight, seen.size, c.hidden ? 0 : 1];
	})()`)
	t.Logf("camera frame %dx%d (video %dx%d, %d colours sampled): %+v", frame[0], frame[1], frame[2], frame[3], frame[4], cam)
	if len(cam) != 5 || cam[0].Class == "" || cam[0].Width <= 0 || cam[0].P <= cam[4].P {
		t.Errorf("camera top 5: %+v", cam)
	}
	if frame[0] != frame[2] || frame[1] != frame[3] || frame[0] == 0 || frame[4] < 2 || frame[5] != 1 {
		t.Errorf("the camera's frame on the page: canvas %dx%d, video %dx%d, %d colours, shown %d", frame[0], frame[1], frame[2], frame[3], frame[4], frame[5])
	}
	b.screenshot("offline-predict-camera")
	b.do(chromedp.Click("#gr-camera-stop", chromedp.NodeVisible))

	// The Evaluate page offline: the stored model, the dataset list seen
	// last, and the test split, whose shards the worker keeps in its
	// persistent cache: it evaluates with the server stopped too.
	b.do(chromedp.Click("#gr-nav-evaluate", chromedp.NodeVisible))
	b.waitFor("the evaluate page offline", pageReady("/evaluate")+` && document.querySelectorAll("#gr-eval-checkpoint option").length >= 2`, 30*time.Second)
	eval[bool](b, chooseImported)
	b.waitFor("the imported model offline", `document.querySelector("#gr-eval-checkpoint").value.startsWith("import/") && document.querySelector("#gr-eval-split")?.value === "test" && !document.querySelector("#gr-eval-run").disabled`, 30*time.Second)
	b.do(chromedp.Click("#gr-eval-run", chromedp.NodeVisible))
	b.waitFor("the evaluation offline", `!!document.querySelector("#gr-eval-result") || !!document.querySelector("#gr-eval-error")`, 120*time.Second)
	if e := eval[string](b, `document.querySelector("#gr-eval-error")?.textContent || ""`); e != "" {
		t.Fatalf("offline: %s", e)
	}
	off := pageMetrics(b)
	t.Logf("offline, the Evaluate page: loss %.6f, top-1 %.4f, top-5 %.4f on %d", off.Loss, off.Top1, off.Top5, off.N)
	compareMetrics(t, "offline", off, want)
	b.screenshot("offline-evaluate")

	t.Logf("TestBrowserEvaluatePredict took %v", time.Since(t0).Round(time.Millisecond))
}

// evaluateNatively is `goresnet evaluate`'s computation (model/train).
func evaluateNatively(t *testing.T, ck *train.Checkpoint, digits string) *train.Metrics {
	ctx := context.Background()
	net, err := ck.Net()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := data.OpenPath(ctx, digits, nil)
	if err != nil {
		t.Fatal(err)
	}
	norm, err := predict.Norm(ck.Meta.Preprocess)
	if err != nil {
		t.Fatal(err)
	}
	size := ck.Meta.Preprocess.Size
	ld, err := data.NewLoader(ds, data.LoaderConfig{Split: "test", BatchSize: 32, Size: size, Norm: norm, Prefetch: 1})
	if err != nil {
		t.Fatal(err)
	}
	wss := map[int]*resnet.Workspace{}
	it := ld.Epoch(ctx, 0)
	defer it.Close()
	m, err := train.Evaluate(ctx, net, func(n int) (*resnet.Workspace, error) {
		if ws, ok := wss[n]; ok {
			return ws, nil
		}
		ws, err := net.NewWorkspace(n, size, size)
		wss[n] = ws
		return ws, err
	}, it)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type digitFile struct {
	path, label string
	p           float64
}

// pickDigits writes test pictures as PNG files and returns, for each class
// the model gets right in the first 50, the picture it classifies right
// with the highest probability (model/predict, as the worker computes
// it), most probable first.
func pickDigits(t *testing.T, ck *train.Checkpoint, digits string) []digitFile {
	ctx := context.Background()
	ds, err := data.OpenPath(ctx, digits, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := predict.New(ck)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := ds.Shard(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	best := map[string]digitFile{}
	h, w := ds.Manifest.Image.Height, ds.Manifest.Image.Width
	for i := range min(sh.Records, 50) {
		l, pix := sh.Record(i)
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for j := range w * h {
			copy(img.Pix[4*j:], pix[3*j:3*j+3])
			img.Pix[4*j+3] = 255
		}
		var f bytes.Buffer
		if err := png.Encode(&f, img); err != nil {
			t.Fatal(err)
		}
		s, err := c.Classify(f.Bytes(), 5)
		if err != nil {
			t.Fatal(err)
		}
		name := ds.Manifest.Classes[l].Name
		if s[0].Class == name && s[0].Probability > best[name].p {
			p := filepath.Join(dir, fmt.Sprintf("digit-%s-%03d.png", name, i))
			if err := os.WriteFile(p, f.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			best[name] = digitFile{p, name, s[0].Probability}
		}
	}
	var out []digitFile
	for _, d := range best {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].p > out[j].p })
	return out
}

type pageResult struct {
	Loss      float64   `json:"loss"`
	Top1      float64   `json:"top1"`
	Top5      float64   `json:"top5"`
	N         int       `json:"n"`
	PerClass  []float64 `json:"perClass"`
	Names     []string  `json:"names"`
	Confusion [][]int   `json:"confusion"`
	Columns   []string  `json:"columns"`
}

// pageMetrics reads the Evaluate page's result.
func pageMetrics(b *browser) pageResult {
	s := eval[string](b, `(() => {
		const r = document.querySelector("#gr-eval-result").dataset;
		const pc = [...document.querySelectorAll("#gr-eval-perclass tbody tr")];
		const cm = [...document.querySelectorAll("#gr-confusion tbody tr")];
		return JSON.stringify({loss: +r.loss, top1: +r.top1, top5: +r.top5, n: +r.n,
			perClass: pc.map((e) => +e.dataset.accuracy), names: pc.map((e) => e.dataset.class),
			confusion: cm.map((e) => [...e.querySelectorAll("td")].map((c) => +c.dataset.count)),
			columns: [...document.querySelectorAll("#gr-confusion thead th.gr-pred")].map((e) => e.textContent)});
	})()`)
	var r pageResult
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		b.t.Fatal(err)
	}
	return r
}

func compareMetrics(t *testing.T, what string, got pageResult, want *train.Metrics) {
	t.Helper()
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-4 }
	if got.N != want.N || !near(got.Loss, want.Loss) || !near(got.Top1, want.Top1) || !near(got.Top5, want.Top5) {
		t.Errorf("%s: the page shows loss %v, top-1 %v, top-5 %v on %d; model/train: %v, %v, %v on %d", what,
			got.Loss, got.Top1, got.Top5, got.N, want.Loss, want.Top1, want.Top5, want.N)
	}
	names := strings.Split("0,1,2,3,4,5,6,7,8,9", ",")
	if strings.Join(got.Names, ",") != strings.Join(names, ",") || strings.Join(got.Columns, ",") != strings.Join(names, ",") {
		t.Errorf("%s: class names %v, columns %v", what, got.Names, got.Columns)
	}
	for i, a := range want.PerClass {
		if i >= len(got.PerClass) || !(near(got.PerClass[i], a) || (math.IsNaN(a) && got.PerClass[i] == -1)) {
			t.Errorf("%s: per-class accuracy %v, model/train %v", what, got.PerClass, want.PerClass)
			break
		}
	}
	if fmt.Sprint(got.Confusion) != fmt.Sprint(want.Confusion) {
		t.Errorf("%s: confusion matrix %v, model/train %v", what, got.Confusion, want.Confusion)
	}
}
