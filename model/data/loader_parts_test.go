package data_test

import (
	"context"
	"io"
	"slices"
	"testing"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/augment"
	"github.com/goresnet/goresnet/model/data/datatest"
)

// TestLoaderParts: the parts of every batch, read by loaders of parts 0 to
// K-1 (data-parallel replicas), put together are the whole batch: the same
// examples, labels and augmented pixels, in order.
func TestLoaderParts(t *testing.T) {
	dir := datatest.Digits(t, 100, 10, 32)
	ds, err := data.OpenPath(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	aug, err := augment.Parse("notebook")
	if err != nil {
		t.Fatal(err)
	}
	cfg := data.LoaderConfig{Split: "train", BatchSize: 7, Shuffle: true, Seed: 5, Augment: aug, Prefetch: 1}
	whole, err := data.NewLoader(ds, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const k = 3
	var parts [k]*data.Iterator
	for p := range k {
		c := cfg
		c.Part, c.Parts = p, k
		l, err := data.NewLoader(ds, c)
		if err != nil {
			t.Fatal(err)
		}
		parts[p] = l.Epoch(context.Background(), 2)
		defer parts[p].Close()
	}
	it := whole.Epoch(context.Background(), 2)
	defer it.Close()
	batches := 0
	for {
		b, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var x []float32
		var labels, index []int
		for p := range k {
			pb, err := parts[p].Next()
			if err != nil {
				t.Fatalf("part %d, batch %d: %v", p, batches, err)
			}
			if pb.Total != b.N {
				t.Fatalf("part %d says the batch has %d examples, it has %d", p, pb.Total, b.N)
			}
			x = append(x, pb.X...)
			labels = append(labels, pb.Labels...)
			index = append(index, pb.Index...)
		}
		if !slices.Equal(x, b.X) || !slices.Equal(labels, b.Labels) || !slices.Equal(index, b.Index) {
			t.Fatalf("batch %d: the parts differ from the whole", batches)
		}
		batches++
	}
	if batches != 15 { // 100 / 7, the last one of 2 (parts of 0, 1 and 1 examples)
		t.Errorf("%d batches", batches)
	}
	for p := range k {
		if _, err := parts[p].Next(); err != io.EOF {
			t.Errorf("part %d did not end with the whole: %v", p, err)
		}
	}
	if _, err := data.NewLoader(ds, data.LoaderConfig{Split: "train", BatchSize: 2, Part: 0, Parts: 3}); err == nil {
		t.Error("a batch of 2 split into 3 parts was accepted")
	}
}
