package optim

import (
	"testing"

	"github.com/goresnet/goresnet/model/resnet"
)

// BenchmarkStep times one optimizer step over full-size ResNet-50's
// 25.6M parameters (every one trainable), and reports the parameter
// throughput.
func BenchmarkStep(b *testing.B) {
	net, err := resnet.New(resnet.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	for i := range net.GradData {
		net.GradData[i] = float32(i%7-3) * 1e-3
	}
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"sgd-nesterov-wd", Config{Kind: "sgd", Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4}},
		{"adamw", Config{Kind: "adamw", WeightDecay: 1e-2}},
		{"sgd-maxnorm", Config{Kind: "sgd", Momentum: 0.9, MaxNorm: 3}},
	} {
		b.Run(c.name, func(b *testing.B) {
			o, err := New(c.cfg, net)
			if err != nil {
				b.Fatal(err)
			}
			o.Step(1e-9)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				o.Step(1e-9)
			}
			b.ReportMetric(float64(len(net.ParamData))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mparam/s")
		})
	}
}
