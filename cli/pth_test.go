package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/weights"
)

// TestForwardPth runs forward on torchvision-format .pth weights (zip and
// legacy torch.save): the architecture's blocks, class count and width come
// from the file, and the logits are PyTorch's.
func TestForwardPth(t *testing.T) {
	_, x, ref := splitFixture(t, "parity_resnet18_w8.safetensors")
	want, _, _ := ref.Float32("eval.logits")
	for _, pth := range []string{"resnet18_w8.pth", "resnet18_w8_legacy.pth"} {
		out := filepath.Join(t.TempDir(), "out.safetensors")
		stdout, stderr, code := run(t, "forward", "--arch", "resnet18", "--weights", "../model/weights/testdata/"+pth, "--input", x, "--out", out)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", pth, code, stderr)
		}
		if !strings.Contains(stdout, "logits 3x7") {
			t.Errorf("%s: stdout %q", pth, stdout)
		}
		f, err := weights.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		logits, _, _ := f.Float32("logits")
		if e := maxRel(logits, want); e > 1e-4 {
			t.Errorf("%s: eval logits: relative error %.3g", pth, e)
		}
	}
	// A .pth of the wrong architecture is refused by name.
	_, stderr, code := run(t, "forward", "--arch", "resnet34", "--weights", "../model/weights/testdata/resnet18_w8.pth", "--input", x, "--out", filepath.Join(t.TempDir(), "o.safetensors"))
	if code != 1 || !strings.Contains(stderr, `missing tensor "layer1.2.conv1.weight"`) {
		t.Errorf("resnet34 from a resnet18 .pth: exit %d %q", code, stderr)
	}
}
