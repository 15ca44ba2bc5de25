package data

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/goresnet/goresnet/internal/fuzzcorpus"
	"github.com/goresnet/goresnet/model/data/augment"
	"github.com/goresnet/goresnet/model/data/shard"
)

// build makes a dataset in memory: for each split, shards of the given
// record counts; record k of a split has label k % classes and every pixel
// byte equal to k % 251.
func build(t testing.TB, size, classes int, splits map[string][]int) (fstest.MapFS, *Manifest) {
	t.Helper()
	m := &Manifest{Format: ManifestFormat, Version: ManifestVersion, Name: "toy",
		Image: Image{Height: size, Width: size, Channels: 3, Layout: "HWC", DType: "uint8"}}
	for c := range classes {
		m.Classes = append(m.Classes, Class{Name: fmt.Sprintf("c%d", c)})
	}
	fsys := fstest.MapFS{}
	names := make([]string, 0, len(splits))
	for name := range splits {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		sp := Split{Name: name}
		k := 0
		for i, n := range splits[name] {
			var b bytes.Buffer
			w, err := shard.NewWriter(&b, m.RecordHeader(n))
			if err != nil {
				t.Fatal(err)
			}
			pix := make([]byte, size*size*3)
			for range n {
				for j := range pix {
					pix[j] = byte(k % 251)
				}
				if err := w.Write(k%classes, pix); err != nil {
					t.Fatal(err)
				}
				k++
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			file := fmt.Sprintf("%s-%05d.shard", name, i)
			sum := sha256.Sum256(b.Bytes())
			fsys[file] = &fstest.MapFile{Data: b.Bytes()}
			sp.Shards = append(sp.Shards, ShardInfo{File: file, Records: n, Bytes: int64(b.Len()), SHA256: hex.EncodeToString(sum[:])})
			sp.Count += n
		}
		m.Splits = append(m.Splits, sp)
	}
	mb, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	fsys[ManifestName] = &fstest.MapFile{Data: mb}
	return fsys, m
}

func open(t testing.TB, fsys fs.FS, cache Cache) *Dataset {
	t.Helper()
	ds, err := Open(context.Background(), FSSource{FS: fsys, Name: "toy"}, cache)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestManifestValidate(t *testing.T) {
	_, good := build(t, 2, 3, map[string][]int{"train": {2, 1}, "test": {1}})
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		want string
		edit func(m *Manifest)
	}{
		{"format version 2", func(m *Manifest) { m.Version = 2 }},
		{"format is", func(m *Manifest) { m.Format = "tfds" }},
		{"dataset name", func(m *Manifest) { m.Name = "a/b" }},
		{"1 channels, want 3", func(m *Manifest) { m.Image.Channels = 1 }},
		{"no classes", func(m *Manifest) { m.Classes = nil }},
		{"same name", func(m *Manifest) { m.Classes[1].Name = "C0" }},
		{`split "train": count is 4, but its shards hold 3 records`, func(m *Manifest) { m.Splits[1].Count = 4 }},
		{"listed with 99 bytes", func(m *Manifest) { m.Splits[0].Shards[0].Bytes = 99 }},
		{"not a clean relative path", func(m *Manifest) { m.Splits[0].Shards[0].File = "../x.shard" }},
		{"not a clean relative path", func(m *Manifest) { m.Splits[0].Shards[0].File = "/etc/passwd" }},
		{"also listed", func(m *Manifest) { m.Splits[0].Shards[0].File = m.Splits[1].Shards[0].File }},
		{"sha256", func(m *Manifest) { m.Splits[0].Shards[0].SHA256 = "abc" }},
		{"appears twice", func(m *Manifest) { m.Splits[0].Name = "train" }},
	} {
		b, _ := good.Marshal()
		m, _ := ParseManifest(b)
		c.edit(m)
		if err := m.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
	if _, err := ParseManifest([]byte(`{"format":"goresnet-dataset"} {}`)); err == nil {
		t.Error("trailing data accepted")
	}
}

func TestSplitSpec(t *testing.T) {
	for _, c := range []struct {
		spec string
		n    int
		want [][2]int
	}{
		{"train", 100, [][2]int{{0, 100}}},
		{"test[0%:10%]", 8580, [][2]int{{0, 858}}},
		{"test[10%:]", 8580, [][2]int{{858, 8580}}},
		{"train[:1000]", 12000, [][2]int{{0, 1000}}},
		{"train[-500:]", 12000, [][2]int{{11500, 12000}}},
		{"train[:-10%]", 55, [][2]int{{0, 49}}}, // -5.5 rounds to even: -6
		{"train[33%:67%]", 10, [][2]int{{3, 7}}},
		{"train[5:3]", 10, [][2]int{{5, 5}}},
		{"train[:20]+test[50%:]", 10, [][2]int{{0, 10}, {5, 10}}},
		{"train[25%:75%]", 2, [][2]int{{0, 2}}}, // 0.5 -> 0, 1.5 -> 2 (ties to even)
	} {
		s, err := ParseSplitSpec(c.spec)
		if err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		var got [][2]int
		for _, p := range s.Parts {
			a, b := p.Range(c.n)
			got = append(got, [2]int{a, b})
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s of %d: %v, want %v", c.spec, c.n, got, c.want)
		}
	}
	for _, bad := range []string{"", "train[", "train[1]", "train[:10%", "train[a:b]", "train[10:20%]", "train[:200%]", "tr ain", "train[:+5]", "a+", "x/y"} {
		if _, err := ParseSplitSpec(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	l, err := ParseSplitList("train, val=test[0%:10%], test=test[10%:]")
	if err != nil || len(l) != 3 || l[0].Name != "train" || l[1].Name != "val" || l[1].Spec.Parts[0].Split != "test" {
		t.Errorf("list %+v %v", l, err)
	}
	if _, err := ParseSplitList("train,train"); err == nil {
		t.Error("duplicate names accepted")
	}
}

// countingSource counts opens per file.
type countingSource struct {
	Source
	mu    sync.Mutex
	opens map[string]int
}

func (c *countingSource) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	c.mu.Lock()
	if c.opens == nil {
		c.opens = map[string]int{}
	}
	c.opens[name]++
	c.mu.Unlock()
	return c.Source.Open(ctx, name)
}

func (c *countingSource) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opens[name]
}

func TestShardVerification(t *testing.T) {
	fsys, m := build(t, 2, 3, map[string][]int{"train": {2, 1}})
	ds := open(t, fsys, nil)
	if err := ds.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// A flipped byte: refused, naming the shard.
	bad := bytes.Clone(fsys["train-00001.shard"].Data)
	bad[len(bad)-1] ^= 1
	fsys["train-00001.shard"] = &fstest.MapFile{Data: bad}
	_, err := ds.Shard(context.Background(), "train", 1)
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "dataset toy: shard train-00001.shard: sha256 mismatch") {
		t.Errorf("checksum: %v", err)
	}
	if err := ds.Verify(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "train-00001.shard") {
		t.Errorf("verify: %v", err)
	}
	// A shorter file.
	fsys["train-00001.shard"] = &fstest.MapFile{Data: bad[:len(bad)-1]}
	if _, err := ds.Shard(context.Background(), "train", 1); err == nil || !strings.Contains(err.Error(), "train-00001.shard: 47 bytes, but the manifest says 48") {
		t.Errorf("size: %v", err)
	}
	// A shard whose header disagrees with the manifest (checksums updated,
	// so only the count check can catch it): 2 records in a shard the
	// manifest lists with 2, but of another image size.
	var b bytes.Buffer
	w, _ := shard.NewWriter(&b, shard.Header{Height: 1, Width: 4, Channels: 3, Records: 2})
	w.Write(0, make([]byte, 12))
	w.Write(1, make([]byte, 12))
	sum := sha256.Sum256(b.Bytes())
	fsys["train-00000.shard"] = &fstest.MapFile{Data: b.Bytes()}
	m.Splits[0].Shards[0].SHA256 = hex.EncodeToString(sum[:])
	ds.Manifest = m
	if _, err := ds.Shard(context.Background(), "train", 0); err == nil || !strings.Contains(err.Error(), "header says 2 records of 1x4x3, the manifest says 2 records of 2x2x3") {
		t.Errorf("header: %v", err)
	}
	// A label beyond the classes.
	b.Reset()
	w, _ = shard.NewWriter(&b, m.RecordHeader(2))
	w.Write(0, make([]byte, 12))
	w.Write(7, make([]byte, 12))
	sum = sha256.Sum256(b.Bytes())
	fsys["train-00000.shard"] = &fstest.MapFile{Data: b.Bytes()}
	m.Splits[0].Shards[0].SHA256 = hex.EncodeToString(sum[:])
	if _, err := ds.Shard(context.Background(), "train", 0); err == nil || !strings.Contains(err.Error(), "record 1 has label 7, but the dataset has 3 classes") {
		t.Errorf("labels: %v", err)
	}
	// Missing manifest.
	if _, err := Open(context.Background(), FSSource{FS: fstest.MapFS{}, Name: "nowhere"}, nil); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("no manifest: %v", err)
	}
}

