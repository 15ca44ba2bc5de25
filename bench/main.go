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

	ompWait    string
	start      time.Time
	aptUpdated bool
	installed  []string
	versions   []string
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.log, "bench %s: "+format+"\n", append([]any{time.Since(h.start).Round(time.Second)}, args...)...)
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
	ompWait := flag.String("omp-wait", "PASSIVE", "OMP_WAIT_POLICY for PyTorch (\"\": libgomp's default, an active wait, which on a busy 2-core machine makes 2 threads several times slower than 1)")
	readme := flag.String("readme", "", "also put the results into this file (README.md) between the lines "+readmeBegin+" and "+readmeEnd)
	skip := flag.String("skip", "", "parts to leave out, comma-separated: native, sgemm, torch, ours, load, tfjs, ort")
	flag.Parse()

	root, err := os.Getwd()
	if err != nil {
		fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		fatal(errors.New("run it from the repository's root (make bench)"))
	}
	h := &harness{root: root, web: *web, cli: *cli, quick: *quick, reps: *reps, warmup: *warmup, skip: map[string]bool{}, log: os.Stderr, start: time.Now(), ompWait: *ompWait}
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
	h.start = t0
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
	if *readme != "" {
		if err := spliceInto(*readme, b.String()); err != nil {
			fatal(err)
		}
		fmt.Fprintf(os.Stderr, "bench: updated %s\n", *readme)
	}
}

const readmeBegin, readmeEnd = "<!-- bench results: begin -->", "<!-- bench results: end -->"

// spliceInto replaces the text between the marker lines of file.
func spliceInto(file, results string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, readmeBegin+"\n"), strings.Index(s, readmeEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no lines %s and %s", file, readmeBegin, readmeEnd)
	}
	s = s[:i+len(readmeBegin)+1] + results + s[j:]
	return os.WriteFile(file, []byte(s), 0o644)
}

