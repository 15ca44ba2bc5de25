package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// python is Debian's interpreter, which python3-torch and
// python3-torchvision are installed for (a python3 earlier on the PATH,
// e.g. pyenv's, does not see them).
const python = "/usr/bin/python3"

// ensureTorch checks that PyTorch and torchvision import, installing
// Debian's packages when they do not and we may (root, apt-get).
func (h *harness) ensureTorch() error {
	check := func() error {
		out, err := exec.Command(python, "-c", "import torch, torchvision").CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s cannot import torch and torchvision: %s", python, lastLine(out, err))
		}
		return nil
	}
	err := check()
	if err == nil {
		return nil
	}
	if why := h.cannotApt(); why != "" {
		return fmt.Errorf("%v; %s (apt-get install -y python3-torch python3-torchvision)", err, why)
	}
	if err := h.apt("python3-torch", "python3-torchvision"); err != nil {
		return err
	}
	return check()
}

type torchLine struct {
	Info    map[string]any `json:"info"`
	Error   string         `json:"error"`
	Op      string         `json:"op"`
	Mode    string         `json:"mode"`
	Threads int            `json:"threads"`
	Batch   int            `json:"batch"`
	MS      []float64      `json:"ms"`
	Actual  int            `json:"actual_threads"`
}

// torchServer is bench/torch_bench.py --serve: one Python process that
// holds the networks and measures the figures asked for, one at a time,
// so that each is measured right after ours.
type torchServer struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Scanner
	version string
	env     string // the OpenMP setting, for the header
}

func (h *harness) startTorch() (*torchServer, error) {
	if err := h.ensureTorch(); err != nil {
		return nil, err
	}
	args := []string{filepath.Join(h.root, "bench", "torch_bench.py"), "--serve", "--reps", strconv.Itoa(h.reps), "--warmup", strconv.Itoa(h.warmup)}
	h.logf("%s %s", python, strings.Join(args, " "))
	cmd := exec.Command(python, args...)
	cmd.Stderr = os.Stderr
	cmd.Env = os.Environ()
	if h.ompWait != "" {
		cmd.Env = append(cmd.Env, "OMP_WAIT_POLICY="+h.ompWait)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ts := &torchServer{cmd: cmd, in: in, out: bufio.NewScanner(stdout)}
	l, err := ts.read()
	if err != nil || l.Info == nil {
		ts.close()
		if err == nil {
			err = fmt.Errorf("torch_bench.py: no info line")
		}
		return nil, err
	}
	ts.version = fmt.Sprintf("PyTorch %v (torchvision %v)", l.Info["torch"], l.Info["torchvision"])
	ts.env = "libgomp's default OMP_WAIT_POLICY"
	if h.ompWait != "" {
		ts.env = "OMP_WAIT_POLICY=" + h.ompWait
	}
	return ts, nil
}

func (ts *torchServer) read() (torchLine, error) {
	var l torchLine
	if !ts.out.Scan() {
		err := ts.out.Err()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return l, fmt.Errorf("torch_bench.py: %v", err)
	}
	if err := json.Unmarshal(ts.out.Bytes(), &l); err != nil {
		return l, fmt.Errorf("torch_bench.py: %v in %q", err, ts.out.Text())
	}
	if l.Error != "" {
		return l, fmt.Errorf("torch_bench.py: %s", l.Error)
	}
	return l, nil
}

// figure measures PyTorch's figure for mode (eval, mkldnn or train) at t
// threads: per image, like ours.
func (ts *torchServer) figure(mode string, t int, o netOp) *row {
	r := &row{system: ts.version, place: "native", where: "native", threads: t, op: o.label(), key: o.key()}
	switch mode {
	case "mkldnn":
		r.op += ", oneDNN (to_mkldnn)"
		r.note = "mkldnn tensors in and out"
	case "eval":
		r.note = "eval mode, no_grad"
	case "train":
		r.note = "forward, cross-entropy, backward; no optimizer step"
	}
	req, _ := json.Marshal(map[string]any{"mode": mode, "threads": t, "batch": o.batch})
	if _, err := ts.in.Write(append(req, '\n')); err != nil {
		r.skip = err.Error()
		return r
	}
	l, err := ts.read()
	if err != nil {
		r.skip = err.Error()
		return r
	}
	for _, ms := range l.MS {
		r.ms = append(r.ms, ms/float64(o.batch))
	}
	if l.Actual != t {
		r.note += fmt.Sprintf("; torch.get_num_threads() = %d", l.Actual)
	}
	return r
}

func (ts *torchServer) close() {
	ts.in.Close()
	done := make(chan struct{})
	go func() { ts.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		ts.cmd.Process.Kill()
		<-done
	}
}

func lastLine(out []byte, err error) string {
	s := strings.TrimSpace(string(out))
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return err.Error()
	}
	return s
}
