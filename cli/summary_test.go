package cli

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/resnet"
)

// summaryTotals reads the totals lines of a summary.
func summaryTotals(t *testing.T, out string) map[string]int {
	t.Helper()
	got := map[string]int{}
	re := regexp.MustCompile(`(?m)^(Total params|Trainable params|Non-trainable params|Buffers)[^:]*: ([0-9,]+)`)
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		v, err := strconv.Atoi(strings.ReplaceAll(m[2], ",", ""))
		if err != nil {
			t.Fatal(err)
		}
		got[m[1]] = v
	}
	if len(got) != 4 {
		t.Fatalf("summary totals not found in:\n%s", out)
	}
	return got
}

// TestSummaryTotals checks the totals of all five architectures against
// torchvision's (testdata/param_counts.json, written by make_parity.py).
func TestSummaryTotals(t *testing.T) {
	raw, err := os.ReadFile(fixtureDir + "param_counts.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]struct{ Params, Buffers int }
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(resnet.ArchNames()) {
		t.Fatalf("param_counts.json has %d architectures", len(want))
	}
	for _, arch := range resnet.ArchNames() {
		out, stderr, code := run(t, "summary", "--arch", arch)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", arch, code, stderr)
		}
		got := summaryTotals(t, out)
		w := want[arch]
		if got["Total params"] != w.Params || got["Trainable params"] != w.Params || got["Non-trainable params"] != 0 || got["Buffers"] != w.Buffers {
			t.Errorf("%s: totals %v, torchvision has %d parameters and %d buffer values", arch, got, w.Params, w.Buffers)
		}
		if arch == "resnet50" {
			for _, s := range []string{
				"Total params: 25,557,032 (97.49 MiB)",
				"Model: resnet50, 1000 classes, standard head, input (None, 3, 224, 224)",
				"layer1.0.add (Add)                    (None, 256, 56, 56)            0   layer1.0.bn3, layer1.0.downsample.1",
				"fc (Linear)                           (None, 1000)           2,049,000   flatten",
				"Forward pass per image: 4.09 GMAC (8.18 GFLOP) at 224x224",
			} {
				if !strings.Contains(out, s) {
					t.Errorf("resnet50 summary lacks %q:\n%s", s, out)
				}
			}
		}
	}
}

func TestSummaryFreezingAndOptions(t *testing.T) {
	out, _, code := run(t, "summary", "--arch", "resnet50", "--head-only")
	got := summaryTotals(t, out)
	if code != 0 || got["Trainable params"] != 2049000 || got["Non-trainable params"] != 25557032-2049000 || got["Total params"] != 25557032 {
		t.Errorf("--head-only: %v", got)
	}
	if !strings.Contains(out, "Trainable") || !regexp.MustCompile(`(?m)^conv1 \(Conv2d\).* N$`).MatchString(out) || !regexp.MustCompile(`(?m)^fc \(Linear\).* Y$`).MatchString(out) {
		t.Errorf("--head-only: no Trainable column:\n%s", out)
	}

	// Notebook head at 96x96, width 1/8, batch 2: its fc takes 64*2*2 features.
	out, stderr, code := run(t, "summary", "--arch", "resnet18", "--width-div", "8", "--classes", "5", "--head", "notebook",
		"--size", "96", "--batch", "2", "--freeze", "conv1,layer1")
	if code != 0 {
		t.Fatal(stderr)
	}
	for _, s := range []string{
		"avgpool (AveragePooling2D)", "(2, 64, 2, 2)", "dropout (Dropout)", "flatten (Flatten)", "(2, 256)",
		"fc (Linear)                           (2, 5)              1,285   flatten",
		"input (Input)                         (2, 3, 96, 96)",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("notebook summary lacks %q:\n%s", s, out)
		}
	}
	net, _ := resnet.New(resnet.Config{Arch: "resnet18", Classes: 5, WidthDiv: 8, Head: resnet.HeadNotebook, InputSize: 96})
	net.SetTrainable([]string{"conv1", "layer1"})
	total, tr, frozen := net.NumParams()
	got = summaryTotals(t, out)
	if got["Total params"] != total || got["Trainable params"] != tr || got["Non-trainable params"] != frozen || frozen == 0 {
		t.Errorf("--freeze conv1,layer1: %v, want %d/%d/%d", got, total, tr, frozen)
	}

	// The multiply-add count agrees with the workspace's FLOP count.
	ls, _ := net.Layers(2, 96, 96)
	ws, err := net.NewWorkspace(2, 96, 96)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := 2*2*resnet.ForwardMACs(ls), ws.ForwardFLOPs(); got != want {
		t.Errorf("summary counts %d FLOPs for a batch of 2, the workspace %d", got, want)
	}

	// From a weights file: class count and width come from its shapes.
	w, _, _ := splitFixture(t, "parity_resnet18_w8.safetensors")
	out, stderr, code = run(t, "summary", "--weights", w, "--size", "64")
	if code != 0 || !strings.Contains(out, "Model: resnet18, 7 classes, standard head, width divided by 8, input (None, 3, 64, 64)") {
		t.Errorf("--weights: exit %d %s\n%s", code, stderr, out)
	}
}

func TestSummaryBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--size", "100"}, "multiples of 32"},
		{[]string{"--arch", "resnet51"}, "unknown architecture"},
		{[]string{"--head", "keras"}, "unknown head"},
		{[]string{"--freeze", "layer9"}, `"layer9" matches no parameter`},
		{[]string{"--freeze", "layer1", "--head-only"}, "exclude each other"},
		{[]string{"--width-div", "3"}, "must divide 64"},
		{[]string{"--weights", "/nonexistent.safetensors"}, "no such file"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		_, stderr, code := run(t, append([]string{"summary"}, c.args...)...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", c.args, code, stderr, c.want)
		}
	}
}

func TestHelpListsTheInspectionCommands(t *testing.T) {
	stdout, _, _ := run(t, "help")
	for _, c := range []string{"summary", "graph", "export"} {
		if !strings.Contains(stdout, "\n  "+c+" ") {
			t.Errorf("help does not list %s:\n%s", c, stdout)
		}
		if _, stderr, code := run(t, c, "-h"); code != 0 || !strings.Contains(stderr, "Usage: goresnet "+c) {
			t.Errorf("%s -h: exit %d %q", c, code, stderr)
		}
	}
}
