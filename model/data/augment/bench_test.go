package augment

import (
	"fmt"
	"testing"
)

// BenchmarkApply times one 224x224 image through each preset (sampling
// included), on one core; BenchmarkLoadAugment in model/data measures the
// whole pipeline.
func BenchmarkApply(b *testing.B) {
	src := img(224, 224)
	dst := make([]float32, 3*224*224)
	for _, preset := range []string{"none", "notebook", "finetune"} {
		cfg, _ := Parse(preset)
		b.Run(fmt.Sprintf("%s/224", preset), func(b *testing.B) {
			i := 0
			var sc Scratch
			cpu0 := cpuSeconds()
			for b.Loop() {
				p := cfg.Sample(NewRand(1, 0, i), 224, 224)
				sc.Apply(dst, 224, 224, src, p, ImageNet)
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
			if cpu0 >= 0 {
				b.ReportMetric(float64(b.N)/(cpuSeconds()-cpu0), "img/s-cpu")
			}
		})
	}
}
