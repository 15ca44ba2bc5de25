//go:build !js

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/goresnet/goresnet/cli"
	"github.com/goresnet/goresnet/model/data/datatest"
	"github.com/goresnet/goresnet/model/runspec"
	"github.com/goresnet/goresnet/model/train"
	"github.com/goresnet/goresnet/server"
)

// longTaskObserver records the page's long tasks (over 50 ms, the
// browser's threshold) from the start of every document.
const longTaskObserver = `
window.__longtasks = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longtasks.push({start: e.startTime, duration: e.duration});
  }).observe({type: "longtask", buffered: true});
} catch (e) {}
`

// trainHarness is a server with the digits and a browser on it.
type trainHarness struct {
	*browser
	base      string
	downloads string
	digits    string
	console   func() string
	// stopServer stops the server (to test offline); served is its end.
	stopServer context.CancelFunc
	served     chan error
}

func newTrainHarness(t testing.TB, digits string, opts ...chromedp.ExecAllocatorOption) *trainHarness {
	t.Helper()
	chromium := chromiumPath()
	if chromium == "" {
		t.Skip("skipped: Chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
	}
	web := buildWeb(t)
	logw := &logWriter{t: t}
	t.Cleanup(logw.stop)
	srv, err := server.New(server.Config{WebDir: web, Datasets: map[string]string{"digits": digits}, Debug: testing.Verbose(), Log: logw})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stopServer := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(srvCtx, ln) }()
	t.Cleanup(stopServer)

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(windowWidth, windowHeight),
	}, opts...)...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	timeout := 5 * time.Minute
	if _, bench := t.(*testing.B); bench {
		timeout = 40 * time.Minute
	}
	ctx, cancel := context.WithTimeout(bctx, timeout)
	t.Cleanup(cancel)
	var consoleMu sync.Mutex
	var console []string
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			consoleMu.Lock()
			console = append(console, m.String())
			consoleMu.Unlock()
		}
	}()
	h := &trainHarness{browser: &browser{t: t, ctx: ctx, base: "http://" + ln.Addr().String(), shot: artifacts(t)}, downloads: t.TempDir(), digits: digits}
	h.console = func() string {
		consoleMu.Lock()
		defer consoleMu.Unlock()
		return strings.Join(console, "\n")
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("browser console:\n%s", h.console())
		}
	})
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: longTaskObserver}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: h.downloads}); err != nil {
		t.Fatal(err)
	}
	h.base = h.browser.base
	h.stopServer, h.served = stopServer, served
	return h
}

