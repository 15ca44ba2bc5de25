package weights

import (
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/resnet"
)

func TestInferArch(t *testing.T) {
	for _, arch := range resnet.ArchNames() {
		n, err := resnet.New(resnet.Config{Arch: arch, Classes: 3, WidthDiv: 32})
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(encode(t, NetTensors(n)), arch)
		if err != nil {
			t.Fatal(err)
		}
		var cfg resnet.Config
		if err := InferConfig(f, &cfg); err != nil || cfg.Arch != arch || cfg.Classes != 3 || cfg.WidthDiv != 32 {
			t.Errorf("%s: inferred %+v, %v", arch, cfg, err)
		}
	}
	// A resnet18 with a stage cut short is no known architecture.
	n := tinyNet(t, 3)
	var ts []Tensor
	for _, x := range NetTensors(n) {
		if !strings.HasPrefix(x.Name, "layer3.1.") {
			ts = append(ts, x)
		}
	}
	f, _ := Parse(encode(t, ts), "cut")
	var cfg resnet.Config
	if err := InferConfig(f, &cfg); err == nil || !strings.Contains(err.Error(), "BasicBlock blocks [2 2 1 2]") {
		t.Errorf("cut resnet18: %v", err)
	}
}

// TestLoadWithoutNumBatchesTracked: files from PyTorch before 0.4.1 have no
// num_batches_tracked; they load with the counters at 0, as in PyTorch.
func TestLoadWithoutNumBatchesTracked(t *testing.T) {
	a := tinyNet(t, 3)
	var ts []Tensor
	for _, x := range NetTensors(a) {
		if !strings.HasSuffix(x.Name, "num_batches_tracked") {
			ts = append(ts, x)
		}
	}
	f, err := Parse(encode(t, ts), "old")
	if err != nil {
		t.Fatal(err)
	}
	b := tinyNet(t, 3)
	*findCounter(b, "bn1.num_batches_tracked") = 5
	if err := LoadNet(b, f, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	if c := *findCounter(b, "bn1.num_batches_tracked"); c != 0 {
		t.Errorf("num_batches_tracked %d, want 0", c)
	}
}
