package importer_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/imageio"
	"github.com/goresnet/goresnet/model/data/importer"
	"github.com/goresnet/goresnet/model/data/matv5"
)

// photo encodes a w x h JPEG of smooth colour plus noise, tinted by seed.
func photo(w, h int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 9))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			i := m.PixOffset(x, y)
			m.Pix[i] = uint8(int(seed*40)%200 + x%50 + r.IntN(8))
			m.Pix[i+1] = uint8(y*200/h + r.IntN(8))
			m.Pix[i+2] = uint8((x+y)*100/(w+h) + r.IntN(8))
			m.Pix[i+3] = 255
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, m, &jpeg.Options{Quality: 90})
	return b.Bytes()
}

// hugePNG is a valid PNG header that declares 30000 x 30000 pixels.
func hugePNG() []byte {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4)))
	p := b.Bytes()
	binary.BigEndian.PutUint32(p[16:], 30000)
	binary.BigEndian.PutUint32(p[20:], 30000)
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	return p
}

// failFS fails to open the files it names, as unreadable files do.
type failFS struct {
	fs.FS
	bad map[string]bool
}

func (f failFS) Open(name string) (fs.File, error) {
	if f.bad[name] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.FS.Open(name)
}

func imageFolder() fstest.MapFS {
	fsys := fstest.MapFS{}
	for c, class := range []string{"cat", "dog", "n02085620-Chihuahua"} {
		for i := range 10 {
			fsys[fmt.Sprintf("%s/%02d.jpg", class, i)] = &fstest.MapFile{Data: photo(40+i, 30, uint64(c*10+i))}
		}
	}
	good := photo(40, 30, 99)
	fsys["cat/zero.jpg"] = &fstest.MapFile{}
	fsys["cat/truncated.jpg"] = &fstest.MapFile{Data: good[:len(good)*2/3]}
	big := photo(200, 150, 98)
	fsys["cat/cut.jpg"] = &fstest.MapFile{Data: big[:len(big)*4/5]}
	fsys["dog/notes.txt"] = &fstest.MapFile{Data: []byte("good dogs\n")}
	fsys["dog/old.bmp"] = &fstest.MapFile{Data: []byte("BM\x36\x00\x00\x00\x00\x00\x00\x00")}
	fsys["dog/huge.png"] = &fstest.MapFile{Data: hugePNG()}
	fsys["dog/locked.jpg"] = &fstest.MapFile{Data: good}
	fsys["dog/.DS_Store"] = &fstest.MapFile{Data: []byte("junk")}
	fsys["empty/readme.txt"] = &fstest.MapFile{Data: []byte("nothing")}
	fsys["stray.jpg"] = &fstest.MapFile{Data: good}
	return fsys
}

func runImport(t *testing.T, opts importer.Options) (string, *data.Manifest, *importer.Report) {
	t.Helper()
	out := filepath.Join(t.TempDir(), opts.Name)
	m, rep, err := importer.ImportDir(context.Background(), opts, "", out, false)
	if err != nil {
		t.Fatal(err)
	}
	return out, m, rep
}

func reasons(rep *importer.Report) map[string]string {
	r := map[string]string{}
	for _, s := range rep.Skipped {
		r[s.File] = s.Reason
	}
	return r
}

