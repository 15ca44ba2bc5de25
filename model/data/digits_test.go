package data_test

import (
	"context"
	"io"
	"testing"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/augment"
	"github.com/goresnet/goresnet/model/data/datatest"
)

// TestDigitsSlice runs the pipeline on real data: a slice of MNIST
// imported into a temporary folder (natively and under js/wasm).
func TestDigitsSlice(t *testing.T) {
	dir := datatest.Digits(t, 200, 50, 32)
	ds, err := data.OpenPath(context.Background(), dir, data.NewMemoryCache(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if ds.Manifest.Splits[0].Count != 200 || ds.Manifest.Splits[1].Count != 50 || len(ds.Manifest.Classes) != 10 {
		t.Fatalf("manifest %+v", ds.Manifest.Splits)
	}
	aug, _ := augment.Parse("notebook")
	l, err := data.NewLoader(ds, data.LoaderConfig{Split: "train", BatchSize: 64, Shuffle: true, Seed: 1, Augment: aug, Prefetch: 1})
	if err != nil {
		t.Fatal(err)
	}
	it := l.Epoch(context.Background(), 0)
	defer it.Close()
	seen := map[int]bool{}
	counts := make([]int, 10)
	for {
		b, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.N {
			seen[b.Index[i]] = true
			counts[b.Labels[i]]++
		}
	}
	if len(seen) != 200 {
		t.Errorf("%d distinct examples in an epoch of 200", len(seen))
	}
	for d, n := range counts {
		if n < 5 {
			t.Errorf("digit %d appears %d times in 200 examples", d, n)
		}
	}
}
