package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"time"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/importer"
	"github.com/goresnet/goresnet/worker/msg"
)

// The local import (dataset-import) and the Data page's summary of a
// dataset (dataset-summary). The import is `goresnet import --format
// imagefolder` run on the files the page passed (importer.FileList reads
// each File only when the importer opens it), into memory, then stored in
// the browser (wasm/storage's local datasets) with the summary the Data
// page shows; the handler's JavaScript side is import_js.go.

// SummaryName is the local dataset's file holding its msg.DatasetSummary.
const SummaryName = "summary.json"

// summaryCountBytes bounds the shard bytes dataset-summary reads to count
// a server's dataset's classes (it downloads them, once, into the shard
// cache); beyond it only the examples are read.
const summaryCountBytes = 128 << 20

func init() {
	Handle(msg.DatasetSummaryReq, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) {
		return reply(sess.datasetSummary(m))
	})
}

func (s *session) datasetSummary(m msg.Message) (*msg.DatasetSummary, error) {
	info, err := s.datasetOpen(m)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return summarize(ctx, s.datasets[info.Name], summaryCountBytes)
}

// memSink is an importer.Sink that keeps the files in memory.
type memSink struct {
	files     map[string][]byte
	committed bool
}

func newMemSink() *memSink { return &memSink{files: map[string][]byte{}} }

type memFile struct {
	bytes.Buffer
	sink *memSink
	name string
}

func (f *memFile) Close() error {
	f.sink.files[f.name] = f.Bytes()
	return nil
}

func (s *memSink) Create(name string) (io.WriteCloser, error) {
	if _, ok := s.files[name]; ok {
		return nil, fmt.Errorf("%s: written twice", name)
	}
	return &memFile{sink: s, name: name}, nil
}

func (s *memSink) Commit() error { s.committed = true; return nil }
func (s *memSink) Abort()        { s.files = map[string][]byte{} }

// memSource reads a dataset from files in memory.
type memSource map[string][]byte

func (m memSource) String() string { return "the imported files" }

func (m memSource) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	b, ok := m[name]
	if !ok {
		return nil, 0, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

// storeFunc keeps an imported dataset's files (the browser's storage; a
// map in tests).
type storeFunc func(ctx context.Context, name string, files map[string][]byte) error

// runImport imports the files of fl as the request says, summarizes the
// dataset and stores it with store.
func runImport(ctx context.Context, req msg.DatasetImportRequest, fl *importer.FileList, progress func(msg.ImportProgressReport), store storeFunc) (*msg.DatasetImportResult, error) {
	if err := data.ValidName(req.Name); err != nil {
		return nil, err
	}
	if fl.Len() == 0 {
		return nil, fmt.Errorf("no files to import: drop a folder with one folder per class, or pick pictures and give them a label")
	}
	fl.StripCommonFolder()
	progress(msg.ImportProgressReport{Name: req.Name, Phase: "checking", Total: fl.Len()})
	sink := newMemSink()
	opts := importer.Options{Format: "imagefolder", From: fl, Size: req.Size, Name: req.Name, Description: req.Description,
		Seed: req.Seed, TestFraction: req.TestFraction,
		// One goroutine: a worker is one thread, and reading the files
		// waits on the event loop anyway.
		Workers: 1,
		Progress: func(split string, done, total int) {
			progress(msg.ImportProgressReport{Name: req.Name, Phase: "split", Split: split, Done: done, Total: total})
		}}
	m, rep, err := importer.Import(ctx, opts, sink)
	if err != nil {
		return nil, err
	}
	rep.SortSkipped()
	res := &msg.DatasetImportResult{Manifest: m, Report: msg.ImportReport{Skipped: []msg.Skipped{}, Notes: rep.Notes}}
	for _, sk := range rep.Skipped {
		res.Report.Skipped = append(res.Report.Skipped, msg.Skipped{File: sk.File, Reason: sk.Reason})
	}
	progress(msg.ImportProgressReport{Name: req.Name, Phase: "summary"})
	sum, err := summarize(ctx, &data.Dataset{Manifest: m, Source: memSource(sink.files)}, -1)
	if err != nil {
		return nil, err
	}
	res.Summary = *sum
	sj, err := json.Marshal(sum)
	if err != nil {
		return nil, err
	}
	// The report as the CLI writes it is in the sink already
	// (importer.ReportName); rewrite it sorted.
	if rj, err := json.MarshalIndent(rep, "", "  "); err == nil {
		sink.files[importer.ReportName] = append(rj, '\n')
	}
	sink.files[SummaryName] = sj
	progress(msg.ImportProgressReport{Name: req.Name, Phase: "storing"})
	if err := store(ctx, req.Name, sink.files); err != nil {
		return nil, err
	}
	return res, nil
}

// summarize counts each split's examples per class (when the dataset's
// shards total at most maxBytes; negative: always) and draws a strip of
// the first msg.ExamplesPerClass pictures of each class in the first
// split.
func summarize(ctx context.Context, ds *data.Dataset, maxBytes int64) (*msg.DatasetSummary, error) {
	m := ds.Manifest
	nc := len(m.Classes)
	sum := &msg.DatasetSummary{Name: m.Name, Classes: m.ClassNames(), Splits: m.SplitNames(), Examples: []msg.ClassExamples{}}
	var total int64
	for _, sp := range m.Splits {
		for _, sh := range sp.Shards {
			total += sh.Bytes
		}
	}
	count := maxBytes < 0 || total <= maxBytes
	examples := make([][][]byte, nc)
	need := nc
	for si, sp := range m.Splits {
		if count {
			sum.Counts = append(sum.Counts, make([]int, nc))
		}
		for i := range sp.Shards {
			if !count && (si > 0 || need == 0) {
				break
			}
			sh, err := ds.Shard(ctx, sp.Name, i)
			if err != nil {
				return nil, err
			}
			for r := range sh.Records {
				label, pix := sh.Record(r)
				if count {
					sum.Counts[si][label]++
				}
				if si == 0 && len(examples[label]) < msg.ExamplesPerClass {
					examples[label] = append(examples[label], bytes.Clone(pix))
					if len(examples[label]) == msg.ExamplesPerClass {
						need--
					}
				}
			}
		}
	}
	for c, ex := range examples {
		if len(ex) == 0 {
			continue
		}
		b, cell, err := strip(ex, m.Image.Height, m.Image.Width)
		if err != nil {
			return nil, err
		}
		sum.Examples = append(sum.Examples, msg.ClassExamples{Class: c, N: len(ex), Cell: cell, PNG: b})
	}
	return sum, nil
}

// stripCell is the largest size a picture is drawn at in a strip (bigger
// ones are shrunk, nearest neighbour: it only has to be recognisable).
const stripCell = 64

// strip draws HWC RGB pictures side by side, 2 white pixels apart, as a
// PNG.
func strip(pics [][]byte, h, w int) ([]byte, int, error) {
	cell := min(max(h, w), stripCell)
	const gap = 2
	img := image.NewNRGBA(image.Rect(0, 0, len(pics)*(cell+gap)-gap, cell))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for k, p := range pics {
		x0 := k * (cell + gap)
		for y := range cell {
			sy := y * h / cell
			for x := range cell {
				sx := x * w / cell
				o := (sy*w + sx) * 3
				img.SetNRGBA(x0+x, y, color.NRGBA{p[o], p[o+1], p[o+2], 255})
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), cell, nil
}
