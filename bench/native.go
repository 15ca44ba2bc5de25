package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
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

// goBench runs `go test -bench` in the repository and returns its lines
// (the output also goes to the log).
func (h *harness) goBench(pkg, pattern, benchtime string, count int) ([]benchLine, error) {
	args := []string{"test", "-run", "^$", "-bench", pattern, "-benchtime", benchtime, "-count", strconv.Itoa(count), pkg}
	h.logf("go %s", strings.Join(args, " "))
	cmd := exec.Command("go", args...)
	cmd.Dir = h.root
	cmd.Env = goEnv()
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	h.log.Write(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("go test -bench %s %s: %v", pattern, pkg, err)
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

// runNative runs our ResNet-50 benchmarks (BenchmarkResNet50Threads:
// each run a fresh workspace, one warm-up step, one timed step) and the
// SGEMM shapes (BenchmarkSgemmThreads).
func (h *harness) runNative() (net map[string]*row, sgemm []*row) {
	net = map[string]*row{}
	ops := h.nativeOps()
	batches := map[int]bool{}
	for _, o := range ops {
		batches[o.batch] = true
	}
	var bs []string
	for _, b := range []int{1, 8} {
		if batches[b] {
			bs = append(bs, strconv.Itoa(b))
		}
	}
	system := "goresnet (" + runtime.Version() + ")"
	pattern := fmt.Sprintf("ResNet50Threads/t[12]/(forward|train)/224/b(%s)$", strings.Join(bs, "|"))
	lines, err := h.goBench("./model/resnet", pattern, "1x", h.reps)
	for _, t := range []int{1, 2} {
		for _, o := range ops {
			r := &row{system: system, place: "native", where: "native", threads: t, op: o.label(), key: o.key(), ours: true}
			net[fmt.Sprintf("t%d/%s", t, o.key())] = r
			if err != nil {
				r.skip = err.Error()
				continue
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
				continue
			}
			r.note = fmt.Sprintf("%.0f GFLOP/s; activations %.1f MiB/img; %.0f allocs/step (most seen)", median(gf), act, allocs)
		}
	}

	lines, err = h.goBench("./model/kernels", "SgemmThreads", h.sgemmTime(), h.reps)
	if err != nil {
		return net, []*row{{system: "goresnet SGEMM", place: "native", where: "native", op: "SGEMM shapes", skip: err.Error()}}
	}
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
			r = &row{system: "goresnet SGEMM", place: "native", where: "native", threads: t, op: "sgemm " + parts[2] + " (M x N x K)", ours: true}
			byName[l.name] = r
			sgemm = append(sgemm, r)
		}
		r.ms = append(r.ms, l.metrics["ns/op"]/1e6)
		gflops[l.name] = append(gflops[l.name], l.metrics["GFLOP/s"])
	}
	for name, r := range byName {
		r.note = fmt.Sprintf("%.0f GFLOP/s (median), %.0f (best); one call", median(gflops[name]), maxOf(gflops[name]))
	}
	return net, sgemm
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
