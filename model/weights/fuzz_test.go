package weights

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/goresnet/goresnet/internal/fuzzcorpus"
	"github.com/goresnet/goresnet/model/resnet"
)

// What parsing and loading a weights file may allocate, in all: a
// multiple of the file's size (reading a U8 tensor as int64 widens it 8
// times; the unpickler makes an object of ~100 bytes from an opcode of one
// or two; the network and its gradients are twice the tensors the file
// holds, checked before it is built) plus a constant.
func weightsAllocBound(n int) uint64 { return 256*uint64(n) + 32<<20 }

// exercise parses b as the CLI and the browser do, reads every tensor, and
// when the file describes a ResNet builds it and loads it; every step
// either works or fails with an error, and the whole stays within
// weightsAllocBound.
func exercise(t *testing.T, b []byte, parse func([]byte, string) (*File, error)) {
	fuzzcorpus.AllocBound(t, "parsing and loading", weightsAllocBound(len(b)), func() {
		f, err := parse(b, "fuzz")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		for _, name := range f.Names() {
			dtype, shape, err := f.Shape(name)
			if err != nil {
				t.Fatalf("Shape(%q) of a listed tensor: %v", name, err)
			}
			n := 1
			for _, d := range shape {
				if d < 0 {
					t.Fatalf("tensor %q: negative dimension in %v", name, shape)
				}
				n *= d
			}
			if v, _, err := f.Float32(name); err == nil && len(v) != n {
				t.Fatalf("tensor %q (%s %v): %d float32 values", name, dtype, shape, len(v))
			}
			if v, _, err := f.Int64(name); err == nil && len(v) != n {
				t.Fatalf("tensor %q (%s %v): %d integers", name, dtype, shape, len(v))
			}
		}
		cfg := resnet.Config{Dropout: 0.5}
		if err := InferConfig(f, &cfg); err != nil {
			return
		}
		if cfg.InputSize == 0 {
			cfg.InputSize = 224 // as the CLI does
		}
		if err := CheckFits(f, cfg, LoadOptions{}); err != nil {
			return
		}
		net, err := resnet.New(cfg)
		if err != nil {
			t.Fatalf("a config that fits the file does not build: %+v: %v", cfg, err)
		}
		if err := LoadNet(net, f, LoadOptions{}); err != nil {
			t.Fatalf("CheckFits accepted the file but LoadNet refuses it: %v", err)
		}
	})
}

// FuzzParse: any input is a weights file or an error (never a panic, a
// hang or an allocation beyond weightsAllocBound); a file that describes a
// ResNet loads into it. Parse reads safetensors, and PyTorch files by
// their first bytes.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) { exercise(t, b, Parse) })
}

// FuzzParsePth: the same for PyTorch's formats (zip and legacy pickle).
func FuzzParsePth(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) { exercise(t, b, ParsePth) })
}

// tinyWeights is a ResNet-18 at 1/64 width with 2 classes (a few thousand
// parameters): small enough for the fuzzer to mutate, complete enough to
// load. Its values are all 0.751 (bytes "@@@?"), which the corpus files
// (Go string literals) hold as printable text, 4 times smaller than
// escaped random bytes.
func tinyWeights(t testing.TB) *resnet.Net {
	n, err := resnet.New(resnet.Config{Arch: "resnet18", Classes: 2, WidthDiv: 64, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	v := math.Float32frombits(0x3f404040)
	for i := range n.ParamData {
		n.ParamData[i] = v
	}
	for i := range n.BufferData {
		n.BufferData[i] = v
	}
	return n
}

// TestWriteCorpus regenerates the seed corpora of FuzzParse and
// FuzzParsePth (GORESNET_WRITE_CORPUS=1): a tiny ResNet as safetensors
// and as .pth in both formats, the small .pth fixtures, each with
// truncations and bit flips.
func TestWriteCorpus(t *testing.T) {
	fuzzcorpus.SkipUnlessEnabled(t)
	net := tinyWeights(t)
	var st bytes.Buffer
	if err := Encode(&st, NetTensors(net), NetMetadata(net)); err != nil {
		t.Fatal(err)
	}
	w := fuzzcorpus.New(t, "FuzzParse")
	w.AddVariants("resnet18-w64", st.Bytes(), 10)
	w.AddVariants("small", encode(t, []Tensor{{Name: "a", Shape: []int{2}, F32: []float32{1, 2}}, {Name: "n", I64: []int64{7}}}), 8)
	w.Add("huge-declared", hugeSafetensors())
	md := NetMetadata(net)
	md["dropout"], md["head"] = "NaN", "notebook"
	var nan bytes.Buffer
	if err := Encode(&nan, NetTensors(net), md); err != nil {
		t.Fatal(err)
	}
	w.Add("nan-dropout", nan.Bytes())
	w.Add("pth-zip", encodePth(t, NetTensors(net), false))
	w.Done()

	w = fuzzcorpus.New(t, "FuzzParsePth")
	w.AddVariants("resnet18-w64-zip", encodePth(t, NetTensors(net), false), 6)
	w.AddVariants("resnet18-w64-legacy", encodePth(t, NetTensors(net), true), 6)
	for _, name := range []string{"odd.pth", "odd_legacy.pth", "checkpoint.pth", "dataparallel.pth"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		w.AddVariants(strings.TrimSuffix(name, ".pth"), b, 12)
	}
	for name, b := range hugePth(t) {
		w.Add(name, b)
	}
	w.Add("self-nested-dict", zipOf(t, map[string]string{"a/data.pkl": selfNestedPickle}))
	w.Add("long-text-number", zipOf(t, map[string]string{"a/data.pkl": longTextPickle(5000)}))
	w.Add("zip-bomb", deflatedPth(t, 1<<20))
	w.Add("deflated", deflatedPth(t, 100))
	w.Done()
}

// hugeSafetensors is a safetensors file whose header declares a float32
// tensor of 2^40 elements (4 TiB) over 16 bytes of data.
func hugeSafetensors() []byte {
	hdr := fmt.Sprintf(`{"x":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,%d]}}`, int64(4)<<40)
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(hdr)))
	b.WriteString(hdr)
	b.Write(make([]byte, 16))
	return b.Bytes()
}

