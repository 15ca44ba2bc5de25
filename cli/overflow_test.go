//go:build !js

package cli

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/data/datatest"
	"github.com/goresnet/goresnet/model/train"
)

// TestTrainOverflow forces an overflow through the CLI: epoch 1 trains at
// a sane rate, then a step schedule multiplies the rate by 1e30, and a
// step of epoch 2 overflows. The run must stop with a message that names
// the step (in epoch 2) and suggests a lower learning rate; last.safetensors
// must be epoch 1's (it loads, and its weights are those of
// checkpoint_01.safetensors, bit for bit), and nothing from the bad epoch
// may be saved (no checkpoint_02, a history of one epoch). Then --resume
// with a lower rate goes on from it to the end.
func TestTrainOverflow(t *testing.T) {
	digits := datatest.Digits(t, 128, 32, 32)
	dir := filepath.Join(t.TempDir(), "run")
	stdout, stderr, code := run(t, "train", "--data", digits, "--val-split", "test", "--arch", "resnet18", "--width-div", "16",
		"--epochs", "3", "--batch", "32", "--optimizer", "sgd", "--lr", "0.01", "--schedule", "step", "--step-epochs", "1", "--gamma", "1e30",
		"--checkpoint-dir", dir)
	if code == 0 {
		t.Fatalf("a run whose rate reaches 1e28 finished:\n%s\n%s", stdout, stderr)
	}
	msg := stderr
	t.Logf("stderr: %s", msg[strings.LastIndex(msg, "training diverged"):])
	m := regexp.MustCompile(`training diverged at step (\d+) \(epoch (\d+), batch (\d+)\): (.*)`).FindStringSubmatch(msg)
	if m == nil || m[2] != "2" {
		t.Fatalf("the message does not name a step of epoch 2:\n%s", msg)
	}
	for _, want := range []string{"try a lower learning rate", "the last good checkpoint is " + filepath.Join(dir, "last.safetensors") + " (epoch 1, step 4)", "--resume --checkpoint-dir " + dir + " --lr 0.001"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q:\n%s", want, msg)
		}
	}
	if !strings.Contains(stdout, "epoch 1/3: loss") || strings.Contains(stdout, "epoch 2/3: loss") {
		t.Errorf("epoch lines:\n%s", stdout)
	}

	// last.safetensors is epoch 1's, loads, and equals checkpoint_01.
	last, err := train.OpenCheckpoint(filepath.Join(dir, "last.safetensors"))
	if err != nil {
		t.Fatalf("last.safetensors after the divergence: %v", err)
	}
	first, err := train.OpenCheckpoint(filepath.Join(dir, "checkpoint_01.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if last.Meta.Epoch != 1 || last.Meta.Step != 4 || last.Meta.BatchInEpoch != 0 {
		t.Errorf("last.safetensors is at epoch %d, step %d, batch %d; want the end of epoch 1 (step 4)", last.Meta.Epoch, last.Meta.Step, last.Meta.BatchInEpoch)
	}
	a, err := last.Net()
	if err != nil {
		t.Fatal(err)
	}
	b, err := first.Net()
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.ParamData {
		if math.Float32bits(a.ParamData[i]) != math.Float32bits(b.ParamData[i]) {
			t.Fatalf("last.safetensors' parameter %d differs from checkpoint_01's: something of the bad epoch was saved", i)
		}
	}
	for i := range a.BufferData {
		if math.Float32bits(a.BufferData[i]) != math.Float32bits(b.BufferData[i]) {
			t.Fatalf("last.safetensors' running statistics differ from checkpoint_01's")
		}
	}
	for _, f := range []string{"checkpoint_02.safetensors", "checkpoint_03.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s was saved", f)
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".*")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	var hist train.History
	hb, err := os.ReadFile(filepath.Join(dir, "history.json"))
	if err == nil {
		err = json.Unmarshal(hb, &hist)
	}
	if err != nil || len(hist.Epochs) != 1 {
		t.Errorf("history: %d epochs, %v", len(hist.Epochs), err)
	}

	// Going on from it with a lower rate (and no growth) reaches the end.
	stdout, stderr, code = run(t, "train", "--checkpoint-dir", dir, "--resume", "--lr", "0.001", "--gamma", "1")
	if code != 0 || !strings.Contains(stdout, "resuming") || !strings.Contains(stdout, "resuming with --lr changed") || !strings.Contains(stdout, "epoch 3/3: loss") {
		t.Fatalf("resume with a lower rate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	end, err := train.OpenCheckpoint(filepath.Join(dir, "last.safetensors"))
	if err != nil || end.Meta.Epoch != 3 {
		t.Fatalf("after resuming: %v, epoch %d", err, end.Meta.Epoch)
	}

	// Diverging in the first epoch: no checkpoint to go back to, and the
	// message says so.
	dir2 := filepath.Join(t.TempDir(), "run2")
	_, stderr, code = run(t, "train", "--data", digits, "--val-split", "none", "--arch", "resnet18", "--width-div", "16",
		"--epochs", "1", "--batch", "32", "--optimizer", "sgd", "--lr", "1e36", "--checkpoint-dir", dir2)
	if code == 0 || !strings.Contains(stderr, "training diverged at step") || !strings.Contains(stderr, "no checkpoint was saved before it: start again with a lower rate (--lr 1e+35)") {
		t.Errorf("diverging at once: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir2, "last.safetensors")); err == nil {
		t.Error("a checkpoint was saved from a diverged first epoch")
	}
}
