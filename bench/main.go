// Command bench is `make bench`: goresnet's ResNet-50 measured against
// PyTorch, TensorFlow.js and onnxruntime-web on this machine, in one run,
// so that the ratios compare (numbers from different runs on a shared
// machine do not).
//
//	make bench            # the full run (under 15 minutes on 2 cores)
//	make bench QUICK=1    # batch 1 only, 3 runs per figure (under 3 minutes)
//	go run ./bench -h     # the flags
//
// What it runs, each figure as min and median of -reps runs after
// -warmup runs:
//   - native, ours: BenchmarkResNet50Threads (forward and training step
//     at 224, batch 1 and 8, 1 and 2 threads; activation memory per image,
//     allocations per step) and BenchmarkSgemmThreads (the GEMM shapes);
//   - native, PyTorch: bench/torch_bench.py (torchvision's resnet50, the
//     same shapes and threads, plus the oneDNN forward);
//   - browser, in headless Chromium driven by chromedp, with our server
//     (cross-origin isolated) serving the app, the bench pages of
//     bench/web and the JavaScript peers of bench/js: our worker
//     (worker.wasm, the bench-step request) forward and training step at
//     224 b1 with 1 and 2 workers; the app's cold load; TensorFlow.js 4.22
//     with its wasm backend (a tf.layers ResNet-50, forward, and its
//     training attempt); onnxruntime-web on the ONNX file our export
//     writes, forward with 1 and 2 threads.
//
// A peer that cannot be installed here is listed in the table with the
// reason. The table is printed and written to -out (bench/results.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/goresnet/goresnet/internal/cpuinfo"
)

type harness struct {
	root   string
	web    string
	cli    string
	tmp    string
	quick  bool
	reps   int
	warmup int
	skip   map[string]bool
	log    io.Writer

	aptUpdated bool
	installed  []string
	versions   []string
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.log, "bench: "+format+"\n", args...)
}

// cannotApt says why we may not install Debian packages ("" if we may).
func (h *harness) cannotApt() string {
	if os.Getuid() != 0 {
		return "not running as root, so it is not installed here"
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "no apt-get here to install it"
	}
	return ""
}

// apt installs Debian packages.
func (h *harness) apt(pkgs ...string) error {
	run := func(args ...string) error {
		h.logf("apt-get %s", strings.Join(args, " "))
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = h.log, h.log
		return cmd.Run()
	}
	if !h.aptUpdated {
		if err := run("update"); err != nil {
			return fmt.Errorf("apt-get update: %v", err)
		}
		h.aptUpdated = true
	}
	if err := run(append([]string{"install", "-y"}, pkgs...)...); err != nil {
		return fmt.Errorf("apt-get install %s: %v", strings.Join(pkgs, " "), err)
	}
	h.installed = append(h.installed, "apt-get install "+strings.Join(pkgs, " "))
	return nil
}

func main() {
	quick := flag.Bool("quick", os.Getenv("QUICK") != "" && os.Getenv("QUICK") != "0", "batch 1 only, 3 runs per figure (also: QUICK=1)")
	reps := flag.Int("reps", 0, "timed runs per figure (default 5, 3 with -quick)")
	warmup := flag.Int("warmup", 1, "untimed runs before each figure's timed runs")
	out := flag.String("out", "bench/results.md", "write the results here")
	web := flag.String("web", "web", "the built app (make web)")
	cli := flag.String("cli", "bin/goresnet", "the goresnet binary (make build); built into a temporary folder when missing")
	skip := flag.String("skip", "", "parts to leave out, comma-separated: native, sgemm, torch, ours, load, tfjs, ort")
	flag.Parse()

	root, err := os.Getwd()
	if err != nil {
		fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		fatal(errors.New("run it from the repository's root (make bench)"))
	}
	h := &harness{root: root, web: *web, cli: *cli, quick: *quick, reps: *reps, warmup: *warmup, skip: map[string]bool{}, log: os.Stderr}
	if h.reps <= 0 {
		h.reps = 5
		if h.quick {
			h.reps = 3
		}
	}
	for _, s := range strings.Split(*skip, ",") {
		if s = strings.TrimSpace(s); s != "" {
			h.skip[s] = true
		}
	}
	h.tmp, err = os.MkdirTemp("", "goresnet-bench-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(h.tmp)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	t0 := time.Now()
	load0 := loadAvg()
	header := fmt.Sprintf("CPU: %s, %d cores; %s/%s; %s, GOEXPERIMENT=%s", cpuinfo.Model(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), os.Getenv("GOEXPERIMENT"))
	fmt.Fprintln(os.Stderr, header)
	rows := h.run(ctx)

	var b strings.Builder
	mode := "full"
	if h.quick {
		mode = "quick (QUICK=1)"
	}
	fmt.Fprintf(&b, "%s\n\n", header)
	fmt.Fprintf(&b, "`make bench`, %s run of %s, %s: each figure is the min and median of %d runs after %d warm-up run(s); load average %s at the start, %s at the end.\n",
		mode, time.Now().Format("2006-01-02 15:04"), time.Since(t0).Round(time.Second), h.reps, h.warmup, load0, loadAvg())
	if len(h.versions) > 0 {
		fmt.Fprintf(&b, "Peers: %s.\n", strings.Join(h.versions, "; "))
	}
	if len(h.installed) > 0 {
		fmt.Fprintf(&b, "Installed by this run: %s.\n", strings.Join(h.installed, "; "))
	}
	b.WriteString("\n")
	writeTable(&b, rows)
	b.WriteString(legend)
	fmt.Print("\n" + b.String())
	if *out != "" {
		if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
			fatal(err)
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s (%s in all)\n", *out, time.Since(t0).Round(time.Second))
	}
}

const legend = `
Times are per image (a step's time divided by its batch) except for the
app's load and SGEMM calls. A training step is forward, loss and backward,
without an optimizer step, everywhere. Ratio: the row's median over ours
for the same op, place and threads (above 1: slower than ours); in the
browser, our 2 workers each run batch 1 at once (2 images per round, no
gradient exchange) and are compared per image with a peer's 2 threads.
`

var tfjsThreads = []int{1, 2}

// commas writes 25610152 as 25,610,152.
func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return "unknown"
	}
	return f[0]
}

