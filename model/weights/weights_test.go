package weights

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/resnet"
)

func tinyNet(t *testing.T, classes int) *resnet.Net {
	t.Helper()
	n, err := resnet.New(resnet.Config{Arch: "resnet18", Classes: classes, WidthDiv: 16, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func encode(t *testing.T, ts []Tensor) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, ts, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSaveLoadRoundTrip(t *testing.T) {
	a := tinyNet(t, 5)
	*findCounter(a, "bn1.num_batches_tracked") = 42
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := SaveNet(a, path, map[string]string{"note": "x"}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["arch"] != "resnet18" || f.Metadata["note"] != "x" {
		t.Errorf("metadata %v", f.Metadata)
	}
	cfg := resnet.Config{Arch: "resnet18"}
	if err := InferConfig(f, &cfg); err != nil || cfg.Classes != 5 || cfg.WidthDiv != 16 {
		t.Fatalf("inferred %+v, %v", cfg, err)
	}
	cfg.Seed = 99 // different init, then overwritten by the load
	b, err := resnet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := LoadNet(b, f, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range a.ParamData {
		if a.ParamData[i] != b.ParamData[i] {
			t.Fatal("parameters differ after a round trip")
		}
	}
	for i := range a.BufferData {
		if a.BufferData[i] != b.BufferData[i] {
			t.Fatal("running statistics differ after a round trip")
		}
	}
	if *findCounter(b, "bn1.num_batches_tracked") != 42 {
		t.Error("num_batches_tracked not restored")
	}
}

func findCounter(n *resnet.Net, name string) *int64 {
	for _, e := range n.State() {
		if e.Name == name {
			return e.Counter
		}
	}
	return nil
}

func TestLoadErrorsNameTheTensor(t *testing.T) {
	net := tinyNet(t, 5)
	good := NetTensors(net)
	mutate := func(f func([]Tensor) []Tensor) *File {
		ts := f(append([]Tensor(nil), good...))
		file, err := Parse(encode(t, ts), "mutated.safetensors")
		if err != nil {
			t.Fatal(err)
		}
		return file
	}
	cases := []struct {
		name string
		file *File
		want []string
	}{
		{"missing", mutate(func(ts []Tensor) []Tensor { return ts[1:] }), []string{`missing tensor "conv1.weight"`, "[4 3 7 7]"}},
		{"extra", mutate(func(ts []Tensor) []Tensor {
			return append(ts, Tensor{Name: "layer5.0.conv1.weight", Shape: []int{2}, F32: []float32{1, 2}})
		}),
			[]string{`unexpected tensor "layer5.0.conv1.weight"`}},
		{"shape", mutate(func(ts []Tensor) []Tensor {
			ts[0] = Tensor{Name: "conv1.weight", Shape: []int{4, 3, 3, 3}, F32: make([]float32, 108)}
			return ts
		}), []string{`"conv1.weight" has shape [4 3 3 3] in the file, the network needs [4 3 7 7]`}},
		{"dtype", mutate(func(ts []Tensor) []Tensor {
			ts[1] = Tensor{Name: ts[1].Name, Shape: ts[1].Shape, I64: make([]int64, len(ts[1].F32))}
			return ts
		}), []string{`"bn1.weight" is I64, want F32`}},
	}
	for _, c := range cases {
		before := append([]float32(nil), net.ParamData...)
		err := LoadNet(net, c.file, LoadOptions{})
		if err == nil {
			t.Errorf("%s: loaded without error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", c.name, err, w)
			}
		}
		for i := range before {
			if before[i] != net.ParamData[i] {
				t.Fatalf("%s: a failed load changed the network", c.name)
			}
		}
	}
	// A class count that does not match: the fc tensors are named.
	other := tinyNet(t, 7)
	f, _ := Parse(encode(t, good), "five.safetensors")
	err := LoadNet(other, f, LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), `"fc.weight" has shape [5 32]`) {
		t.Errorf("class mismatch error: %v", err)
	}
	// Fine-tuning: skip the head and keep the new one.
	if err := LoadNet(other, f, LoadOptions{Skip: func(n string) bool { return strings.HasPrefix(n, "fc.") }}); err != nil {
		t.Errorf("loading all but fc: %v", err)
	}
	cfg := resnet.Config{Arch: "resnet18", Classes: 7}
	if err := InferConfig(f, &cfg); err == nil || !strings.Contains(err.Error(), "fc.weight") {
		t.Errorf("InferConfig with a conflicting class count: %v", err)
	}
}

// TestCorruptFilesGiveErrors feeds every truncation of a small valid file,
// and a set of bit flips, to the reader: each must be an error or a valid
// parse, never a panic.
func TestCorruptFilesGiveErrors(t *testing.T) {
	net, _ := resnet.New(resnet.Config{Arch: "resnet18", Classes: 2, WidthDiv: 64})
	data := encode(t, NetTensors(net))
	for n := 0; n < len(data); n += 1 + n/50 {
		if _, err := Parse(data[:n], "truncated"); err == nil {
			t.Fatalf("a file truncated to %d of %d bytes parsed", n, len(data))
		}
	}
	for i := 0; i < 2000 && i < len(data); i += 3 {
		b := append([]byte(nil), data...)
		b[i] ^= 0x5a
		f, err := Parse(b, "flipped")
		if err == nil {
			// If the header survived, loading must still not panic.
			LoadNet(net, f, LoadOptions{})
		}
	}
	if _, err := Parse([]byte("not a safetensors file at all"), "junk"); err == nil {
		t.Error("junk parsed")
	}
	path := filepath.Join(t.TempDir(), "missing.safetensors")
	if _, err := Open(path); err == nil || !os.IsNotExist(err) {
		t.Errorf("open of a missing file: %v", err)
	}
}
