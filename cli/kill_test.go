//go:build !js

package cli

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goresnet/goresnet/model/data/datatest"
	"github.com/goresnet/goresnet/model/train"
)

// TestMain lets a test re-run this test binary as the goresnet command, so
// that a test can kill a real training process.
func TestMain(m *testing.M) {
	if args := os.Getenv("GORESNET_CHILD_ARGS"); args != "" {
		os.Exit(Main(strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func child(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GORESNET_CHILD_ARGS="+strings.Join(args, "\x1f"))
	return cmd
}

// TestKilledTrainingResumes kills a training run with SIGKILL at random
// moments, over and over, while it writes a checkpoint every few tenths of
// a second; after every kill the newest checkpoint must open (complete,
// checksum intact) and the run must resume from it. At the end the weights
// must equal those of a run that was never interrupted. Rounds:
// GORESNET_KILL_ROUNDS (default 12; make test-reliability runs 60).
func TestKilledTrainingResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills dozens of processes")
	}
	rounds := 12
	if s := os.Getenv("GORESNET_KILL_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	digits := datatest.Digits(t, 64, 32, 32)
	dir := t.TempDir()
	base := []string{"train", "--data", digits, "--val-split", "none", "--arch", "resnet18", "--width-div", "4",
		"--batch", "32", "--lr", "0.05", "--optimizer", "adamw", "--weight-decay", "0.01", "--seed", "9"}
	// A 1/4-width ResNet-18 checkpoint with AdamW's state is ~8 MB, so a
	// good share of the kills land while one is being written.
	epochs := 5 * rounds
	// The reference: never interrupted.
	ref := filepath.Join(dir, "ref")
	if out, err := child(append(base, "--epochs", strconv.Itoa(epochs), "--checkpoint-dir", ref)...).CombinedOutput(); err != nil {
		t.Fatalf("reference run: %v\n%s", err, out)
	}
	run := filepath.Join(dir, "killed")
	r := rand.New(rand.NewPCG(7, 7))
	kills, resumed, midWrite := 0, 0, 0
	for i := 0; i < rounds; i++ {
		args := append(base, "--epochs", strconv.Itoa(epochs), "--checkpoint-dir", run)
		last := filepath.Join(run, "last.safetensors")
		if _, err := os.Stat(last); err == nil {
			args = []string{"train", "--checkpoint-dir", run, "--resume", "--epochs", strconv.Itoa(epochs)}
			resumed++
		}
		cmd := child(args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: the run failed on its own: %v\n%s", i, err, out.String())
			}
			t.Logf("round %d: the run finished before the kill", i)
			i = rounds // finished: stop killing
		case <-time.After(time.Duration(150+r.IntN(750)) * time.Millisecond):
			cmd.Process.Kill() // SIGKILL: no chance to clean up
			<-done
			kills++
			if tmp, _ := filepath.Glob(filepath.Join(run, ".*.tmp-*")); len(tmp) > 0 {
				midWrite++ // killed while a checkpoint was being written
			}
		}
		if _, err := os.Stat(last); err == nil {
			ck, err := train.OpenCheckpoint(last)
			if err != nil {
				t.Fatalf("round %d: after SIGKILL the newest checkpoint does not open: %v", i, err)
			}
			if ck.Meta.Epoch > epochs {
				t.Fatalf("round %d: checkpoint at epoch %d", i, ck.Meta.Epoch)
			}
		}
	}
	// Finish the run and compare with the uninterrupted one.
	args := []string{"train", "--checkpoint-dir", run, "--resume", "--epochs", strconv.Itoa(epochs)}
	if _, err := os.Stat(filepath.Join(run, "last.safetensors")); err != nil {
		args = append(base, "--epochs", strconv.Itoa(epochs), "--checkpoint-dir", run)
	}
	if out, err := child(args...).CombinedOutput(); err != nil {
		t.Fatalf("final resume: %v\n%s", err, out)
	}
	a, err := train.OpenCheckpoint(filepath.Join(ref, "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := train.OpenCheckpoint(filepath.Join(run, "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	na, _ := a.Net()
	nb, _ := b.Net()
	for i := range na.ParamData {
		if na.ParamData[i] != nb.ParamData[i] {
			t.Fatalf("after %d kills the finished run's weights differ from an uninterrupted run's (parameter %d)", kills, i)
		}
	}
	t.Logf("%d SIGKILLs (%d in the middle of writing a checkpoint), %d resumes: the newest checkpoint always opened, and the final weights equal an uninterrupted run's", kills, midWrite, resumed)
}
