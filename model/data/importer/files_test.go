package importer_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/importer"
)

// fileList makes a FileList of the given files, counting the reads.
func fileList(t *testing.T, files map[string][]byte, reads map[string]int) *importer.FileList {
	t.Helper()
	l := importer.NewFileList()
	for name, b := range files {
		name, b := name, b
		if err := l.Add(name, int64(len(b)), func() ([]byte, error) {
			reads[name]++
			if b == nil {
				return nil, errors.New("the file could not be read")
			}
			return b, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func TestFileListIsAFolder(t *testing.T) {
	files := map[string][]byte{"/pets/cat/a.jpg": []byte("A"), "pets/cat/b.jpg": []byte("BB"), "pets/dog/x/c.png": []byte("C")}
	reads := map[string]int{}
	l := fileList(t, files, reads)
	if err := fstest.TestFS(l, "pets/cat/a.jpg", "pets/cat/b.jpg", "pets/dog/x/c.png"); err != nil {
		t.Fatal(err)
	}
	if !l.StripCommonFolder() {
		t.Fatal("the single top folder holding class folders was not stripped")
	}
	if err := fstest.TestFS(l, "cat/a.jpg", "cat/b.jpg", "dog/x/c.png"); err != nil {
		t.Fatal(err)
	}
	if l.StripCommonFolder() {
		t.Fatal("stripped the class folders")
	}
	// A class folder alone (files directly inside) stays as it is.
	one := fileList(t, map[string][]byte{"cat/a.jpg": nil}, reads)
	if one.StripCommonFolder() {
		t.Fatal("a lone class folder was stripped")
	}
	for _, bad := range []string{"", "/", "cat/a.jpg/b", "cat"} {
		if err := l.Add(bad, 1, nil); err == nil {
			t.Errorf("Add(%q) accepted", bad)
		}
	}
}

func TestImportFileList(t *testing.T) {
	src := imageFolder()
	files := map[string][]byte{}
	for name, f := range src {
		files[filepath.ToSlash(filepath.Join("photos", name))] = f.Data
	}
	files["photos/cat/unreadable.jpg"] = nil // the browser could not read it
	reads := map[string]int{}
	l := fileList(t, files, reads)
	l.StripCommonFolder()
	sink := &memSink{}
	m, rep, err := importer.Import(context.Background(), importer.Options{Format: "imagefolder", From: l, Size: 16, Name: "pets", Seed: 3, TestFraction: -1, Workers: 1}, sink)
	if err != nil {
		t.Fatal(err)
	}
	// The same dataset as from the folder on disk (the same readers).
	want, _, err := importer.Import(context.Background(), importer.Options{Format: "imagefolder", From: src, Size: 16, Name: "pets", Seed: 3, TestFraction: -1, Workers: 1}, &memSink{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.ClassNames(), want.ClassNames()) || len(m.Splits) != len(want.Splits) {
		t.Fatalf("classes %v splits %v, want %v %v", m.ClassNames(), m.Splits, want.ClassNames(), want.Splits)
	}
	for i := range m.Splits {
		if m.Splits[i].Name != want.Splits[i].Name || m.Splits[i].Count != want.Splits[i].Count || m.Splits[i].Shards[0].SHA256 != want.Splits[i].Shards[0].SHA256 {
			t.Errorf("split %v, from the folder %v", m.Splits[i], want.Splits[i])
		}
	}
	r := reasons(rep)
	if r["cat/unreadable.jpg"] == "" {
		t.Errorf("the unreadable file is not reported: %v", rep.Skipped)
	}
	if _, err := data.ParseManifest(sink.files[data.ManifestName].Bytes()); err != nil || !sink.committed {
		t.Fatalf("manifest %v, committed %v", err, sink.committed)
	}
}
