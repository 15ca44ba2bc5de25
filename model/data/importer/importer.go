// Package importer turns a folder of images (ImageFolder, Stanford Dogs)
// or MNIST's IDX files into a goresnet dataset: every image decoded,
// turned upright, converted to RGB and resized with padding to S x S
// (package imageio), written into checksummed shards of about 48 MB
// (package shard) with a manifest.json (package data).
//
// Bad files are skipped and listed in the Report with the reason; the
// import goes on with the rest. Two classes with the same name, or no
// images at all, stop it with an error. Files go to a Sink that publishes
// them all at once, so an interrupted import leaves no half dataset.
package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/imageio"
	"github.com/goresnet/goresnet/model/data/shard"
)

// Formats are the source formats Import reads.
var Formats = []string{"imagefolder", "stanford-dogs", "mnist"}

// DefaultShardBytes is the target shard size.
const DefaultShardBytes = 48 << 20

// ReportName is the file, beside the manifest, that lists what an import
// skipped.
const ReportName = "import-report.json"

// Options configure an import.
type Options struct {
	Format string // imagefolder, stanford-dogs or mnist
	From   fs.FS  // the source folder
	Size   int    // stored images are Size x Size
	// Splits are the output splits; nil keeps the source's splits as they
	// are.
	Splits      []data.NamedSplit
	Name        string
	Description string
	// Seed orders the examples (and makes the stratified split when the
	// source has no splits).
	Seed uint64
	// TestFraction is the share of each class put in "test" when the
	// source has no split folders or lists; negative means the format's
	// default (0.2 for imagefolder, Stanford Dogs' official share).
	TestFraction float64
	MaxPixels    int   // 0: imageio.DefaultMaxPixels
	ShardBytes   int64 // 0: DefaultShardBytes
	Workers      int   // 0: GOMAXPROCS
	// Progress, if set, is called as examples are done.
	Progress func(split string, done, total int)
}

// Skipped is one input left out, and why.
type Skipped struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// Report says what an import did besides the manifest.
type Report struct {
	Skipped []Skipped `json:"skipped"`
	Notes   []string  `json:"notes,omitempty"`
}

// Import reads the source, writes the dataset to sink and commits it. On
// error the sink is aborted.
func Import(ctx context.Context, opts Options, sink Sink) (m *data.Manifest, rep *Report, err error) {
	defer func() {
		if err != nil {
			sink.Abort()
		}
	}()
	if err := data.ValidName(opts.Name); err != nil {
		return nil, nil, err
	}
	if opts.Size < 1 || opts.Size > 4096 {
		return nil, nil, fmt.Errorf("size %d: want 1 to 4096", opts.Size)
	}
	if opts.MaxPixels <= 0 {
		opts.MaxPixels = imageio.DefaultMaxPixels
	}
	if opts.ShardBytes <= 0 {
		opts.ShardBytes = DefaultShardBytes
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	var src *source
	switch opts.Format {
	case "imagefolder":
		tf := opts.TestFraction
		if tf < 0 {
			tf = 0.2
		}
		src, err = readImageFolder(opts.From, opts.Seed, tf, opts.MaxPixels)
	case "stanford-dogs":
		src, err = readStanfordDogs(opts.From, opts.Seed, opts.TestFraction, opts.MaxPixels)
	case "mnist":
		src, err = readMNIST(opts.From, opts.Seed)
	default:
		return nil, nil, fmt.Errorf("format %q: want one of %s", opts.Format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return nil, nil, err
	}
	rep = &Report{Skipped: src.skipped, Notes: src.notes}

	outs := opts.Splits
	if outs == nil {
		for _, name := range src.order {
			spec, _ := data.ParseSplitSpec(name)
			outs = append(outs, data.NamedSplit{Name: name, Spec: spec})
		}
	}
	m = &data.Manifest{
		Format: data.ManifestFormat, Version: data.ManifestVersion,
		Name: opts.Name, Description: opts.Description,
		Image:   data.Image{Height: opts.Size, Width: opts.Size, Channels: 3, Layout: "HWC", DType: "uint8"},
		Classes: src.classes,
		Source: &data.Provenance{Format: opts.Format, Seed: opts.Seed, Splits: map[string]string{},
			Resize: fmt.Sprintf("decode, EXIF orientation, RGB, resize with pad to %dx%d (Lanczos-3, antialiased)", opts.Size, opts.Size)},
	}
	w := &writer{opts: opts, sink: sink, m: m, rep: rep, files: map[string]bool{}}
	total := 0
	for _, out := range outs {
		items, err := selectItems(src, out.Spec)
		if err != nil {
			return nil, nil, err
		}
		m.Source.Splits[out.Name] = out.Spec.Text
		sp, err := w.split(ctx, out.Name, items)
		if err != nil {
			return nil, nil, err
		}
		m.Splits = append(m.Splits, sp)
		total += sp.Count
	}
	if total == 0 {
		return nil, nil, fmt.Errorf("no images at all could be imported (%d files skipped)", len(rep.Skipped))
	}
	// Classes that lost every image to decoding errors are kept (labels are
	// written already) but said.
	for i, n := range w.perClass {
		if n == 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("class %q has no image in the dataset (every one failed to decode, or its splits were sliced away)", m.Classes[i].Name))
		}
	}
	if err := m.Validate(); err != nil {
		return nil, nil, fmt.Errorf("internal error: the manifest written does not validate: %w", err)
	}
	if err := writeJSON(sink, ReportName, rep); err != nil {
		return nil, nil, err
	}
	mb, err := m.Marshal()
	if err != nil {
		return nil, nil, err
	}
	if err := writeFile(sink, data.ManifestName, mb); err != nil {
		return nil, nil, err
	}
	if err := sink.Commit(); err != nil {
		return nil, nil, err
	}
	return m, rep, nil
}