// run measures everything and returns the table's rows in order.
func (h *harness) run(ctx context.Context) []*row {
	var rows []*row
	add := func(r ...*row) { rows = append(rows, r...) }

	// Native: ours, then PyTorch, op by op.
	var ours map[string]*row
	var sgemm []*row
	if !h.skip["native"] {
		ours, sgemm = h.runNative()
		if h.skip["sgemm"] {
			sgemm = nil
		}
	}
	var torch map[string]*row
	var torchErr error
	if !h.skip["torch"] {
		var version string
		torch, version, torchErr = h.runTorch()
		if version != "" {
			h.versions = append(h.versions, version)
		}
	}
	if torchErr != nil {
		add(&row{system: "PyTorch", place: "native", where: "native", op: "all", skip: torchErr.Error()})
	}
	for _, o := range h.nativeOps() {
		for _, t := range []int{1, 2} {
			if r := ours[fmt.Sprintf("t%d/%s", t, o.key())]; r != nil {
				add(r)
			}
			modes := []string{"train"}
			if o.mode == "forward" {
				modes = []string{"eval", "mkldnn"}
			}
			for _, m := range modes {
				if r := torch[fmt.Sprintf("t%d/%s %s", t, m, o.key())]; r != nil {
					add(r)
				}
			}
		}
	}

	// The browser.
	if !(h.skip["ours"] && h.skip["load"] && h.skip["tfjs"] && h.skip["ort"]) {
		add(h.runBrowser(ctx)...)
	}
	add(sgemm...)
	return rows
}

