//go:build !js

package importer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/data/importer"
)

// TestOversizedFileSkipped: a file larger than any image within the pixel
// limit can be (a small JPEG followed by 2 GB of nothing: a sparse file)
// is skipped with the reason before it is read into memory.
func TestOversizedFileSkipped(t *testing.T) {
	dir := t.TempDir()
	for _, class := range []string{"cat", "dog"} {
		os.Mkdir(filepath.Join(dir, class), 0o755)
		for i := range 3 {
			os.WriteFile(filepath.Join(dir, class, string(rune('a'+i))+".jpg"), photo(40, 30, uint64(i)), 0o644)
		}
	}
	big := filepath.Join(dir, "cat", "padded.jpg")
	if err := os.WriteFile(big, photo(40, 30, 9), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 2<<30); err != nil {
		t.Skipf("no sparse files here: %v", err)
	}
	opts := importer.Options{Format: "imagefolder", From: os.DirFS(dir), Size: 16, Name: "pets", Seed: 3, TestFraction: -1, MaxPixels: 1_000_000}
	_, m, rep := runImport(t, opts)
	r := reasons(rep)["cat/padded.jpg"]
	if !strings.Contains(r, "2147483648 bytes, more than an image of at most 1.0 megapixels takes") {
		t.Errorf("reason %q", r)
	}
	n := 0
	for _, sp := range m.Splits {
		n += sp.Count
	}
	if n != 6 {
		t.Errorf("%d imported, want the 6 good pictures", n)
	}
}
