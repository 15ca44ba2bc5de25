package train

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/goresnet/goresnet/internal/fuzzcorpus"
	"github.com/goresnet/goresnet/model/optim"
	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/weights"
)

// fuzzCheckpoint writes a checkpoint of a ResNet-18 at 1/64 width (a few
// thousand parameters, every value 0.751 so that corpus files hold them as
// printable text) after two steps of an optimizer.
func fuzzCheckpoint(t testing.TB, head resnet.Head, opt optim.Config) []byte {
	net, err := resnet.New(resnet.Config{Arch: "resnet18", Classes: 3, WidthDiv: 64, Head: head, InputSize: 64, Dropout: 0.5, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	o, err := optim.New(opt, net)
	if err != nil {
		t.Fatal(err)
	}
	v := math.Float32frombits(0x3f404040)
	for i := range net.ParamData {
		net.ParamData[i], net.GradData[i] = v, v
	}
	for i := range net.BufferData {
		net.BufferData[i] = v
	}
	o.Step(0.01)
	o.Step(0.01)
	for _, s := range [][]float32{net.ParamData, o.M, o.V} {
		for i := range s {
			s[i] = v
		}
	}
	rng, _ := net.RNGState()
	meta := Meta{Classes: []string{"a", "b", "c"}, Preprocess: Preprocess{Size: 64, Norm: "imagenet"}, Epoch: 2, Step: 8, BatchInEpoch: 1,
		Partial: Partial{LossSum: 1.5, Seen: 4, Correct: 2}, DropoutRNG: rng, Train: json.RawMessage(`{"epochs":3}`),
		History: History{Epochs: []EpochStats{{Epoch: 1, Loss: 1.5}, {Epoch: 2, Loss: 1.2}}}, Best: &Best{Monitor: "loss", Value: 1.2, Epoch: 2}}
	path := filepath.Join(t.TempDir(), "c.safetensors")
	if err := SaveCheckpoint(path, net, o, meta); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	builtinOnce sync.Once
	builtin     [][]byte // the checkpoints base 1 and 2 of FuzzCheckpoint stand for
)

// FuzzCheckpoint: any file is a checkpoint or an error; a checkpoint
// builds its network, restores its optimizer and resumes a trainer, and
// all of it allocates within a bound of the file's size. The sha256 over
// the tensors stops most mutations early, so the target also checks the
// file without it, with the metadata JSON replaced by meta when meta is
// not empty. base 0 fuzzes file; base 1 and 2 take a valid checkpoint
// instead (AdamW with the standard head, SGD with momentum and the
// notebook head), so that the corpus can vary meta alone cheaply.
func FuzzCheckpoint(f *testing.F) {
	f.Fuzz(func(t *testing.T, file []byte, meta string, base uint8) {
		builtinOnce.Do(func() {
			builtin = [][]byte{
				fuzzCheckpoint(t, resnet.HeadStandard, optim.Config{Kind: "adamw", WeightDecay: 0.01}),
				fuzzCheckpoint(t, resnet.HeadNotebook, optim.Config{Kind: "sgd", Momentum: 0.9}),
			}
		})
		if b := int(base % 3); b > 0 {
			file = builtin[b-1]
		}
		fuzzcorpus.AllocBound(t, "opening the checkpoint", 64*uint64(len(file)+len(meta))+32<<20, func() {
			if ck, err := ParseCheckpoint(file, "fuzz"); err == nil {
				resume(t, ck)
			} else if !strings.Contains(err.Error(), "fuzz") {
				t.Errorf("error %q does not name the file", err)
			}
			wf, err := weights.Parse(file, "fuzz")
			if err != nil {
				return
			}
			if meta != "" {
				wf.Metadata["checkpoint"] = meta
			}
			if ck, err := checkpointOf(wf, false); err == nil {
				resume(t, ck)
			}
		})
	})
}

// resume does with a checkpoint what predict and train --resume do.
func resume(t *testing.T, ck *Checkpoint) {
	net, err := ck.Net()
	if err != nil {
		t.Fatalf("a checked checkpoint does not build: %v", err)
	}
	opt, err := optim.New(ck.Meta.Optimizer, net)
	if err != nil {
		return
	}
	tr, err := NewTrainer(net, opt, Config{Epochs: 1, Schedule: Schedule{BaseLR: 0.1}, Monitor: "loss"}, ck.Meta.Preprocess.Size|32, ck.Meta.Preprocess.Size|32)
	if err != nil {
		t.Fatal(err)
	}
	tr.Resume(ck) // an error is fine (e.g. a corrupt dropout state)
}

// TestWriteCheckpointCorpus regenerates FuzzCheckpoint's seed corpus
// (GORESNET_WRITE_CORPUS=1).
func TestWriteCheckpointCorpus(t *testing.T) {
	fuzzcorpus.SkipUnlessEnabled(t)
	w := fuzzcorpus.New(t, "FuzzCheckpoint")
	adamw := fuzzCheckpoint(t, resnet.HeadStandard, optim.Config{Kind: "adamw", WeightDecay: 0.01})
	w.AddVariants("adamw", adamw, 6, "", uint8(0))
	wf, err := weights.Parse(adamw, "x")
	if err != nil {
		t.Fatal(err)
	}
	meta := wf.Metadata["checkpoint"]
	w.Add("meta-adamw", []byte{}, meta, uint8(1))
	notebook := fuzzCheckpoint(t, resnet.HeadNotebook, optim.Config{Kind: "sgd", Momentum: 0.9})
	wf, err = weights.Parse(notebook, "x")
	if err != nil {
		t.Fatal(err)
	}
	nbMeta := wf.Metadata["checkpoint"]
	w.Add("meta-notebook", []byte{}, nbMeta, uint8(2))
	// Metadata no run writes: each must be refused (TestCheckpointMetaRefused)
	// without building anything.
	for name, m := range badMetas(meta, nbMeta) {
		base := uint8(1)
		if strings.HasPrefix(name, "notebook") {
			base = 2
		}
		w.Add("meta-"+name, []byte{}, m, base)
	}
	for k, v := range fuzzcorpus.Variants([]byte(meta), 8, 1) {
		w.Add("meta-adamw-"+k, []byte{}, string(v), uint8(1))
	}
	w.Done()
}

// badMetas are checkpoint metadata that no training run writes, made from
// valid ones (of the AdamW, standard-head and SGD, notebook-head
// checkpoints).
func badMetas(adamw, notebook string) map[string]string {
	sub := func(m, old, new string) string {
		if !strings.Contains(m, old) {
			panic("no " + old + " in " + m)
		}
		return strings.Replace(m, old, new, 1)
	}
	return map[string]string{
		"negative-epoch":         sub(adamw, `"epoch":2,`, `"epoch":-1,`),
		"negative-batch":         sub(adamw, `"batch_in_epoch":1`, `"batch_in_epoch":-5`),
		"started-not-binary":     sub(adamw, `"optimizer_started":"1`, `"optimizer_started":"x`),
		"started-too-short":      sub(adamw, `"optimizer_started":"1`, `"optimizer_started":"`),
		"size-not-multiple":      sub(adamw, `"size":64`, `"size":65`),
		"size-huge":              sub(adamw, `"size":64`, `"size":1073741824`),
		"unknown-norm":           sub(adamw, `"norm":"imagenet"`, `"norm":"zscore"`),
		"zero-std":               sub(adamw, `"norm":"imagenet"`, `"norm":"imagenet","mean":[0,0,0],"std":[1,0,1]`),
		"denormal-std":           sub(adamw, `"norm":"imagenet"`, `"norm":"imagenet","mean":[0,0,0],"std":[1,1e-40,1]`),
		"two-means":              sub(adamw, `"norm":"imagenet"`, `"norm":"imagenet","mean":[0,0],"std":[1,1]`),
		"not-json":               adamw[:len(adamw)/2],
		"notebook-size-huge":     sub(notebook, `"size":64`, `"size":131072`),
		"notebook-size-other":    sub(notebook, `"size":64`, `"size":96`),
		"class-names-wrong":      sub(adamw, `"classes":["a","b","c"]`, `"classes":["a"]`),
		"negative-partial-seen":  sub(adamw, `"seen":4`, `"seen":-4`),
		"negative-optimizer-run": sub(adamw, `"optimizer_steps":2`, `"optimizer_steps":-2`),
	}
}

// TestCheckpointMetaRefused: metadata that no run writes is refused by
// name, before the network is built (a notebook-head checkpoint declaring
// a 131072-pixel input would otherwise build an fc of 3 x 8 x 2048^2).
func TestCheckpointMetaRefused(t *testing.T) {
	adamw := fuzzCheckpoint(t, resnet.HeadStandard, optim.Config{Kind: "adamw", WeightDecay: 0.01})
	notebook := fuzzCheckpoint(t, resnet.HeadNotebook, optim.Config{Kind: "sgd", Momentum: 0.9})
	for _, b := range [][]byte{adamw, notebook} {
		ck, err := ParseCheckpoint(b, "good")
		if err != nil {
			t.Fatal(err)
		}
		resume(t, ck)
	}
	meta := func(b []byte) string {
		wf, err := weights.Parse(b, "x")
		if err != nil {
			t.Fatal(err)
		}
		return wf.Metadata["checkpoint"]
	}
	for name, m := range badMetas(meta(adamw), meta(notebook)) {
		b := adamw
		if strings.HasPrefix(name, "notebook") {
			b = notebook
		}
		wf, err := weights.Parse(b, name)
		if err != nil {
			t.Fatal(err)
		}
		wf.Metadata["checkpoint"] = m
		if _, err := checkpointOf(wf, false); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// A flipped bit in the tensors is caught by the checksum.
	bad := bytes.Clone(adamw)
	bad[len(bad)-9] ^= 1
	if _, err := ParseCheckpoint(bad, "flipped"); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("flipped bit: %v", err)
	}
}