// runBrowser measures our worker, the app's load and the JavaScript peers.
func (h *harness) runBrowser(ctx context.Context) []*row {
	fail := func(system, why string) []*row {
		return []*row{{system: system, place: "browser", where: "Chromium", op: "all", skip: why}}
	}
	chromium, err := h.ensureChromium()
	if err != nil {
		return fail("browser figures (ours and the JavaScript peers)", err.Error())
	}
	var jsErr error
	if !h.skip["tfjs"] || !h.skip["ort"] {
		jsErr = h.ensureJS()
	}
	onnx := ""
	var onnxErr error
	if !h.skip["ort"] && jsErr == nil {
		onnx, onnxErr = h.exportONNX(h.tmp)
	}
	b, stop, err := h.startBrowser(ctx, chromium, onnx)
	defer stop()
	if err != nil {
		return fail("browser figures (ours and the JavaScript peers)", err.Error())
	}
	var fwd, train, load, peersTrain []*row
	ops := []netOp{{"forward", 1}, {"train", 1}}

	// Ours: the app's worker, 1 and 2 at once.
	if !h.skip["ours"] {
		for _, o := range ops {
			var one *oursResult
			for _, k := range []int{1, 2} {
				r := &row{place: "browser", threads: k, thrText: fmt.Sprintf("%d worker", k), op: o.label(), key: o.key(), ours: true}
				if k > 1 {
					r.thrText += "s"
					r.op += " on each"
				}
				var res oursResult
				err := b.run("/bench/page/ours.html", fmt.Sprintf("benchWorkers(%d, %q, %d, %d)", k, o.mode, h.warmup, h.reps), 10*time.Minute, &res)
				r.system = "goresnet worker (js/wasm)"
				if err != nil {
					r.skip = err.Error()
				} else {
					r.system = fmt.Sprintf("goresnet worker (js/wasm, %s)", res.Kernel)
					var goMS []float64
					for _, g := range res.GoMS {
						goMS = append(goMS, g...)
					}
					for _, ms := range res.RoundMS {
						r.ms = append(r.ms, ms/float64(k))
					}
					r.note = fmt.Sprintf("a step takes %s ms in Go (median); built in %.1f s", fmtMS(median(goMS)), res.SetupMS/1e3)
					if k == 1 {
						one = &res
					} else {
						r.note = fmt.Sprintf("%s ms per round of %d images; ", fmtMS(median(res.RoundMS)), k) + r.note
						if one != nil {
							r.note += fmt.Sprintf("; data-parallel efficiency %.0f%%", 100*median(one.RoundMS)/median(res.RoundMS))
						}
					}
				}
				if o.mode == "forward" {
					fwd = append(fwd, r)
				} else {
					train = append(train, r)
				}
			}
		}
	}

	// The app's cold load.
	if !h.skip["load"] {
		shown, ready, err := b.appLoad(h.warmup + h.reps)
		r1 := &row{system: "goresnet app", place: "browser", op: "cold load, loopback: home page shown", ms: shown, note: "from navigation start; new browser context each time (no cache, no service worker)"}
		r2 := &row{system: "goresnet app", place: "browser", op: "cold load, loopback: workers ready", ms: ready, note: "all workers of the pool (min(cores, 4)) ready and answering a ping"}
		if err != nil {
			r1.skip, r2.skip = err.Error(), err.Error()
		}
		load = append(load, r1, r2)
	}

	// TensorFlow.js, wasm backend.
	if !h.skip["tfjs"] {
		version := "TensorFlow.js 4.22 (wasm backend)"
		for _, t := range tfjsThreads {
			r := &row{system: version, place: "browser", threads: t, op: ops[0].label(), key: ops[0].key()}
			fwd = append(fwd, r)
			if jsErr != nil {
				r.skip = jsErr.Error()
				continue
			}
			var res tfjsResult
			if err := b.run("/bench/page/tfjs.html", fmt.Sprintf("benchTfjs(%d, %d, %d, %v)", t, h.warmup, h.reps, t == 1), 10*time.Minute, &res); err != nil {
				r.skip = err.Error()
				continue
			}
			version = fmt.Sprintf("TensorFlow.js %s (wasm backend)", res.Version)
			r.system = version
			r.ms = res.ForwardMS
			r.note = fmt.Sprintf("tf.layers ResNet-50 (%s parameters as Keras counts them, running statistics included); SIMD %v, multithread %v, tf.wasm.getThreadsCount() = %d",
				commas(res.Params), res.SIMD, res.Multithread, res.Threads)
			if res.Threads != t {
				r.thrText = fmt.Sprintf("%d asked, %d used", t, res.Threads)
			}
			if t == 1 {
				tr := &row{system: version, place: "browser", threads: t, op: ops[1].label(), key: ops[1].key()}
				if res.TrainError != "" {
					tr.skip = "the training step fails: `" + res.TrainError + "`"
					tr.note = "(tf.variableGrads of softmax cross-entropy, what model.fit computes)"
				} else {
					tr.ms = res.TrainMS
					tr.note = "tf.variableGrads of softmax cross-entropy"
				}
				peersTrain = append(peersTrain, tr)
			}
		}
		h.versions = append(h.versions, version+" in "+b.where())
	}

	// onnxruntime-web on our exported ONNX file.
	if !h.skip["ort"] {
		version := "onnxruntime-web (wasm)"
		training := ""
		for _, t := range []int{1, 2} {
			r := &row{system: version, place: "browser", threads: t, op: ops[0].label(), key: ops[0].key()}
			fwd = append(fwd, r)
			switch {
			case jsErr != nil:
				r.skip = jsErr.Error()
				continue
			case onnxErr != nil:
				r.skip = onnxErr.Error()
				continue
			}
			var res ortResult
			if err := b.run("/bench/page/ort.html", fmt.Sprintf("benchOrt(%d, %d, %d)", t, h.warmup, h.reps), 10*time.Minute, &res); err != nil {
				r.skip = err.Error()
				continue
			}
			version = fmt.Sprintf("onnxruntime-web %s (wasm)", res.Version)
			r.system = version
			r.ms = res.ForwardMS
			r.note = fmt.Sprintf("our export's ONNX (batch norms folded); threads %d, isolated %v", res.Threads, res.Isolated)
			training = res.Training
		}
		if training != "" {
			tr := &row{system: version, place: "browser", threads: 1, op: ops[1].label(), key: ops[1].key()}
			if training == "undefined" {
				tr.skip = "no training API in this build (`ort.TrainingSession` is undefined)"
			} else {
				tr.skip = "not attempted (ort.TrainingSession is " + training + ", but needs training artifacts)"
			}
			peersTrain = append(peersTrain, tr)
		}
		h.versions = append(h.versions, version+" in "+b.where())
	}

	// Order: forward by threads (ours first), training, loads.
	var out []*row
	for _, t := range []int{1, 2} {
		for _, r := range fwd {
			if r.threads == t {
				out = append(out, r)
			}
		}
	}
	out = append(out, train...)
	out = append(out, peersTrain...)
	out = append(out, load...)
	for _, r := range out {
		r.where = b.where()
	}
	return out
}