// setField sets a Train page form field as a person would (a change event).
func (h *trainHarness) setField(id, value string) {
	h.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.getElementById(%q); if (!e) return false; e.value = %q; e.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`, "gr-f-"+id, value)
	if !eval[bool](h.browser, js) {
		h.t.Fatalf("no field %s", id)
	}
}

// longTasks returns the long tasks of the page since start (ms, the
// page's performance.now()).
func (h *trainHarness) longTasks(start float64) []float64 {
	return eval[[]float64](h.browser, fmt.Sprintf(`(window.__longtasks || []).filter((e) => e.start >= %f).map((e) => e.duration)`, start))
}

func (h *trainHarness) now() float64 { return eval[float64](h.browser, "performance.now()") }

// epochRows reads the epoch table: epoch -> loss.
func (h *trainHarness) epochRows() map[int]float64 {
	raw := eval[string](h.browser, `JSON.stringify([...document.querySelectorAll("#gr-epochs tbody tr")].map((r) => [+r.dataset.epoch, +r.dataset.loss]))`)
	var rows [][2]float64
	if err := json.Unmarshal([]byte(raw), &rows); err != nil {
		h.t.Fatal(err)
	}
	m := map[int]float64{}
	for _, r := range rows {
		m[int(r[0])] = r[1]
	}
	return m
}

// TestBrowserTrain trains the digits in the browser with 2 workers: the
// loss falls, a reload mid-training resumes from the last checkpoint, the
// UI thread has no long task while training, a checkpoint saved in the
// browser loads in the CLI (and continues training there), and a CLI
// checkpoint loads in the browser and trains on; a worker that dies
// (worker/debug.go's debug-exit) stops the run with its message, keeps
// the last checkpoint, is replaced, and the run resumes. It also checks,
// driving workers directly, that 2 workers with batch norms frozen take
// the same steps as 1 worker on whole batches.
func TestBrowserTrain(t *testing.T) {
	t0 := time.Now()
	digits := datatest.Digits(t, 480, 100, 32)
	h := newTrainHarness(t, digits)
	b := h.browser

	// The Data page's "Train on this" opens the Train page on the digits.
	b.do(chromedp.Navigate(h.base + "/data?name=digits"))
	b.waitFor("the data page", pageReady("/data"), 60*time.Second)
	b.waitFor("the workers", workersReady, 90*time.Second)
	b.waitFor("train on this", `!!document.querySelector("#gr-train-this")`, 30*time.Second)
	b.do(chromedp.Click("#gr-train-this", chromedp.NodeVisible))
	b.waitFor("the train page", pageReady("/train")+` && location.search === "?dataset=digits"`, 30*time.Second)
	b.waitFor("the digits on the train page", `!document.querySelector("#gr-train-start").disabled && document.querySelector("#gr-train-data").textContent.includes("10 classes")`, 30*time.Second)
	t.Logf("app and workers ready in %v", time.Since(t0).Round(time.Millisecond))

	// Equivalence in the browser: 2 workers vs 1 on whole batches, batch
	// norms frozen, through the real SharedArrayBuffer all-reduce.
	equivalence(t, h)

	// Train a 1/8-width ResNet-18 at 32x32 with 2 workers.
	h.setField("arch", "resnet18")
	h.setField("width", "8")
	h.setField("epochs", "6")
	h.setField("batch", "16")
	h.setField("workers", "2")
	h.setField("lr", "0.05")
	h.setField("val", "test")
	h.setField("save-best", "val_loss")
	start := h.now()
	t1 := time.Now()
	trace, err := startMainTrace(b.ctx)
	if err != nil {
		t.Fatalf("tracing: %v", err)
	}
	b.do(chromedp.Click("#gr-train-start", chromedp.NodeVisible))
	b.waitFor("training", `document.querySelector("#gr-progress")?.dataset.step >= 3`, 90*time.Second)
	first := eval[float64](b, `+document.querySelector("#gr-progress").dataset.loss`)
	t.Logf("training started in %v; running loss %.4f after %s steps", time.Since(t1).Round(time.Millisecond), first, eval[string](b, `document.querySelector("#gr-progress").dataset.step`))
	b.waitFor("the first epoch's checkpoint", `document.querySelectorAll("#gr-epochs tbody tr").length >= 1 && !!document.querySelector("#gr-checkpoints tr[data-kind=epoch]")`, 120*time.Second)
	b.screenshot("train-during")
	before := h.epochRows()
	tasks := h.longTasks(start)
	traced, err := trace.stop(50)
	if err != nil {
		t.Fatalf("tracing: %v", err)
	}
	stepBefore := eval[int](b, `+(document.querySelector("#gr-progress")?.dataset.step || 0)`)
	t.Logf("epoch 1 after %v: %v; step %d", time.Since(t1).Round(time.Millisecond), before, stepBefore)

	// Reload mid-training: the run is offered for resuming from its last
	// checkpoint, and resumes there.
	b.do(chromedp.Reload())
	b.waitFor("the train page after the reload", pageReady("/train"), 60*time.Second)
	b.waitFor("the resume offer", `!!document.querySelector("#gr-train-resume-run")`, 30*time.Second)
	b.waitFor("the workers after the reload", workersReady, 90*time.Second)
	offer := eval[string](b, `document.querySelector("#gr-train-resume").textContent`)
	if !strings.Contains(offer, "was interrupted") {
		t.Errorf("resume offer %q", offer)
	}
	b.screenshot("train-resume-offer")
	saved := h.epochRows()
	if len(saved) == 0 || len(saved) > 5 {
		t.Fatalf("after the reload the page shows epochs %v", saved)
	}
	for e, l := range saved {
		if bl, ok := before[e]; ok && bl != l {
			t.Errorf("epoch %d's loss was %v before the reload, %v after", e, bl, l)
		}
	}
	resumeStart := h.now()
	if trace, err = startMainTrace(b.ctx); err != nil {
		t.Fatalf("tracing: %v", err)
	}
	b.do(chromedp.Click("#gr-train-resume-run", chromedp.NodeVisible))
	b.waitFor("training again", `document.querySelector("#gr-progress")?.dataset.epoch > 0`, 90*time.Second)
	if e := eval[int](b, `+document.querySelector("#gr-progress").dataset.epoch`); e != len(saved)+1 {
		t.Errorf("resumed in epoch %d, the last checkpoint was epoch %d", e, len(saved))
	}
	b.waitFor("the end of training", `document.querySelector("#gr-train-phase").dataset.phase === "done"`, 180*time.Second)
	t.Logf("training done %v after the start", time.Since(t1).Round(time.Millisecond))
	b.screenshot("train-after")
	tasks = append(tasks, h.longTasks(resumeStart)...)
	more, err := trace.stop(50)
	if err != nil {
		t.Fatalf("tracing: %v", err)
	}
	traced = append(traced, more...)
	rows := h.epochRows()
	if len(rows) != 6 {
		t.Errorf("epochs %v, want 6", rows)
	}
	if !(rows[6] < rows[1] && rows[6] < first) {
		t.Errorf("the loss did not fall: running %.4f after 3 steps, epochs %v", first, rows)
	}
	for e, l := range saved {
		if rows[e] != l {
			t.Errorf("epoch %d's loss changed from %v to %v after resuming", e, l, rows[e])
		}
	}
	// The UI thread computes nothing: no task may take over 100 ms of
	// its CPU. The PerformanceObserver's long tasks (wall time) are
	// reported beside the trace's CPU times: on this shared 2-core
	// machine, with both cores training, the OS preempts the UI thread
	// mid-task, and a task of a few ms of work can last 100 ms or more.
	var long []float64
	for _, d := range tasks {
		if d > 100 {
			long = append(long, d)
		}
	}
	var heavy []Task
	for _, tk := range traced {
		if tk.CPU > 100 {
			heavy = append(heavy, tk)
		}
	}
	t.Logf("UI thread while training: PerformanceObserver long tasks (wall ms) %v; traced tasks over 50 ms: %v", tasks, traced)
	if len(heavy) > 0 {
		t.Errorf("the UI thread computed over 100 ms in %d tasks while training: %v (observer: %v ms over 100 ms)", len(heavy), heavy, long)
	}
	best := eval[[]string](b, `[...document.querySelectorAll("#gr-checkpoints tr[data-best=yes]")].map((r) => r.dataset.id)`)
	if len(best) != 1 {
		t.Errorf("%d checkpoints marked best: %v", len(best), best)
	}
	if n := eval[int](b, `document.querySelectorAll("#gr-chart-loss polyline").length`); n < 3 {
		t.Errorf("the loss chart has %d lines", n)
	}

	// A checkpoint saved in the browser, downloaded through the page,
	// loads in the CLI and trains on there (its settings name the
	// server's dataset URL).
	last := eval[string](b, `document.querySelector("#gr-checkpoints tr[data-kind=epoch]").dataset.id`)
	name := eval[string](b, `document.querySelector("#gr-checkpoints tr[data-kind=epoch] td").textContent`)
	path := filepath.Join(h.downloads, name)
	clicked := time.Time{}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Since(clicked) > 10*time.Second {
			b.do(chromedp.Click(`#gr-checkpoints tr[data-kind=epoch] .gr-download`, chromedp.NodeVisible))
			clicked = time.Now()
		}
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			if _, err := train.OpenCheckpoint(path); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			ents, _ := os.ReadDir(h.downloads)
			t.Fatalf("no download of %s (%s) in %s (it has %v; notice %q)", last, name, h.downloads, ents,
				eval[string](b, `document.querySelector("#gr-train-notice")?.textContent || ""`))
		}
	}
	ck, err := train.OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	var settings runspec.Settings
	if err := json.Unmarshal(ck.Meta.Train, &settings); err != nil {
		t.Fatal(err)
	}
	if ck.Meta.Epoch != 6 || ck.Config.Arch != "resnet18" || ck.Config.WidthDiv != 8 || len(ck.Meta.Classes) != 10 || settings.Data != h.base+"/data/digits/" || settings.Replicas != 2 {
		t.Errorf("the browser's checkpoint: epoch %d, %+v, settings %+v", ck.Meta.Epoch, ck.Config, settings)
	}
	runDir := t.TempDir()
	if err := os.Link(path, filepath.Join(runDir, "last.safetensors")); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := cli.Main([]string{"train", "--checkpoint-dir", runDir, "--resume", "--epochs", "7", "--checkpoint-pattern", ""}, &out, &errOut); code != 0 {
		t.Fatalf("the CLI could not resume the browser's checkpoint: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "resuming") || !strings.Contains(out.String(), "epoch 7/7") {
		t.Errorf("CLI resume:\n%s", out.String())
	}
	t.Logf("the CLI resumed the browser's checkpoint: %s", strings.TrimSpace(lastLine(out.String(), "epoch 7/7")))

	// A CLI checkpoint loads in the browser: imported through the page,
	// then trained on for one more epoch with 2 workers.
	cliDir := t.TempDir()
	out.Reset()
	errOut.Reset()
	if code := cli.Main([]string{"train", "--data", digits, "--arch", "resnet18", "--width-div", "8", "--epochs", "1", "--batch", "16",
		"--lr", "0.05", "--val-split", "test", "--checkpoint-dir", cliDir, "--checkpoint-pattern", ""}, &out, &errOut); code != 0 {
		t.Fatalf("CLI training: exit %d\n%s", code, errOut.String())
	}
	cliCk := filepath.Join(cliDir, "cli-digits.safetensors")
	if err := os.Rename(filepath.Join(cliDir, "last.safetensors"), cliCk); err != nil {
		t.Fatal(err)
	}
	cliHist, err := train.OpenCheckpoint(cliCk)
	if err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.SetUploadFiles("#gr-import-file", []string{cliCk}, chromedp.NodeReady))
	b.waitFor("the imported checkpoint", `!!document.querySelector('#gr-checkpoints tr[data-kind=import]')`, 60*time.Second)
	if n := eval[string](b, `document.querySelector("#gr-train-notice")?.textContent || ""`); !strings.Contains(n, "Imported cli-digits.safetensors") {
		t.Errorf("import notice %q", n)
	}
	h.setField("epochs", "1")
	b.do(chromedp.Click(`#gr-checkpoints tr[data-kind=import] .gr-train-from`, chromedp.NodeVisible))
	b.waitFor("training from the CLI checkpoint", `document.querySelector("#gr-train-phase").dataset.phase === "done" && document.querySelectorAll("#gr-epochs tbody tr").length === 2`, 120*time.Second)
	rows = h.epochRows()
	if got, want := rows[1], cliHist.Meta.History.Epochs[0].Loss; fmt.Sprintf("%.6g", got) != fmt.Sprintf("%.6g", want) {
		t.Errorf("epoch 1 of the imported run shows loss %v, the CLI's was %v", got, want)
	}
	if _, ok := rows[2]; !ok {
		t.Errorf("no epoch 2 after training from the CLI checkpoint: %v", rows)
	}
	b.screenshot("train-from-cli")

	// A worker that dies (as running out of memory kills a wasm
	// instance) stops training with its message; the last checkpoint
	// stays, the worker is replaced, and the run resumes from it.
	h.setField("epochs", "4")
	h.setField("batch", "16")
	h.setField("workers", "2")
	h.setField("val", "test")
	// The new run is the one whose checkpoint appears (the tables may
	// still show the run before for a moment after Start).
	runsOf := `[...document.querySelectorAll("#gr-checkpoints tr[data-kind=epoch]")].map((r) => r.dataset.id.split("/")[0])`
	runsBefore, _ := json.Marshal(eval[[]string](b, runsOf))
	newRun := fmt.Sprintf(`(%s).find((r) => !%s.includes(r))`, runsOf, runsBefore)
	b.do(chromedp.Click("#gr-train-start", chromedp.NodeVisible))
	b.waitFor("a new run's first checkpoint", `document.querySelector("#gr-train-phase").dataset.phase === "training" && !!`+newRun, 120*time.Second)
	run := eval[string](b, newRun)
	if res := eval[any](b, `goresnetDebug.post(1, {type: "debug-exit", id: 4242, body: {message: "simulated out of memory"}})`); res != nil {
		t.Fatalf("posting to worker 1: %v", res)
	}
	b.waitFor("the failure", `document.querySelector("#gr-train-phase").dataset.phase === "failed"`, 60*time.Second)
	msgText := eval[string](b, `document.querySelector("#gr-train-error").textContent`)
	if !strings.Contains(msgText, "worker 1 stopped") || !strings.Contains(msgText, "simulated out of memory") {
		t.Errorf("the failure says %q", msgText)
	}
	b.screenshot("train-worker-died")
	t.Logf("status bar after the death: %s", eval[string](b, `document.querySelector("#gr-status-workers").textContent`))
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](workersReady, chromedp.WithPollingTimeout(90*time.Second))); err != nil {
		t.Fatalf("the dead worker was not replaced: the status bar says %q", eval[string](b, `document.querySelector("#gr-status-workers").textContent`))
	}
	b.waitFor("the failed run's resume offer", `document.querySelector("#gr-train-resume")?.textContent.includes("failed")`, 30*time.Second)
	if got := eval[string](b, `document.querySelector("#gr-train-resume").dataset.run`); got != run {
		t.Errorf("the resume offer is for run %s, the failed run is %s", got, run)
	}
	kept := eval[int](b, fmt.Sprintf(`[...document.querySelectorAll("#gr-checkpoints tr[data-kind=epoch]")].filter((r) => r.dataset.id.startsWith(%q)).length`, run+"/"))
	if kept < 1 {
		t.Errorf("the failed run kept no checkpoint")
	}
	// The failure is stored with the run (after the live worker 0 has
	// recorded its own end): a reload still says why it stopped.
	b.do(chromedp.Reload())
	b.waitFor("the train page after the failure", pageReady("/train"), 60*time.Second)
	b.waitFor("the failed run's resume offer after a reload", `document.querySelector("#gr-train-resume")?.textContent.includes("failed")`, 30*time.Second)
	b.waitFor("the workers after the reload", workersReady, 90*time.Second)
	if stored := eval[string](b, `document.querySelector("#gr-train-error")?.textContent || ""`); !strings.Contains(stored, "worker 1 stopped") || !strings.Contains(stored, "simulated out of memory") {
		t.Errorf("after a reload the failed run says %q", stored)
	}
	saved = h.epochRows()
	b.do(chromedp.Click("#gr-train-resume-run", chromedp.NodeVisible))
	b.waitFor("the resumed run training", `document.querySelector("#gr-progress")?.dataset.epoch > 0`, 90*time.Second)
	if e := eval[int](b, `+document.querySelector("#gr-progress").dataset.epoch`); e != len(saved)+1 {
		t.Errorf("resumed in epoch %d, the failed run's history had %d epochs", e, len(saved))
	}
	b.waitFor("the resumed run's end", `document.querySelector("#gr-train-phase").dataset.phase === "done" && document.querySelectorAll("#gr-epochs tbody tr").length === 4`, 120*time.Second)
	rows = h.epochRows()
	for e, l := range saved {
		if rows[e] != l {
			t.Errorf("epoch %d's loss changed from %v to %v after resuming the failed run", e, l, rows[e])
		}
	}
	t.Logf("a worker died with %q; %d checkpoint(s) kept; the run resumed in epoch %d and finished", msgText, kept, len(saved)+1)
	t.Logf("TestBrowserTrain took %v", time.Since(t0).Round(time.Millisecond))
}