// hugePth are .pth files whose pickle declares a storage of 2^40 float32
// values (and a tensor of that shape) over a few bytes of data.
func hugePth(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	for _, legacy := range []bool{false, true} {
		b := encodePth(t, []Tensor{{Name: "x", Shape: []int{2}, F32: []float32{1, 2}}}, legacy)
		// The storage's numel and the tensor's size are BININT 2:
		// J\x02\x00\x00\x00; make them 2^40 with LONG1 (\x8a, 6 bytes).
		big := []byte("\x8a\x06\x00\x00\x00\x00\x00\x01")
		pkl := bytes.ReplaceAll(b, []byte("J\x02\x00\x00\x00"), big)
		name := "huge-zip"
		if legacy {
			name = "huge-legacy"
		} else {
			// Keep the zip valid: rebuild it around the changed pickle.
			pkl = rezip(t, b, func(n string, rec []byte) []byte {
				if strings.HasSuffix(n, "data.pkl") {
					return bytes.ReplaceAll(rec, []byte("J\x02\x00\x00\x00"), big)
				}
				return rec
			})
		}
		out[name] = pkl
	}
	return out
}

// TestHugeDeclaredTensorFailsFast: a header declaring a tensor of 2^40
// elements over a few bytes is refused at once, allocating almost
// nothing (the reader compares what the header declares with the file
// before it allocates anything for it).
func TestHugeDeclaredTensorFailsFast(t *testing.T) {
	cases := map[string][]byte{"safetensors": hugeSafetensors()}
	for k, v := range hugePth(t) {
		cases[k] = v
	}
	for name, b := range cases {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		t0 := time.Now()
		f, err := Parse(b, name)
		if err == nil {
			// The .pth readers refuse such storages at once; a tensor that
			// got through would have to be refused when read.
			_, _, err = f.Float32("x")
		}
		elapsed := time.Since(t0)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: a 2^40-element tensor accepted", name)
			continue
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s (%d bytes): refused in %v after allocating %d bytes: %v", name, len(b), elapsed, alloc, err)
		if alloc > 1<<20 || elapsed > time.Second {
			t.Errorf("%s: refusing took %v and %d bytes", name, elapsed, alloc)
		}
	}
}

// TestMetadataNaNDropout: a weights file whose metadata says the dropout
// rate is NaN is refused (NaN passed the range check, and would have made
// every activation of the notebook head NaN in training).
func TestMetadataNaNDropout(t *testing.T) {
	net := tinyWeights(t)
	md := NetMetadata(net)
	md["dropout"] = "NaN"
	var b bytes.Buffer
	if err := Encode(&b, NetTensors(net), md); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(b.Bytes(), "nan-dropout")
	if err != nil {
		t.Fatal(err)
	}
	cfg := resnet.Config{}
	if err := InferConfig(f, &cfg); err != nil {
		t.Fatal(err)
	}
	if err := CheckFits(f, cfg, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "dropout NaN must be in [0, 1)") {
		t.Errorf("a NaN dropout rate: %v", err)
	}
}
