package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/goresnet/goresnet/model/kernels"
)

// benchLine is one line of `go test -bench` output: the name (without
// the -GOMAXPROCS suffix) and its metrics by unit.
type benchLine struct {
	name    string
	metrics map[string]float64
}

func parseBench(out []byte) []benchLine {
	var lines []benchLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		l := benchLine{name: name, metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				l.metrics[f[i+1]] = v
			}
		}
		lines = append(lines, l)
	}
	return lines
}

// testBinary compiles a package's tests once (go test -c) into the
// temporary folder.
func (h *harness) testBinary(pkg string) (string, error) {
	bin := filepath.Join(h.tmp, strings.ReplaceAll(strings.TrimPrefix(pkg, "./"), "/", "_")+".test")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	h.logf("go test -c -o %s %s", bin, pkg)
	cmd := exec.Command("go", "test", "-c", "-o", bin, pkg)
	cmd.Dir, cmd.Env, cmd.Stderr = h.root, goEnv(), os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go test -c %s: %v", pkg, err)
	}
	return bin, nil
}

// goBench runs a package's benchmarks matching pattern (from its
// compiled test binary, in the package's folder) and returns its lines
// (the output also goes to the log).
func (h *harness) goBench(pkg, pattern, benchtime string, count int) ([]benchLine, error) {
	bin, err := h.testBinary(pkg)
	if err != nil {
		return nil, err
	}
	args := []string{"-test.run", "^$", "-test.bench", pattern, "-test.benchtime", benchtime, "-test.count", strconv.Itoa(count)}
	h.logf("%s %s", filepath.Base(bin), strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Dir = filepath.Join(h.root, filepath.FromSlash(pkg))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	err = cmd.Run()
	h.log.Write(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s -test.bench %s: %v", filepath.Base(bin), pattern, err)
	}
	return parseBench(out.Bytes()), nil
}

// goEnv is the environment with the project's Go settings (the Makefile
// exports them; `go run ./bench` by hand may not have them).
func goEnv() []string {
	env := os.Environ()
	for k, v := range map[string]string{"GOTOOLCHAIN": "go1.27.3", "GOEXPERIMENT": "simd", "GOFLAGS": "-buildvcs=false"} {
		if os.Getenv(k) == "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// nativeOps are the network figures, in table order.
func (h *harness) nativeOps() []netOp {
	ops := []netOp{{"forward", 1}, {"forward", 8}, {"train", 1}, {"train", 8}}
	if h.quick {
		ops = []netOp{{"forward", 1}, {"train", 1}}
	}
	return ops
}

type netOp struct {
	mode  string // forward or train
	batch int
}

func (o netOp) key() string { return fmt.Sprintf("%s 224 b%d", o.mode, o.batch) }

func (o netOp) label() string {
	if o.mode == "train" {
		return fmt.Sprintf("train step 224 b%d", o.batch)
	}
	return fmt.Sprintf("forward 224 b%d", o.batch)
}

// ourFigure runs BenchmarkResNet50Threads for one op at t threads:
// each of the -reps runs plans a fresh workspace, takes one warm-up step
// and times one.
func (h *harness) ourFigure(t int, o netOp) *row {
	r := &row{system: ourNative(), place: "native", where: "native", threads: t, op: o.label(), key: o.key(), ours: true}
	pattern := fmt.Sprintf("ResNet50Threads/t%d/%s/224/b%d$", t, o.mode, o.batch)
	lines, err := h.goBench("./model/resnet", pattern, "1x", h.reps)
	if err != nil {
		r.skip = err.Error()
		return r
	}
	var act, allocs float64
	var gf []float64
	for _, l := range lines {
		if l.name == fmt.Sprintf("ResNet50Threads/t%d/%s/224/b%d", t, o.mode, o.batch) {
			r.ms = append(r.ms, l.metrics["ms/img"])
			gf = append(gf, l.metrics["GFLOP/s"])
			act, allocs = l.metrics["act-MiB/img"], max(allocs, l.metrics["allocs/op"])
		}
	}
	if len(r.ms) == 0 {
		r.skip = "no benchmark output"
		return r
	}
	r.note = fmt.Sprintf("%.0f GFLOP/s; activations %.1f MiB/img; %.0f allocs/step (most seen)", median(gf), act, allocs)
	return r
}

// runSgemm runs BenchmarkSgemmThreads (the GEMM shapes of ResNet-50 at 1
// and 2 threads; each run one warm-up call, then the mean of a few).
func (h *harness) runSgemm() []*row {
	lines, err := h.goBench("./model/kernels", "SgemmThreads", h.sgemmTime(), h.reps)
	if err != nil {
		return []*row{{system: "goresnet SGEMM", place: "native", where: "native", op: "SGEMM shapes", skip: err.Error()}}
	}
	var sgemm []*row
	byName := map[string]*row{}
	var gflops = map[string][]float64{}
	for _, l := range lines {
		parts := strings.SplitN(l.name, "/", 3) // SgemmThreads/t1/64x3136x576
		if len(parts) != 3 {
			continue
		}
		r := byName[l.name]
		if r == nil {
			t, _ := strconv.Atoi(strings.TrimPrefix(parts[1], "t"))
			r = &row{system: "goresnet SGEMM (" + kernels.KernelName() + ")", place: "native", where: "native", threads: t, op: "sgemm " + parts[2] + " (M x N x K)", ours: true}
			byName[l.name] = r
			sgemm = append(sgemm, r)
		}
		r.ms = append(r.ms, l.metrics["ns/op"]/1e6)
		gflops[l.name] = append(gflops[l.name], l.metrics["GFLOP/s"])
	}
	for name, r := range byName {
		r.note = fmt.Sprintf("%.0f GFLOP/s (median), %.0f (best); one call", median(gflops[name]), maxOf(gflops[name]))
	}
	return sgemm
}

func (h *harness) sgemmTime() string {
	if h.quick {
		return "5x"
	}
	return "20x"
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		if x > m {
			m = x
		}
	}
	return m
}

// ourNative names our native rows: Go's version and the GEMM kernel the
// benchmarks run (the same binary flags as this harness's; GORESNET_KERNEL
// may choose another).
func ourNative() string {
	return fmt.Sprintf("goresnet (%s, %s)", strings.SplitN(runtime.Version(), "-", 2)[0], kernels.KernelName())
}