func TestImageFolder(t *testing.T) {
	fsys := failFS{imageFolder(), map[string]bool{"dog/locked.jpg": true}}
	opts := importer.Options{Format: "imagefolder", From: fsys, Size: 16, Name: "pets", Description: "test pets", Seed: 3, TestFraction: -1, ShardBytes: 3000}
	out, m, rep := runImport(t, opts)

	if got := m.ClassNames(); !slices.Equal(got, []string{"cat", "dog", "Chihuahua"}) {
		t.Errorf("classes %q", got)
	}
	if c := m.Classes[2]; c.Synset != "n02085620" || c.Folder != "n02085620-Chihuahua" {
		t.Errorf("Chihuahua: %+v", c)
	}
	// 30 good images; a stratified 20% test split: 2 per class.
	if len(m.Splits) != 2 || m.Splits[0].Name != "train" || m.Splits[0].Count != 24 || m.Splits[1].Count != 6 {
		t.Fatalf("splits %+v", m.Splits)
	}
	if n := len(m.Splits[0].Shards); n != 8 { // 3000-byte shards hold 3 records of 772 bytes
		t.Errorf("%d train shards", n)
	}
	want := map[string]string{
		"cat/zero.jpg":      "empty file",
		"cat/truncated.jpg": "corrupt jpeg",
		"cat/cut.jpg":       "truncated or corrupt jpeg",
		"dog/notes.txt":     "not an image",
		"dog/old.bmp":       "unsupported image format: bmp",
		"dog/huge.png":      "30000x30000 = 900.0 megapixels, above the limit",
		"dog/locked.jpg":    "unreadable: permission denied",
		"empty/":            "empty class",
		"empty/readme.txt":  "not an image",
		"stray.jpg":         "not inside a class folder",
	}
	got := reasons(rep)
	for f, r := range want {
		if !strings.Contains(got[f], r) {
			t.Errorf("%s: reason %q, want %q", f, got[f], r)
		}
	}
	if len(got) != len(want) {
		t.Errorf("skipped %v", got)
	}
	// The report is written beside the manifest.
	var saved importer.Report
	b, err := os.ReadFile(filepath.Join(out, importer.ReportName))
	if err != nil || json.Unmarshal(b, &saved) != nil || len(saved.Skipped) != len(want) {
		t.Errorf("saved report: %v %s", err, b)
	}

	// Everything reads back and verifies; each record is the resized image.
	ds, err := data.OpenPath(context.Background(), out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	sh, err := ds.Shard(context.Background(), "train", 0)
	if err != nil {
		t.Fatal(err)
	}
	label, pix := sh.Record(0)
	if int(label) >= 3 {
		t.Fatalf("label %d", label)
	}
	found := false
	var rz imageio.Resizer
	for name, f := range imageFolder() {
		want := make([]byte, 16*16*3)
		_, err := rz.DecodeWithPad(want, 16, f.Data, imageio.DefaultMaxPixels)
		if err != nil || !strings.HasPrefix(name, []string{"cat/", "dog/", "n02085620-Chihuahua/"}[label]) {
			continue
		}
		found = found || bytes.Equal(want, pix)
	}
	if !found {
		t.Error("the first record is no resized image of its class")
	}
}

func TestImageFolderSplitsAndSpecs(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, sp := range []string{"train", "test"} {
		for c, class := range []string{"a", "b"} {
			for i := range 10 {
				fsys[fmt.Sprintf("%s/%s/%d.jpg", sp, class, i)] = &fstest.MapFile{Data: photo(20, 20, uint64(c))}
			}
		}
	}
	splits, err := data.ParseSplitList("train,val=test[0%:10%],test=test[10%:],small=train[:3]+test[-2:]")
	if err != nil {
		t.Fatal(err)
	}
	_, m, _ := runImport(t, importer.Options{Format: "imagefolder", From: fsys, Size: 8, Name: "ab", Splits: splits})
	counts := map[string]int{}
	for _, s := range m.Splits {
		counts[s.Name] = s.Count
	}
	if fmt.Sprint(counts) != "map[small:5 test:18 train:20 val:2]" {
		t.Errorf("counts %v", counts)
	}
	if m.Splits[3].Shards[0].File != "small-00000.shard" {
		t.Errorf("file %s", m.Splits[3].Shards[0].File)
	}
	_, _, err = importer.Import(context.Background(), importer.Options{Format: "imagefolder", From: fsys, Size: 8, Name: "x", Splits: []data.NamedSplit{{Name: "v", Spec: data.SplitSpec{Text: "validation", Parts: []data.SplitPart{{Split: "validation"}}}}}}, &memSink{})
	if err == nil || !strings.Contains(err.Error(), "has no split \"validation\" (it has train, test)") {
		t.Errorf("unknown source split: %v", err)
	}
}

func TestImportErrors(t *testing.T) {
	dup := fstest.MapFS{
		"n02085620-Chihuahua/1.jpg": {Data: photo(8, 8, 1)},
		"n09999999-chihuahua/1.jpg": {Data: photo(8, 8, 2)},
	}
	none := fstest.MapFS{"a/x.txt": {Data: []byte("x")}, "b/y.jpg": {}}
	for _, c := range []struct {
		name string
		opts importer.Options
		want string
	}{
		{"duplicate", importer.Options{Format: "imagefolder", From: dup, Size: 8, Name: "d"}, `two classes have the same name "chihuahua": folders "n02085620-Chihuahua" and "n09999999-chihuahua"`},
		{"no images", importer.Options{Format: "imagefolder", From: none, Size: 8, Name: "d"}, "no importable images"},
		{"format", importer.Options{Format: "coco", From: none, Size: 8, Name: "d"}, "format \"coco\""},
		{"name", importer.Options{Format: "mnist", From: none, Size: 8, Name: "../x"}, "dataset name"},
		{"one list", importer.Options{Format: "stanford-dogs", From: fstest.MapFS{"train_list.mat": {Data: mustMat(t, nil)}}, Size: 8, Name: "d"}, "only one of"},
		{"mnist", importer.Options{Format: "mnist", From: none, Size: 8, Name: "d"}, "none of train-images-idx3-ubyte.gz"},
	} {
		sink := &memSink{}
		_, _, err := importer.Import(context.Background(), c.opts, sink)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		if !sink.aborted || sink.committed {
			t.Errorf("%s: sink aborted %v committed %v", c.name, sink.aborted, sink.committed)
		}
	}
}

func mustMat(t *testing.T, files []string) []byte {
	labels := make([]float64, len(files))
	b, err := matv5.Encode(true, matv5.CellColumn("file_list", files), matv5.Column("labels", labels))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStanfordDogs(t *testing.T) {
	fsys := fstest.MapFS{}
	var all []string
	for c, class := range []string{"n02085620-Chihuahua", "n02085782-Japanese_spaniel", "n02085936-Maltese_dog"} {
		for i := range 6 {
			p := fmt.Sprintf("%s/%s_%d.jpg", class, class[:9], i)
			all = append(all, p)
			fsys["Images/"+p] = &fstest.MapFile{Data: photo(30, 24, uint64(c))}
		}
	}
	// Official lists: 4 train and 2 test per class; one listed file is
	// missing, one file on disk is in no list.
	var train, test []string
	for i, p := range all {
		if i%6 < 4 {
			train = append(train, p)
		} else if i%6 == 4 {
			test = append(test, p)
		}
	}
	test = append(test, "n02085620-Chihuahua/n02085620_missing.jpg")
	fsys["train_list.mat"] = &fstest.MapFile{Data: mustMat(t, train)}
	fsys["test_list.mat"] = &fstest.MapFile{Data: mustMat(t, test)}
	_, m, rep := runImport(t, importer.Options{Format: "stanford-dogs", From: fsys, Size: 12, Name: "dogs", TestFraction: -1})
	if got := m.ClassNames(); !slices.Equal(got, []string{"Chihuahua", "Japanese_spaniel", "Maltese_dog"}) {
		t.Errorf("classes %q", got)
	}
	if m.Splits[0].Count != 12 || m.Splits[1].Count != 3 {
		t.Errorf("splits %+v", m.Splits)
	}
	if r := reasons(rep)["Images/n02085620-Chihuahua/n02085620_missing.jpg"]; !strings.Contains(r, "listed in test_list.mat, but not found") {
		t.Errorf("missing file: %q (%v)", r, rep.Skipped)
	}
	if !slices.ContainsFunc(rep.Notes, func(s string) bool { return strings.Contains(s, "3 images are in neither list") }) {
		t.Errorf("notes %q", rep.Notes)
	}
	// Without the lists: a seeded stratified split in the official proportion.
	delete(fsys, "train_list.mat")
	delete(fsys, "test_list.mat")
	_, m, _ = runImport(t, importer.Options{Format: "stanford-dogs", From: fsys, Size: 12, Name: "dogs", TestFraction: -1, Seed: 5})
	if m.Splits[0].Count != 9 || m.Splits[1].Count != 9 { // round(6 * 0.4169) = 3 per class
		t.Errorf("stratified: %+v", m.Splits)
	}
}

func gz(b []byte) []byte {
	var o bytes.Buffer
	z := gzip.NewWriter(&o)
	z.Write(b)
	z.Close()
	return o.Bytes()
}

func idxFile(dims []int, data []byte) []byte {
	b := []byte{0, 0, 8, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, data...)
}

func TestMNIST(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, s := range []struct {
		prefix string
		n      int
		gzip   bool
	}{{"train", 20, true}, {"t10k", 10, false}} {
		img := make([]byte, s.n*16)
		lab := make([]byte, s.n)
		for i := range s.n {
			lab[i] = byte(i % 10)
			for j := range 16 {
				img[i*16+j] = byte(i*10 + j)
			}
		}
		lab[s.n-1] = 12 // a bad label
		ib, lb := idxFile([]int{s.n, 4, 4}, img), idxFile([]int{s.n}, lab)
		name := s.prefix + "-images-idx3-ubyte"
		lname := s.prefix + "-labels-idx1-ubyte"
		if s.gzip {
			ib, lb, name, lname = gz(ib), gz(lb), name+".gz", lname+".gz"
		}
		fsys[name] = &fstest.MapFile{Data: ib}
		fsys[lname] = &fstest.MapFile{Data: lb}
	}
	out, m, rep := runImport(t, importer.Options{Format: "mnist", From: fsys, Size: 4, Name: "tiny"})
	if m.Splits[0].Count != 19 || m.Splits[1].Count != 9 || len(m.Classes) != 10 || m.Classes[3].Name != "3" {
		t.Fatalf("manifest %+v", m)
	}
	if r := reasons(rep)["train/00019"]; !strings.Contains(r, "label 12") {
		t.Errorf("bad label: %v", rep.Skipped)
	}
	// At the source size the pixels are stored as they are (grey as RGB).
	ds, _ := data.OpenPath(context.Background(), out, nil)
	for i := range 2 {
		sh, err := ds.Shard(context.Background(), m.Splits[i].Name, 0)
		if err != nil {
			t.Fatal(err)
		}
		for r := range sh.Records {
			l, pix := sh.Record(r)
			k := int(pix[0]) / 10 // the example's index
			if int(l) != k%10 || pix[3] != pix[0]+1 || pix[1] != pix[0] {
				t.Fatalf("record %d: label %d pixels %v", r, l, pix[:6])
			}
		}
	}
}

// memSink keeps files in memory; failAfter > 0 makes the n-th Create fail.
type memSink struct {
	files              map[string]*bytes.Buffer
	creates, failAfter int
	committed, aborted bool
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

func (s *memSink) Create(name string) (io.WriteCloser, error) {
	s.creates++
	if s.failAfter > 0 && s.creates >= s.failAfter {
		return nil, errors.New("disk full")
	}
	if s.files == nil {
		s.files = map[string]*bytes.Buffer{}
	}
	b := &bytes.Buffer{}
	s.files[name] = b
	return nopCloser{b}, nil
}
func (s *memSink) Commit() error { s.committed = true; return nil }
func (s *memSink) Abort()        { s.aborted = true }

// TestInterrupted: a failing write or a cancelled import leaves no
// dataset folder and no temporary folder.
func TestInterrupted(t *testing.T) {
	opts := importer.Options{Format: "imagefolder", From: imageFolder(), Size: 8, Name: "pets", ShardBytes: 1000}
	sink := &memSink{failAfter: 3}
	if _, _, err := importer.Import(context.Background(), opts, sink); err == nil || !strings.Contains(err.Error(), "disk full") || !sink.aborted || sink.committed {
		t.Errorf("failing sink: %v", err)
	}
	parent := t.TempDir()
	out := filepath.Join(parent, "pets")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := importer.ImportDir(ctx, opts, "", out, false); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
	// An existing dataset is kept unless replacing.
	if _, _, err := importer.ImportDir(context.Background(), opts, "", out, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := importer.ImportDir(context.Background(), opts, "", out, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("existing: %v", err)
	}
	opts.Description = "replaced"
	if _, _, err := importer.ImportDir(context.Background(), opts, "", out, true); err != nil {
		t.Fatal(err)
	}
	ds, err := data.OpenPath(context.Background(), out, nil)
	if err != nil || ds.Manifest.Description != "replaced" {
		t.Errorf("replace: %v", err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
}
