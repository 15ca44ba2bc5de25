package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/importer"
	"github.com/goresnet/goresnet/worker/msg"
)

// picture encodes a w x h picture of one colour as PNG or JPEG.
func picture(t *testing.T, w, h int, c color.RGBA, asJPEG bool) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, 255
	}
	var b bytes.Buffer
	var err error
	if asJPEG {
		err = jpeg.Encode(&b, m, nil)
	} else {
		err = png.Encode(&b, m)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestRunImport imports a dropped folder (3 classes, a corrupt picture, a
// text file) as the page sends it, and checks the report, the counts,
// the example strips and what is stored.
func TestRunImport(t *testing.T) {
	colours := map[string]color.RGBA{"red": {220, 20, 20, 255}, "green": {20, 200, 40, 255}, "blue": {30, 40, 230, 255}}
	fl := importer.NewFileList()
	add := func(p string, b []byte) {
		if err := fl.Add(p, int64(len(b)), func() ([]byte, error) { return b, nil }); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range colours {
		for i := range 10 {
			add(fmt.Sprintf("/shapes/%s/%02d.png", name, i), picture(t, 20+i, 16, c, i%2 == 1))
		}
	}
	add("/shapes/red/broken.jpg", []byte("\xff\xd8\xff\xe0 not really a jpeg"))
	add("/shapes/blue/notes.txt", []byte("blue things\n"))
	var phases []string
	stored := map[string]map[string][]byte{}
	req := msg.DatasetImportRequest{Name: "shapes", Size: 12, Seed: 5, TestFraction: 0.2}
	res, err := runImport(context.Background(), req, fl, func(r msg.ImportProgressReport) { phases = append(phases, r.Phase+":"+r.Split) },
		func(ctx context.Context, name string, files map[string][]byte) error {
			stored[name] = files
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]bool{}
	for _, s := range res.Report.Skipped {
		skipped[s.File] = true
	}
	if len(res.Report.Skipped) != 2 || !skipped["red/broken.jpg"] || !skipped["blue/notes.txt"] {
		t.Errorf("skipped %v, want red/broken.jpg and blue/notes.txt", res.Report.Skipped)
	}
	sum := res.Summary
	if fmt.Sprint(sum.Classes) != "[blue green red]" || fmt.Sprint(sum.Splits) != "[train test]" {
		t.Fatalf("classes %v splits %v", sum.Classes, sum.Splits)
	}
	// Stratified: 2 of each class's 10 in test.
	if fmt.Sprint(sum.Counts) != "[[8 8 8] [2 2 2]]" {
		t.Errorf("counts %v, want [[8 8 8] [2 2 2]]", sum.Counts)
	}
	if len(sum.Examples) != 3 {
		t.Fatalf("%d example strips", len(sum.Examples))
	}
	for _, ex := range sum.Examples {
		img, err := png.Decode(bytes.NewReader(ex.PNG))
		if err != nil {
			t.Fatal(err)
		}
		if ex.N != msg.ExamplesPerClass || ex.Cell != 12 || img.Bounds().Dx() != 8*14-2 || img.Bounds().Dy() != 12 {
			t.Errorf("class %d: %d examples of %d px in %v", ex.Class, ex.N, ex.Cell, img.Bounds())
		}
		// The middle of the first picture has the class's colour.
		r, g, b, _ := img.At(6, 6).RGBA()
		want := colours[sum.Classes[ex.Class]]
		if d := int(r>>8) - int(want.R) + int(g>>8) - int(want.G) + int(b>>8) - int(want.B); d > 20 || d < -20 {
			t.Errorf("class %s: example pixel %d %d %d, want about %v", sum.Classes[ex.Class], r>>8, g>>8, b>>8, want)
		}
	}
	files := stored["shapes"]
	for _, f := range []string{data.ManifestName, importer.ReportName, SummaryName} {
		if files[f] == nil {
			t.Errorf("%s not stored", f)
		}
	}
	m, err := data.ParseManifest(files[data.ManifestName])
	if err != nil {
		t.Fatal(err)
	}
	// What is stored opens as a dataset, as the training workers do.
	ds, err := data.Open(context.Background(), memSource(files), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Shard(context.Background(), "train", 0); err != nil || m.Splits[0].Count != 24 {
		t.Fatalf("stored shard: %v, %d train examples", err, m.Splits[0].Count)
	}
	var again msg.DatasetSummary
	if err := json.Unmarshal(files[SummaryName], &again); err != nil || fmt.Sprint(again.Counts) != fmt.Sprint(sum.Counts) {
		t.Errorf("stored summary %v: %v", again.Counts, err)
	}
	if len(phases) < 3 || phases[0] != "checking:" || phases[len(phases)-1] != "storing:" {
		t.Errorf("progress phases %v", phases)
	}

	// Nothing importable at all is an error that says so, and nothing is stored.
	bad := importer.NewFileList()
	bad.Add("x/readme.txt", 5, func() ([]byte, error) { return []byte("hello"), nil })
	if _, err := runImport(context.Background(), msg.DatasetImportRequest{Name: "none", Size: 12}, bad, func(msg.ImportProgressReport) {},
		func(ctx context.Context, name string, files map[string][]byte) error {
			stored[name] = files
			return nil
		}); err == nil || stored["none"] != nil {
		t.Errorf("nothing importable: err %v", err)
	}
}