func lastLine(s, containing string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, containing) {
			return l
		}
	}
	return ""
}

// workerDriverJS defines window.__grWorker(): a worker.js Worker with a
// request function that matches answers by id (the protocol of
// worker/README.md), for tests that drive workers directly.
const workerDriverJS = `(() => {
  window.__grWorker = () => {
    const w = new Worker("/web/worker.js"), pending = new Map();
    let ready; const isReady = new Promise((r) => ready = r);
    w.onmessage = (e) => {
      const m = e.data;
      if (m.type === "ready") ready();
      else if (m.id && pending.has(m.id)) { const p = pending.get(m.id); pending.delete(m.id); m.type === "error" ? p.rej(new Error(m.message)) : p.res(m); }
    };
    let n = 0;
    return {w, isReady, req(type, body, buffers) { const id = ++n; return new Promise((res, rej) => { pending.set(id, {res, rej}); w.postMessage({type, id, body, buffers}); }); }};
  };
  // A shared buffer laid out as worker/allreduce.Layout, initialised as allreduce.Init does.
  window.__grShared = (k, cap) => {
    const sab = new SharedArrayBuffer(16*4 + 64*8 + (k+1)*cap*4);
    const w32 = new Int32Array(sab, 0, 16);
    w32[5] = k; w32[6] = cap; w32[7] = 0x67727231;
    return sab;
  };
  return true;
})()`

