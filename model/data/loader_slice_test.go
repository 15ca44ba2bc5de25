package data_test

import (
	"context"
	"testing"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/datatest"
)

func TestLoaderSlicesASplit(t *testing.T) {
	dir := datatest.Digits(t, 300, 50, 32)
	ds, err := data.OpenPath(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	all, err := data.NewLoader(ds, data.LoaderConfig{Split: "train", BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	part, err := data.NewLoader(ds, data.LoaderConfig{Split: "train[10%:20%]", BatchSize: 7, Shuffle: true, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if part.Len() != 30 || all.Len() != 300 {
		t.Fatalf("lengths %d and %d", part.Len(), all.Len())
	}
	idx := part.OrderIndex(1)
	seen := map[int]bool{}
	for _, i := range idx {
		if i < 30 || i >= 60 || seen[i] {
			t.Fatalf("index %d outside train[10%%:20%%] or repeated", i)
		}
		seen[i] = true
	}
	n := 0
	it := part.Epoch(context.Background(), 1)
	defer it.Close()
	for {
		b, err := it.Next()
		if err != nil {
			break
		}
		n += b.N
	}
	if n != 30 {
		t.Fatalf("an epoch of the slice yielded %d examples", n)
	}
	for _, bad := range []string{"train+test", "train[90%:10%]", "nosuch[:5]"} {
		if _, err := data.NewLoader(ds, data.LoaderConfig{Split: bad, BatchSize: 7}); err == nil {
			t.Errorf("split %q accepted", bad)
		}
	}
}
