package cli

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/data/datatest"
	"github.com/goresnet/goresnet/model/train"
	"github.com/goresnet/goresnet/model/weights"
)

// TestTrainCommands runs train, evaluate, predict, plot and export on a
// slice of the digits, the way the README shows them, and their bad input.
func TestTrainCommands(t *testing.T) {
	digits := datatest.Digits(t, 512, 128, 32)
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	stdout, stderr, code := run(t, "train", "--data", digits, "--val-split", "test[:64]", "--arch", "resnet18", "--width-div", "16",
		"--epochs", "2", "--batch", "32", "--lr", "0.05", "--optimizer", "sgd", "--schedule", "cosine", "--warmup", "2",
		"--augment", "flip=horizontal,rotate=0.05", "--save-best", "val_accuracy", "--checkpoint-dir", runDir)
	if code != 0 {
		t.Fatalf("train: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"epoch 1/2: loss", "epoch 2/2: loss", "val_accuracy", "best val_accuracy"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("train output lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"checkpoint_01.safetensors", "checkpoint_02.safetensors", "last.safetensors", "best.safetensors", "history.json", "history.csv"} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("train did not write %s", f)
		}
	}
	ck, err := train.OpenCheckpoint(filepath.Join(runDir, "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Meta.Epoch != 2 || len(ck.Meta.Classes) != 10 || ck.Meta.Preprocess.Size != 32 {
		t.Errorf("checkpoint meta %+v", ck.Meta)
	}
	var settings trainFlags
	if err := json.Unmarshal(ck.Meta.Train, &settings); err != nil || settings.WidthDiv != 16 {
		t.Errorf("saved settings %+v %v", settings, err)
	}

	// --resume with more epochs continues from the checkpoint.
	stdout, stderr, code = run(t, "train", "--checkpoint-dir", runDir, "--resume", "--epochs", "3")
	if code != 0 || !strings.Contains(stdout, "resuming") || !strings.Contains(stdout, "epoch 3/3") {
		t.Fatalf("resume: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// evaluate
	best := filepath.Join(runDir, "best.safetensors")
	stdout, stderr, code = run(t, "evaluate", "--checkpoint", best, "--data", digits, "--split", "test", "--out-dir", dir)
	if code != 0 || !strings.Contains(stdout, "top-1") || !strings.Contains(stdout, "top-5") {
		t.Fatalf("evaluate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "confusion.csv"))
	if err != nil || strings.Count(string(csv), "\n") != 11 {
		t.Errorf("confusion.csv: %v\n%s", err, csv)
	}
	if _, err := os.Stat(filepath.Join(dir, "confusion.png")); err != nil {
		t.Error("no confusion.png")
	}

	// predict on a picture of a digit drawn here: a vertical bar, a "1".
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for y := 4; y < 24; y++ {
		for x := 12; x < 16; x++ {
			img.SetGray(x, y, color.Gray{255})
		}
	}
	pic := filepath.Join(dir, "one.png")
	f, _ := os.Create(pic)
	png.Encode(f, img)
	f.Close()
	stdout, stderr, code = run(t, "predict", "--checkpoint", best, "--json", "--top", "3", pic)
	if code != 0 {
		t.Fatalf("predict: exit %d\n%s", code, stderr)
	}
	var preds []prediction
	if err := json.Unmarshal([]byte(stdout), &preds); err != nil || len(preds) != 1 || len(preds[0].Top) != 3 {
		t.Fatalf("predict json: %v\n%s", err, stdout)
	}
	var sum float64
	for _, s := range preds[0].Top {
		sum += s.Probability
	}
	if sum > 1.0001 || preds[0].Top[0].Probability < preds[0].Top[1].Probability {
		t.Errorf("top-3 probabilities %+v", preds[0].Top)
	}
	os.WriteFile(filepath.Join(dir, "junk.png"), []byte("not an image"), 0o644)
	_, stderr, code = run(t, "predict", "--checkpoint", best, pic, filepath.Join(dir, "junk.png"))
	if code != 1 || !strings.Contains(stderr, "1 of 2 pictures") {
		t.Errorf("predict with a bad picture: exit %d, %q", code, stderr)
	}

	// plot, from JSON and from CSV
	for _, h := range []string{"history.json", "history.csv"} {
		out := filepath.Join(dir, strings.TrimSuffix(h, filepath.Ext(h))+filepath.Ext(h)+".svg")
		if _, stderr, code := run(t, "plot", "--history", filepath.Join(runDir, h), "--out", out); code != 0 {
			t.Fatalf("plot %s: %s", h, stderr)
		}
		b, _ := os.ReadFile(out)
		if !strings.Contains(string(b), "<svg") {
			t.Errorf("plot %s wrote no SVG", h)
		}
	}

	// export a checkpoint as plain weights: it loads under torchvision names.
	wpath := filepath.Join(dir, "w.safetensors")
	if _, stderr, code := run(t, "export", "--checkpoint", best, "--format", "safetensors", "--out", wpath); code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	wf, err := weights.Open(wpath)
	if err != nil || wf.Has("optimizer.m") || !wf.Has("layer1.0.conv1.weight") {
		t.Fatalf("exported weights: %v", err)
	}

	// Fine-tuning from those weights onto... the same 10 classes with the
	// head only: the feature cache is announced.
	stdout, stderr, code = run(t, "train", "--data", digits, "--val-split", "none", "--arch", "resnet18", "--width-div", "16", "--weights", wpath,
		"--head-only", "--epochs", "2", "--batch", "32", "--optimizer", "adam", "--lr", "0.001", "--checkpoint-dir", filepath.Join(dir, "ft"), "--checkpoint-pattern", "")
	if code != 0 || !strings.Contains(stdout, "backbone features cached") || !strings.Contains(stdout, "330 trainable") {
		t.Fatalf("head-only fine-tuning: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// Bad input names what is wrong.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train"}, "--data is required"},
		{[]string{"train", "--data", filepath.Join(dir, "nope")}, "nope"},
		{[]string{"train", "--data", digits, "--arch", "resnet51"}, "unknown architecture"},
		{[]string{"train", "--data", digits, "--batch", "1000"}, "fewer than one batch"},
		{[]string{"train", "--data", digits, "--optimizer", "rmsprop", "--epochs", "1"}, "unknown kind"},
		{[]string{"train", "--data", digits, "--freeze", "layer9", "--epochs", "1"}, "layer9"},
		{[]string{"train", "--data", digits, "--full", "--head-only"}, "--full"},
		{[]string{"train", "--data", digits, "--arch", "resnet34", "--width-div", "16", "--weights", wpath, "--epochs", "1"}, "missing tensor"},
		{[]string{"train", "--checkpoint-dir", filepath.Join(dir, "empty"), "--resume"}, "no checkpoint"},
		{[]string{"evaluate", "--checkpoint", wpath, "--data", digits}, "not a goresnet checkpoint"},
		{[]string{"evaluate", "--checkpoint", filepath.Join(dir, "none.safetensors"), "--data", digits}, "none.safetensors"},
		{[]string{"predict", "--checkpoint", best}, "at least one image"},
		{[]string{"plot", "--history", filepath.Join(dir, "confusion.csv"), "--out", filepath.Join(dir, "x.png")}, "no \"epoch\" column"},
		{[]string{"plot", "--history", filepath.Join(runDir, "history.json"), "--out", filepath.Join(dir, "x.gif")}, ".png or .svg"},
	} {
		_, stderr, code := run(t, c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error saying %q", c.args, code, stderr, c.want)
		}
	}
}

// TestFineTuneFromTorchvisionPth fine-tunes the 7-class torchvision-format
// .pth written by model/weights/testdata/make_pth.py (torch.save of a
// torchvision-style ResNet-18 at 1/8 width) on the 10 digits: its fc is
// replaced, everything else is loaded, and the head alone learns.
func TestFineTuneFromTorchvisionPth(t *testing.T) {
	digits := datatest.Digits(t, 256, 64, 32)
	dir := t.TempDir()
	pth := "../model/weights/testdata/resnet18_w8.pth"
	stdout, stderr, code := run(t, "train", "--data", digits, "--val-split", "test", "--arch", "resnet18", "--width-div", "8",
		"--weights", pth, "--head-only", "--epochs", "3", "--batch", "32", "--optimizer", "adam", "--lr", "0.01",
		"--save-best", "val_loss", "--checkpoint-dir", dir, "--checkpoint-pattern", "")
	if code != 0 {
		t.Fatalf("fine-tuning: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "has 7 classes: fc is replaced by a new 10-class layer") {
		t.Errorf("no word of the replaced head:\n%s", stdout)
	}
	ck, err := train.OpenCheckpoint(filepath.Join(dir, "last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	net, err := ck.Net()
	if err != nil {
		t.Fatal(err)
	}
	// The backbone is the .pth's, unchanged by head-only training.
	src, err := weights.Open(pth)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"conv1.weight", "layer3.1.bn2.running_var", "layer4.0.downsample.0.weight"} {
		want, _, _ := src.Float32(name)
		var got []float32
		for _, e := range net.State() {
			if e.Name == name {
				got = e.Data
			}
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s[%d] = %v after head-only fine-tuning, the .pth has %v", name, i, got[i], want[i])
			}
		}
	}
	h := ck.Meta.History.Epochs
	if len(h) != 3 || !(h[2].Loss < h[0].Loss) {
		t.Errorf("the head did not learn: %+v", h)
	}
}