// equivalenceJS drives worker.js directly: K workers, one SharedArrayBuffer
// laid out as worker/allreduce.Layout, a few optimizer steps with batch
// norms frozen; it returns each group's weights' sha256 per worker and
// the largest relative difference between the 2-worker and 1-worker
// parameters.
const equivalenceJS = `(async () => {
  const bns = ["bn1"];
  for (let l = 1; l <= 4; l++) for (let b = 0; b < 2; b++) { bns.push("layer"+l+"."+b+".bn1"); bns.push("layer"+l+"."+b+".bn2"); }
  for (let l = 2; l <= 4; l++) bns.push("layer"+l+".0.downsample.1");
  const settings = {data: "", split: "train", val_split: "none", arch: "resnet18", width_div: 8, head: "standard", dropout: 0.5, size: 0,
    freeze: bns.join(","), epochs: 1, batch: 16, accumulate: 1, optimizer: "sgd", lr: 0.05, momentum: 0.9, weight_decay: 1e-4,
    schedule: "constant", augment: "flip=horizontal", norm: "imagenet", save_best: "loss", seed: 3, workers: 1};
  const mk = window.__grWorker;
  const group = async (k) => {
    const ws = Array.from({length: k}, mk);
    await Promise.all(ws.map((x) => x.isReady));
    await Promise.all(ws.map((x) => x.req("dataset-open", {name: "digits"})));
    const infos = await Promise.all(ws.map((x, i) => x.req("model-init", {run: "eq", dataset: "digits", settings, rank: i, parts: k})));
    const sab = window.__grShared(k, Math.max(...infos.map((r) => r.body.reduce_floats)));
    const t0 = performance.now();
    const res = await Promise.all(ws.map((x) => x.req("train", {run: "eq", max_steps: 6, hash: true, return_weights: true, check_every: 1}, {shared: sab})));
    const ms = performance.now() - t0;
    ws.forEach((x) => x.w.terminate());
    return {res, ms};
  };
  const two = await group(2), one = await group(1);
  const a = new Float32Array(two.res[0].buffers.params), b = new Float32Array(one.res[0].buffers.params);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return JSON.stringify({hashes: two.res.map((r) => r.body.weights), steps: [two.res[0].body.step, one.res[0].body.step], rel: d / m, n: a.length,
    ms: [two.ms, one.ms], reduces: two.res[0].body.reduces});
})()`

