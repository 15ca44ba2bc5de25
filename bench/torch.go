package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// runTorch runs bench/torch_bench.py and returns its rows by
// "tT/mode key" (mode: eval, mkldnn, train).
func (h *harness) runTorch() (map[string]*row, string, error) {
	if err := h.ensureTorch(); err != nil {
		return nil, "", err
	}
	batches := "1,8"
	if h.quick {
		batches = "1"
	}
	args := []string{filepath.Join(h.root, "bench", "torch_bench.py"), "--threads", "1,2", "--batches", batches,
		"--reps", strconv.Itoa(h.reps), "--warmup", strconv.Itoa(h.warmup)}
	h.logf("%s %s", python, strings.Join(args, " "))
	cmd := exec.Command(python, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	h.log.Write(out.Bytes())
	rows := map[string]*row{}
	version := "PyTorch"
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var l torchLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		switch {
		case l.Info != nil:
			version = fmt.Sprintf("PyTorch %v (torchvision %v)", l.Info["torch"], l.Info["torchvision"])
		case l.Error != "":
			return nil, "", fmt.Errorf("torch_bench.py: %s", l.Error)
		case l.Op != "":
			o := netOp{l.Op, l.Batch}
			r := &row{place: "native", where: "native", threads: l.Threads, op: o.label(), key: o.key()}
			for _, ms := range l.MS {
				r.ms = append(r.ms, ms/float64(l.Batch))
			}
			switch l.Mode {
			case "mkldnn":
				r.op += ", oneDNN (to_mkldnn)"
				r.note = "mkldnn tensors in and out"
			case "eval":
				r.note = "eval mode, no_grad"
			case "train":
				r.note = "forward, cross-entropy, backward; no optimizer step"
			}
			if l.Actual != l.Threads {
				r.note += fmt.Sprintf("; torch.get_num_threads() = %d", l.Actual)
			}
			rows[fmt.Sprintf("t%d/%s %s", l.Threads, l.Mode, o.key())] = r
		}
	}
	if err != nil && len(rows) == 0 {
		return nil, "", fmt.Errorf("torch_bench.py: %v", err)
	}
	for _, r := range rows {
		r.system = version
	}
	return rows, version, nil
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