// selectItems applies a split expression to the source's splits.
func selectItems(src *source, spec data.SplitSpec) ([]item, error) {
	var out []item
	for _, p := range spec.Parts {
		items, ok := src.splits[p.Split]
		if !ok {
			return nil, fmt.Errorf("split %q: the source has no split %q (it has %s)", spec.Text, p.Split, strings.Join(src.order, ", "))
		}
		from, to := p.Range(len(items))
		out = append(out, items[from:to]...)
	}
	return out, nil
}

func writeFile(sink Sink, name string, b []byte) error {
	f, err := sink.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeJSON(sink Sink, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(sink, name, append(b, '\n'))
}

// writer turns examples into shards.
type writer struct {
	opts     Options
	sink     Sink
	m        *data.Manifest
	rep      *Report
	files    map[string]bool
	perClass []int
}

// fileStem makes a file-name stem from a split name.
func fileStem(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if s == "" {
		s = "split"
	}
	return s
}

type result struct {
	pix []byte
	err error
}

// split decodes and resizes the examples in parallel (in chunks, written
// in order) and writes full shards as they fill.
func (w *writer) split(ctx context.Context, name string, items []item) (data.Split, error) {
	if w.perClass == nil {
		w.perClass = make([]int, len(w.m.Classes))
	}
	sp := data.Split{Name: name, Shards: []data.ShardInfo{}}
	stem := fileStem(name)
	for k := 2; w.files[stem]; k++ {
		stem = fmt.Sprintf("%s-%d", fileStem(name), k)
	}
	w.files[stem] = true
	h := w.m.RecordHeader(0)
	rs := int64(h.RecordSize())
	perShard := int(max(1, w.opts.ShardBytes/rs))
	buf := make([]byte, 0, int64(min(perShard, max(len(items), 1)))*rs)
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		info, err := w.writeShard(fmt.Sprintf("%s-%05d.shard", stem, len(sp.Shards)), n, buf)
		if err != nil {
			return err
		}
		sp.Shards = append(sp.Shards, info)
		sp.Count += n
		buf, n = buf[:0], 0
		return nil
	}
	chunk := max(64, 16*w.opts.Workers)
	results := make([]result, chunk)
	resizers := make([]imageio.Resizer, w.opts.Workers)
	for start := 0; start < len(items); start += chunk {
		if err := ctx.Err(); err != nil {
			return sp, err
		}
		part := items[start:min(start+chunk, len(items))]
		var wg sync.WaitGroup
		next := make(chan int, len(part))
		for i := range part {
			next <- i
		}
		close(next)
		for wk := range w.opts.Workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rz := &resizers[wk]
				for i := range next {
					results[i] = w.prepare(rz, part[i])
				}
			}()
		}
		wg.Wait()
		for i, it := range part {
			r := results[i]
			results[i] = result{}
			if r.err != nil {
				w.rep.Skipped = append(w.rep.Skipped, Skipped{File: it.key, Reason: r.err.Error()})
				continue
			}
			var lb [shard.LabelSize]byte
			lb[0], lb[1], lb[2], lb[3] = byte(it.class), byte(it.class>>8), byte(it.class>>16), byte(it.class>>24)
			buf = append(buf, lb[:]...)
			buf = append(buf, r.pix...)
			n++
			w.perClass[it.class]++
			if n == perShard {
				if err := flush(); err != nil {
					return sp, err
				}
			}
		}
		if w.opts.Progress != nil {
			w.opts.Progress(name, start+len(part), len(items))
		}
	}
	if err := flush(); err != nil {
		return sp, err
	}
	return sp, nil
}

// prepare decodes and resizes one example; a panic is an error for that
// example only.
func (w *writer) prepare(rz *imageio.Resizer, it item) (r result) {
	defer func() {
		if p := recover(); p != nil {
			r = result{err: fmt.Errorf("internal error while decoding: %v", p)}
		}
	}()
	s := w.opts.Size
	pix := make([]byte, s*s*3)
	if err := it.fill(rz, pix, s); err != nil {
		return result{err: err}
	}
	return result{pix: pix}
}

// writeShard writes one shard (header + records) and returns its entry.
func (w *writer) writeShard(file string, n int, records []byte) (data.ShardInfo, error) {
	f, err := w.sink.Create(file)
	if err != nil {
		return data.ShardInfo{}, err
	}
	hsum := sha256.New()
	mw := io.MultiWriter(f, hsum)
	hb, err := w.m.RecordHeader(n).MarshalBinary()
	if err == nil {
		_, err = mw.Write(hb)
	}
	if err == nil {
		_, err = mw.Write(records)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return data.ShardInfo{}, fmt.Errorf("%s: %w", file, err)
	}
	return data.ShardInfo{File: file, Records: n, Bytes: int64(len(hb) + len(records)), SHA256: hex.EncodeToString(hsum.Sum(nil))}, nil
}

// ImportDir imports into the folder out (see DirSink), reading opts.From
// from the folder from when it is nil.
func ImportDir(ctx context.Context, opts Options, from, out string, replace bool) (*data.Manifest, *Report, error) {
	if opts.From == nil {
		st, err := os.Stat(from)
		if err != nil {
			return nil, nil, err
		}
		if !st.IsDir() {
			return nil, nil, fmt.Errorf("%s is not a folder", from)
		}
		opts.From = os.DirFS(from)
	}
	sink, err := NewDirSink(out, replace)
	if err != nil {
		return nil, nil, err
	}
	return Import(ctx, opts, sink)
}

// SortSkipped orders a report's entries by file, for stable output.
func (r *Report) SortSkipped() {
	sort.SliceStable(r.Skipped, func(i, j int) bool { return r.Skipped[i].File < r.Skipped[j].File })
}
