package train

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/optim"
	"github.com/goresnet/goresnet/model/resnet"
)

func TestCheckpointRoundTrip(t *testing.T) {
	net, err := resnet.New(resnet.Config{Arch: "resnet18", Classes: 3, WidthDiv: 16, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optim.New(optim.Config{Kind: "adamw", WeightDecay: 0.01}, net)
	if err != nil {
		t.Fatal(err)
	}
	for i := range net.GradData {
		net.GradData[i] = float32(i%7) - 3
	}
	opt.Step(0.01)
	opt.Step(0.01)
	meta := Meta{Classes: []string{"a", "b", "c"}, Preprocess: Preprocess{Size: 32, Norm: "imagenet"}, Epoch: 2, Step: 2,
		DropoutRNG: []byte{1, 2, 3}, History: History{Epochs: []EpochStats{{Epoch: 1, Loss: 1.5}, {Epoch: 2, Loss: 1.2}}},
		Best: &Best{Monitor: "loss", Value: 1.2, Epoch: 2}}
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := SaveCheckpoint(path, net, opt, meta); err != nil {
		t.Fatal(err)
	}
	ck, err := OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Config.Classes != 3 || ck.Config.WidthDiv != 16 || ck.Config.Arch != "resnet18" {
		t.Fatalf("config %+v", ck.Config)
	}
	if ck.Meta.Epoch != 2 || ck.Meta.Best.Value != 1.2 || len(ck.Meta.History.Epochs) != 2 || ck.Meta.Classes[2] != "c" {
		t.Fatalf("meta %+v", ck.Meta)
	}
	net2, err := ck.Net()
	if err != nil {
		t.Fatal(err)
	}
	for i := range net.ParamData {
		if net.ParamData[i] != net2.ParamData[i] {
			t.Fatal("weights differ after a round trip")
		}
	}
	opt2, _ := optim.New(optim.Config{Kind: "adamw", WeightDecay: 0.01}, net2)
	if err := ck.RestoreOptimizer(opt2); err != nil {
		t.Fatal(err)
	}
	if opt2.Steps != 2 || opt2.M[5] != opt.M[5] || opt2.V[9] != opt.V[9] {
		t.Fatal("optimizer state not restored")
	}
	// Further steps agree.
	copy(net2.GradData, net.GradData)
	opt.Step(0.01)
	opt2.Step(0.01)
	for i := range net.ParamData {
		if net.ParamData[i] != net2.ParamData[i] {
			t.Fatal("a restored optimizer steps differently")
		}
	}
	sgd, _ := optim.New(optim.Config{Kind: "sgd"}, net2)
	if err := ck.RestoreOptimizer(sgd); err == nil {
		t.Error("restoring adamw state into sgd accepted")
	}

	// Corruption anywhere in the tensors is caught by the checksum; a
	// truncated file by the parser.
	data, _ := os.ReadFile(path)
	bad := append([]byte(nil), data...)
	bad[len(bad)-100] ^= 0x40
	os.WriteFile(path+".bad", bad, 0o644)
	if _, err := OpenCheckpoint(path + ".bad"); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("a flipped bit: %v", err)
	}
	os.WriteFile(path+".short", data[:len(data)/2], 0o644)
	if _, err := OpenCheckpoint(path + ".short"); err == nil {
		t.Error("a truncated checkpoint opened")
	}
}

func TestSchedules(t *testing.T) {
	s := Schedule{Kind: "step", BaseLR: 0.1, StepEvery: 10, Gamma: 0.5, Warmup: 5}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		step int
		want float64
	}{{0, 0.02}, {4, 0.1}, {5, 0.1}, {14, 0.1}, {15, 0.05}, {25, 0.025}} {
		if got := s.LR(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("step schedule at %d: %v, want %v", c.step, got, c.want)
		}
	}
	cs := Schedule{Kind: "cosine", BaseLR: 1, Total: 100, MinLR: 0}
	if err := cs.Validate(); err != nil {
		t.Fatal(err)
	}
	if cs.LR(0) != 1 || math.Abs(cs.LR(50)-0.5) > 1e-12 || cs.LR(100) != 0 {
		t.Errorf("cosine: %v %v %v", cs.LR(0), cs.LR(50), cs.LR(100))
	}
	for _, bad := range []Schedule{{Kind: "poly", BaseLR: 1}, {Kind: "step", BaseLR: 1}, {BaseLR: 0}, {Kind: "cosine", BaseLR: 1, Total: 3, Warmup: 3}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("schedule %+v accepted", bad)
		}
	}
}

func TestHistoryCSV(t *testing.T) {
	h := History{Epochs: []EpochStats{{Epoch: 1, Loss: 2, Accuracy: 0.5, LR: 0.1, Images: 10}, {Epoch: 2, Loss: 1, HasVal: true, ValLoss: 1.5, ValAccuracy: 0.7}}}
	var b bytes.Buffer
	if err := h.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	want := "epoch,loss,accuracy,val_loss,val_accuracy,val_top5,lr,seconds,images\n1,2,0.5,,,,0.1,0,10\n2,1,0,1.5,0.7,0,0,0,0\n"
	if b.String() != want {
		t.Errorf("csv:\n%s\nwant:\n%s", b.String(), want)
	}
	dir := t.TempDir()
	if err := h.Save(filepath.Join(dir, "history")); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(filepath.Join(dir, "history.json"))
	defer f.Close()
	h2, err := ReadHistory(f)
	if err != nil || len(h2.Epochs) != 2 || h2.Epochs[1].ValAccuracy != 0.7 {
		t.Fatalf("json round trip: %+v %v", h2, err)
	}
	if _, err := h.Epochs[0].Metric("val_loss"); err == nil {
		t.Error("val_loss of an epoch without validation")
	}
}