// TestLoaderEpoch: every example once per epoch; the order is seeded,
// differs between epochs, and mixes shards; batches and remainders.
func TestLoaderEpoch(t *testing.T) {
	fsys, _ := build(t, 2, 5, map[string][]int{"train": {10, 10, 10, 7}})
	ds := open(t, fsys, nil)
	run := func(cfg LoaderConfig, epoch int) (idx, labels []int, batches int) {
		l, err := NewLoader(ds, cfg)
		if err != nil {
			t.Fatal(err)
		}
		it := l.Epoch(context.Background(), epoch)
		defer it.Close()
		for {
			b, err := it.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			batches++
			idx = append(idx, b.Index[:b.N]...)
			labels = append(labels, b.Labels[:b.N]...)
		}
		if batches != l.Batches() || len(idx) != l.Len() {
			t.Errorf("%d batches of %d examples, Loader says %d and %d", batches, len(idx), l.Batches(), l.Len())
		}
		return idx, labels, batches
	}
	cfg := LoaderConfig{Split: "train", BatchSize: 8, Shuffle: true, Seed: 1}
	a, la, nb := run(cfg, 0)
	if nb != 5 {
		t.Errorf("%d batches", nb)
	}
	sorted := slices.Sorted(slices.Values(a))
	for i, v := range sorted {
		if v != i {
			t.Fatalf("epoch does not hold every example once: %v", sorted)
		}
	}
	for i := range a {
		if la[i] != a[i]%5 {
			t.Fatalf("example %d has label %d", a[i], la[i])
		}
	}
	b, _, _ := run(cfg, 0)
	c, _, _ := run(cfg, 1)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Error("the order is not reproducible per (seed, epoch), or does not change between epochs")
	}
	// Shards are mixed: the first 10 examples come from several shards.
	shards := map[int]bool{}
	for _, v := range a[:10] {
		shards[min(v/10, 3)] = true
	}
	if len(shards) < 2 {
		t.Errorf("the first 10 examples all come from one shard: %v", a[:10])
	}
	// One shard at a time: each shard's records stay together.
	cfg.ShuffleShards = 1
	d, _, _ := run(cfg, 0)
	changes := 0
	for i := 1; i < len(d); i++ {
		if d[i]/10 != d[i-1]/10 {
			changes++
		}
	}
	if changes != 3 {
		t.Errorf("ShuffleShards=1 mixed shards: %v", d)
	}
	// No shuffle: the stored order. Drop remainder.
	e, _, nb := run(LoaderConfig{Split: "train", BatchSize: 8, DropRemainder: true}, 3)
	if nb != 4 || !slices.Equal(e, sorted[:32]) {
		t.Errorf("unshuffled: %d batches, %v", nb, e)
	}
}