func equivalence(t *testing.T, h *trainHarness) {
	t0 := time.Now()
	var r struct {
		Hashes  []string  `json:"hashes"`
		Steps   []int     `json:"steps"`
		Rel     float64   `json:"rel"`
		N       int       `json:"n"`
		MS      []float64 `json:"ms"`
		Reduces int       `json:"reduces"`
	}
	eval[bool](h.browser, workerDriverJS)
	if err := json.Unmarshal([]byte(eval[string](h.browser, equivalenceJS)), &r); err != nil {
		t.Fatal(err)
	}
	t.Logf("2 workers vs 1, batch norms frozen, 6 steps of 16: %d parameters differ by %.2g relative (max |diff| / max |w|); replicas %v; %d all-reduces; %.0f / %.0f ms (%v in all)",
		r.N, r.Rel, r.Hashes, r.Reduces, r.MS[0], r.MS[1], time.Since(t0).Round(time.Millisecond))
	if r.Steps[0] != 6 || r.Steps[1] != 6 {
		t.Errorf("steps %v, want 6 each", r.Steps)
	}
	if len(r.Hashes) != 2 || r.Hashes[0] == "" || r.Hashes[0] != r.Hashes[1] {
		t.Errorf("the 2 replicas differ: %v", r.Hashes)
	}
	if !(r.Rel <= 1e-5) {
		t.Errorf("2 workers' weights differ from 1 worker's by %.3g relative, want <= 1e-5", r.Rel)
	}
}
