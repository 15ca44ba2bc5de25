package data

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/goresnet/goresnet/model/data/augment"
)

// BenchmarkLoadAugment measures the pipeline on one core (one worker, no
// prefetch goroutine) at 224x224: records from memory (cached shards),
// augmented, normalised into float32 CHW batches of 32. One op is an epoch
// of 256 images; it reports images/s.
func BenchmarkLoadAugment(b *testing.B) {
	const size, n = 224, 256
	fsys, _ := build(b, size, 10, map[string][]int{"train": {128, 128}})
	ds := open(b, fsys, NewMemoryCache(1<<30))
	for _, preset := range []string{"none", "notebook", "finetune"} {
		b.Run(fmt.Sprintf("%s/%d", preset, size), func(b *testing.B) {
			aug, _ := augment.Parse(preset)
			l, err := NewLoader(ds, LoaderConfig{Split: "train", BatchSize: 32, Shuffle: true, Augment: aug})
			if err != nil {
				b.Fatal(err)
			}
			epoch := func(e int) {
				it := l.Epoch(context.Background(), e)
				defer it.Close()
				for {
					if _, err := it.Next(); err == io.EOF {
						return
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
			epoch(-1) // fill the cache
			e := 0
			cpu0 := cpuSeconds()
			for b.Loop() {
				epoch(e)
				e++
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "img/s")
			if cpu0 >= 0 {
				b.ReportMetric(float64(n*b.N)/(cpuSeconds()-cpu0), "img/s-cpu")
			}
		})
	}
}