const legend = `
Times are per image (a step's time divided by its batch) except for the
app's load and SGEMM calls. A training step is forward, loss and backward,
without an optimizer step, everywhere. Ratio: the row's median over ours
for the same op, place and threads (above 1: slower than ours), and in
parentheses the same of the mins (steadier on a shared machine); in the
browser, our 2 workers each run batch 1 at once (2 images per round, no
gradient exchange) and are compared per image with a peer's 2 threads.
PyTorch runs with OMP_WAIT_POLICY=PASSIVE (go run ./bench -omp-wait ""
for libgomp's default): with the default active wait, its 2 threads ran
several times slower than its 1 thread whenever another process held a
core of the shared 2-core machine this was written on (a b1 forward:
390-2200 ms active, 111-123 ms passive, in one check).
`

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

	// Native: op by op, ours then PyTorch's, so that the two figures of
	// a ratio are measured minutes apart at most (the load of a shared
	// machine drifts).
	var torch *torchServer
	if !h.skip["torch"] {
		var err error
		if torch, err = h.startTorch(); err != nil {
			add(&row{system: "PyTorch", place: "native", where: "native", op: "all", skip: err.Error()})
		} else {
			h.versions = append(h.versions, torch.version+" with "+torch.env)
		}
	}
	for _, o := range h.nativeOps() {
		for _, t := range []int{1, 2} {
			if !h.skip["native"] {
				add(h.ourFigure(t, o))
			}
			if torch == nil {
				continue
			}
			modes := []string{"train"}
			if o.mode == "forward" {
				modes = []string{"eval", "mkldnn"}
			}
			for _, m := range modes {
				add(torch.figure(m, t, o))
			}
		}
	}
	if torch != nil {
		torch.close()
		torch = nil
	}
	var sgemm []*row
	if !h.skip["native"] && !h.skip["sgemm"] {
		sgemm = h.runSgemm()
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
	tfjsVersion, ortVersion := "TensorFlow.js 4.22 (wasm backend)", "onnxruntime-web (wasm)"
	ortTraining := ""

	// Thread count by thread count: ours (forward and training step on
	// the same workers), then the peers.
	var ours1 *oursResult
	for _, t := range []int{1, 2} {
		if !h.skip["ours"] {
			rs := h.oursFigures(b, ops, t, &ours1)
			fwd = append(fwd, rs[0])
			train = append(train, rs[1])
		}
		if !h.skip["tfjs"] {
			r, tr := h.tfjsFigure(b, t, jsErr, &tfjsVersion)
			fwd = append(fwd, r)
			if tr != nil {
				peersTrain = append(peersTrain, tr)
			}
		}
		if !h.skip["ort"] {
			r := &row{system: ortVersion, place: "browser", threads: t, op: ops[0].label(), key: ops[0].key()}
			fwd = append(fwd, r)
			switch {
			case jsErr != nil:
				r.skip = jsErr.Error()
			case onnxErr != nil:
				r.skip = onnxErr.Error()
			default:
				var res ortResult
				if err := b.run("/bench/page/ort.html", fmt.Sprintf("benchOrt(%d, %d, %d)", t, h.warmup, h.reps), 10*time.Minute, &res); err != nil {
					r.skip = err.Error()
					break
				}
				ortVersion = fmt.Sprintf("onnxruntime-web %s (wasm)", res.Version)
				r.system = ortVersion
				r.ms = res.ForwardMS
				r.note = fmt.Sprintf("our export's ONNX (batch norms folded); threads %d, isolated %v", res.Threads, res.Isolated)
				ortTraining = res.Training
			}
		}
	}

	// The peers' training attempts.
	if ortTraining != "" {
		tr := &row{system: ortVersion, place: "browser", threads: 1, op: ops[1].label(), key: ops[1].key()}
		if ortTraining == "undefined" {
			tr.skip = "no training API in this build (`ort.TrainingSession` is undefined)"
		} else {
			tr.skip = "not attempted (ort.TrainingSession is " + ortTraining + ", but needs training artifacts)"
		}
		peersTrain = append(peersTrain, tr)
	}
	if !h.skip["tfjs"] {
		h.versions = append(h.versions, tfjsVersion+" in "+b.where())
	}
	if !h.skip["ort"] {
		h.versions = append(h.versions, ortVersion+" in "+b.where())
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

	// Order: forward by threads (ours first), training, loads.
	out := append(fwd, train...)
	out = append(out, peersTrain...)
	out = append(out, load...)
	for _, r := range out {
		r.where = b.where()
	}
	return out
}

// oursFigures runs our worker's bench-step with k workers at once, for
// each op in turn on the same workers; ours1 keeps the 1-worker results
// for the data-parallel efficiency.
func (h *harness) oursFigures(b *browserRun, ops []netOp, k int, ours1 **oursResult) []*row {
	var rows []*row
	var modes []string
	for _, o := range ops {
		r := &row{system: "goresnet worker (js/wasm)", place: "browser", threads: k, thrText: fmt.Sprintf("%d worker", k), op: o.label(), key: o.key(), ours: true}
		if k > 1 {
			r.thrText += "s"
			r.op += " on each"
		}
		rows = append(rows, r)
		modes = append(modes, fmt.Sprintf("%q", o.mode))
	}
	var res oursResult
	err := b.run("/bench/page/ours.html", fmt.Sprintf("benchWorkers(%d, [%s], %d, %d)", k, strings.Join(modes, ", "), h.warmup, h.reps), 15*time.Minute, &res)
	if k == 1 && err == nil {
		*ours1 = &res
	}
	for i, o := range ops {
		r := rows[i]
		m, ok := res.Modes[o.mode]
		if err != nil || !ok {
			r.skip = fmt.Sprint(err)
			continue
		}
		r.system = fmt.Sprintf("goresnet worker (js/wasm, %s)", res.Kernel)
		var goMS []float64
		for _, g := range m.GoMS {
			goMS = append(goMS, g...)
		}
		for _, ms := range m.RoundMS {
			r.ms = append(r.ms, ms/float64(k))
		}
		r.note = fmt.Sprintf("a step takes %s ms in Go (median)", fmtMS(median(goMS)))
		if i == 0 {
			r.note += fmt.Sprintf("; network built in %.1f s", res.SetupMS/1e3)
		}
		if k == 1 {
			continue
		}
		r.note = fmt.Sprintf("%s ms per round of %d images; ", fmtMS(median(m.RoundMS)), k) + r.note
		if one := *ours1; one != nil {
			r.note += fmt.Sprintf("; data-parallel efficiency %.0f%% (1 worker's round over %d workers' round)", 100*median(one.Modes[o.mode].RoundMS)/median(m.RoundMS), k)
		}
	}
	return rows
}

// tfjsFigure runs TensorFlow.js's forward at t threads, and with t = 1
// its training attempt (second result).
func (h *harness) tfjsFigure(b *browserRun, t int, jsErr error, version *string) (*row, *row) {
	ops := []netOp{{"forward", 1}, {"train", 1}}
	r := &row{system: *version, place: "browser", threads: t, op: ops[0].label(), key: ops[0].key()}
	if jsErr != nil {
		r.skip = jsErr.Error()
		return r, nil
	}
	var res tfjsResult
	if err := b.run("/bench/page/tfjs.html", fmt.Sprintf("benchTfjs(%d, %d, %d, %v)", t, h.warmup, h.reps, t == 1), 10*time.Minute, &res); err != nil {
		r.skip = err.Error()
		return r, nil
	}
	*version = fmt.Sprintf("TensorFlow.js %s (wasm backend)", res.Version)
	r.system = *version
	r.ms = res.ForwardMS
	r.note = fmt.Sprintf("tf.layers ResNet-50 (%s parameters as Keras counts them, running statistics included); SIMD %v, multithread %v, tf.wasm.getThreadsCount() = %d",
		commas(res.Params), res.SIMD, res.Multithread, res.Threads)
	if res.Threads != t {
		r.thrText = fmt.Sprintf("%d asked, %d used", t, res.Threads)
	}
	if t != 1 {
		return r, nil
	}
	tr := &row{system: *version, place: "browser", threads: t, op: ops[1].label(), key: ops[1].key()}
	if res.TrainError != "" {
		tr.skip = "the training step fails: `" + res.TrainError + "`"
		tr.note = "(tf.variableGrads of softmax cross-entropy, what model.fit computes)"
	} else {
		tr.ms = res.TrainMS
		tr.note = "tf.variableGrads of softmax cross-entropy"
	}
	return r, tr
}
