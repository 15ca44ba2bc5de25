package cli

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/data/datatest"
)

// TestDataCommands imports a slice of MNIST with the CLI, then runs info
// (with --verify), examples and data-bench on it, as the README shows.
func TestDataCommands(t *testing.T) {
	mnist, err := datatest.MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "digits")
	stdout, stderr, code := run(t, "import", "--from", mnist, "--format", "mnist", "--size", "32", "--out", out,
		"--split", "train=train[:200],val=test[:10%],test=test[-50:]", "--description", "a slice of MNIST")
	if code != 0 {
		t.Fatalf("import: %s", stderr)
	}
	if !strings.Contains(stdout, "digits: 1250 images, 10 classes, 32x32 RGB") || !strings.Contains(stdout, "val               1000  (test[:10%])") {
		t.Errorf("import output:\n%s", stdout)
	}
	stdout, stderr, code = run(t, "info", "--data", out, "--verify")
	for _, want := range []string{"name:        digits", "description: a slice of MNIST", "classes:     10: 0, 1, 2", "train               200 examples", "val                1000 examples", "verified:    3 shards"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("info: no %q in\n%s%s", want, stdout, stderr)
		}
	}
	grid := filepath.Join(t.TempDir(), "grid.png")
	if _, stderr, code = run(t, "examples", "--data", out, "--split", "val", "--rows", "2", "--cols", "3", "--out", grid, "--augment", "notebook"); code != 0 {
		t.Fatalf("examples: %s", stderr)
	}
	f, err := os.Open(grid)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	// 3 columns of 128 px + 6 px gaps; 2 rows of 128 + 16 px text + 6.
	if err != nil || img.Bounds().Dx() != 3*134+6 || img.Bounds().Dy() != 2*150+6 {
		t.Errorf("grid: %v %v", img.Bounds(), err)
	}
	stdout, stderr, code = run(t, "data-bench", "--data", out, "--batch", "16", "--batches", "5", "--augment", "crop,flip=horizontal", "--size", "24")
	if code != 0 || !strings.Contains(stdout, "Examples/sec (First included)") || !strings.Contains(stdout, "(total: 80 ex") || !strings.Contains(stdout, "(total: 64 ex") {
		t.Errorf("data-bench:\n%s%s", stdout, stderr)
	}

	// A damaged shard is refused, by name.
	shard := filepath.Join(out, "val-00000.shard")
	b, _ := os.ReadFile(shard)
	b[100] ^= 0xff
	os.WriteFile(shard, b, 0o644)
	if _, stderr, code = run(t, "info", "--data", out, "--verify"); code != 1 || !strings.Contains(stderr, "shard val-00000.shard: sha256 mismatch") {
		t.Errorf("damaged shard: %d %s", code, stderr)
	}
	// An existing dataset is not overwritten without --force.
	if _, stderr, code = run(t, "import", "--from", mnist, "--format", "mnist", "--size", "8", "--out", out, "--split", "train[:5]"); code != 1 || !strings.Contains(stderr, "--force") {
		t.Errorf("overwrite: %d %s", code, stderr)
	}
}

func TestImportFolderReport(t *testing.T) {
	src := t.TempDir()
	for _, class := range []string{"cats", "dogs"} {
		os.MkdirAll(filepath.Join(src, class), 0o755)
		for i := range 3 {
			m := image.NewRGBA(image.Rect(0, 0, 50+i, 40))
			for p := range m.Pix {
				m.Pix[p] = uint8(p * (i + 1))
			}
			m.Set(0, 0, color.RGBA{255, 0, 0, 255})
			var b bytes.Buffer
			jpeg.Encode(&b, m, nil)
			os.WriteFile(filepath.Join(src, class, string(rune('a'+i))+".jpg"), b.Bytes(), 0o644)
		}
	}
	os.WriteFile(filepath.Join(src, "cats", "broken.jpg"), []byte("\xff\xd8\xff\xe0 not really"), 0o644)
	os.MkdirAll(filepath.Join(src, "birds"), 0o755)
	out := filepath.Join(t.TempDir(), "pets")
	stdout, stderr, code := run(t, "import", "--from", src, "--size", "16", "--out", out, "--test-fraction", "0")
	if code != 0 {
		t.Fatal(stderr)
	}
	if !strings.Contains(stdout, "pets: 6 images, 2 classes") {
		t.Errorf("stdout %s", stdout)
	}
	for _, want := range []string{"skipped 2 files", "birds/: empty class", "cats/broken.jpg: corrupt jpeg header"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("no %q in stderr:\n%s", want, stderr)
		}
	}
	if _, stderr, code := run(t, "import", "--out", out); code != 1 || !strings.Contains(stderr, "--from and --out are required") {
		t.Errorf("missing flags: %s", stderr)
	}
	if _, stderr, code := run(t, "info", "--data", filepath.Join(out, "nope")); code != 1 || !strings.Contains(stderr, "manifest.json") {
		t.Errorf("missing dataset: %s", stderr)
	}
}

// TestHelpMentionsData: the data commands are reachable from the help.
func TestHelpMentionsData(t *testing.T) {
	stdout, _, _ := run(t, "help")
	for _, c := range []string{"import", "info", "examples", "data-bench"} {
		if !strings.Contains(stdout, "  "+c+" ") {
			t.Errorf("help does not list %s", c)
		}
	}
	_, stderr, code := run(t, "import", "-h")
	if code != 0 || !strings.Contains(stderr, "--split 'train,val=test[0%:10%],test=test[10%:]'") {
		t.Errorf("import -h:\n%s", stderr)
	}
}