// TestLoaderPixels: the default normalisation, the same batches with and
// without prefetching and with several workers, augmentation seeded.
func TestLoaderPixels(t *testing.T) {
	fsys, _ := build(t, 4, 3, map[string][]int{"train": {5, 6}})
	ds := open(t, fsys, nil)
	collect := func(cfg LoaderConfig) []float32 {
		l, err := NewLoader(ds, cfg)
		if err != nil {
			t.Fatal(err)
		}
		it := l.Epoch(context.Background(), 2)
		defer it.Close()
		var x []float32
		for {
			b, err := it.Next()
			if err == io.EOF {
				return x
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.H != l.Config().Size || b.W != b.H || len(b.X) != b.N*3*b.H*b.W {
				t.Fatalf("batch geometry %d %d %d %d", b.N, b.H, b.W, len(b.X))
			}
			x = append(x, b.X...)
		}
	}
	plain := collect(LoaderConfig{Split: "train", BatchSize: 4})
	// Example 0 is all zeros: ImageNet-normalised, -mean/std.
	for c, want := range []float32{-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225} {
		if v := plain[c*16]; v < want-1e-5 || v > want+1e-5 {
			t.Errorf("channel %d: %v, want %v", c, v, want)
		}
	}
	unit := collect(LoaderConfig{Split: "train", BatchSize: 4, Norm: augment.Unit})
	if v := unit[48]; v < 1.0/255-1e-7 || v > 1.0/255+1e-7 { // example 1 has bytes 1
		t.Errorf("unit: %v", v)
	}
	aug, _ := augment.Parse("crop,flip=horizontal_and_vertical,rotation=0.2,contrast=0.2")
	cfg := LoaderConfig{Split: "train", BatchSize: 3, Shuffle: true, Seed: 9, Augment: aug, Size: 3}
	ref := collect(cfg)
	cfg.Prefetch, cfg.Workers = 2, 3
	if got := collect(cfg); !slices.Equal(got, ref) {
		t.Error("prefetching with 3 workers changed the batches")
	}
	cfg.Seed = 10
	if got := collect(cfg); slices.Equal(got, ref) {
		t.Error("another seed gave the same augmented batches")
	}
}

// TestLoaderCacheAndPrefetch: with a memory cache the second epoch reads
// nothing from the source; the next shard group is being fetched while
// the current one is consumed.
func TestLoaderCacheAndPrefetch(t *testing.T) {
	fsys, _ := build(t, 2, 2, map[string][]int{"train": {4, 4, 4}})
	src := &countingSource{Source: FSSource{FS: fsys, Name: "toy"}}
	ds, err := Open(context.Background(), src, NewMemoryCache(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(ds, LoaderConfig{Split: "train", BatchSize: 4, ShuffleShards: 1})
	if err != nil {
		t.Fatal(err)
	}
	it := l.Epoch(context.Background(), 0)
	if _, err := it.Next(); err != nil {
		t.Fatal(err)
	}
	// Shard 0 is in use and shard 1 has been requested.
	<-it.loaded[1].done
	if src.count("train-00000.shard") != 1 || src.count("train-00001.shard") != 1 || src.count("train-00002.shard") != 0 {
		t.Errorf("after the first batch: %v", src.opens)
	}
	for {
		if _, err := it.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	it.Close()
	it = l.Epoch(context.Background(), 1)
	for {
		if _, err := it.Next(); err == io.EOF {
			break
		}
	}
	it.Close()
	for _, f := range []string{"train-00000.shard", "train-00001.shard", "train-00002.shard"} {
		if n := src.count(f); n != 1 {
			t.Errorf("%s read %d times", f, n)
		}
	}
	// The cache drops the least recently used shard past its budget.
	c := NewMemoryCache(10)
	c.Put("a", make([]byte, 6))
	c.Put("b", make([]byte, 4))
	c.Get("a")
	c.Put("c", make([]byte, 3))
	if _, ok := c.Get("b"); ok || c.Bytes() != 9 {
		t.Errorf("LRU: b kept, %d bytes", c.Bytes())
	}
	v := Verifying(c)
	v.Put("x", []byte("y"))
	if _, ok := v.Get("x"); ok {
		t.Error("Verifying returned bytes whose sha256 is not their key")
	}
}

// FuzzManifest: any input is a valid manifest or an error; a valid one
// survives a round trip. Parsing allocates at most 64 times the input
// plus 1 MiB (JSON decoding; no count the manifest declares is
// allocated for).
func FuzzManifest(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var m *Manifest
		var err error
		fuzzcorpus.AllocBound(t, "ParseManifest", 64*uint64(len(b))+1<<20, func() { m, err = ParseManifest(b) })
		if err != nil {
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseManifest(out)
		if err != nil {
			t.Fatalf("a valid manifest does not parse back: %v\n%s", err, out)
		}
		out2, _ := m2.Marshal()
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the manifest:\n%s\n%s", out, out2)
		}
	})
}

// TestLoaderErrors: a damaged shard met during an epoch stops it with an
// error naming the shard, with and without prefetching, and the error
// sticks.
func TestLoaderErrors(t *testing.T) {
	for _, prefetch := range []int{0, 2} {
		fsys, _ := build(t, 2, 2, map[string][]int{"train": {4, 4}})
		bad := bytes.Clone(fsys["train-00001.shard"].Data)
		bad[40] ^= 1
		fsys["train-00001.shard"] = &fstest.MapFile{Data: bad}
		ds := open(t, fsys, nil)
		l, err := NewLoader(ds, LoaderConfig{Split: "train", BatchSize: 4, ShuffleShards: 1, Prefetch: prefetch})
		if err != nil {
			t.Fatal(err)
		}
		it := l.Epoch(context.Background(), 0)
		var got error
		for range 4 {
			if _, err := it.Next(); err != nil {
				got = err
				break
			}
		}
		if got == nil || !strings.Contains(got.Error(), "train-00001.shard") {
			t.Errorf("prefetch %d: error %v", prefetch, got)
		}
		if _, err := it.Next(); err != got {
			t.Errorf("prefetch %d: the error did not stick: %v", prefetch, err)
		}
		it.Close()
	}
}
