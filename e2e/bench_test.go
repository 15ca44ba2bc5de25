//go:build !js

package e2e

import (
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/goresnet/goresnet/model/data/datatest"
)

// BenchmarkBrowserResNet50 measures data-parallel training of ResNet-50
// at 224x224 in the browser's workers (headless Chromium, worker.wasm
// with the hand-written WebAssembly SIMD kernel): full training at batch
// 8 with 1 and 2 workers, gradients summed through the SharedArrayBuffer
// every step, whose throughput ratio is the data-parallel efficiency
// (target >= 1.7). Each figure is the median step. A worker's forward
// and training steps alone, without the exchange, are make bench's (the
// bench-step request of worker/bench_handler.go). `make bench-browser`
// runs it:
//
//	go test -run '^$' -bench BrowserResNet50 -benchtime 1x ./e2e
func BenchmarkBrowserResNet50(b *testing.B) {
	digits := datatest.Digits(b, 40, 8, 224)
	h := newTrainHarness(b, digits)
	br := h.browser
	br.do(chromedp.Navigate(h.base + "/"))
	br.waitFor("the app", pageReady("/"), 60*time.Second)
	br.waitFor("the workers", workersReady, 120*time.Second)
	eval[bool](br, workerDriverJS)

	// Data-parallel training at batch 8 on 224x224 digits: every layer
	// learns, SGD with momentum; the first step (setup) is left out.
	ips := map[int]float64{}
	for _, k := range []int{1, 2} {
		b.Run(fmt.Sprintf("train-dp/224/b8/workers=%d", k), func(b *testing.B) {
			var steps []float64
			var reduce float64
			for range b.N {
				js := fmt.Sprintf(`(async () => {
				  const k = %d;
				  const settings = {data: "", split: "train", val_split: "none", arch: "resnet50", width_div: 1, head: "standard", dropout: 0.5, size: 0,
				    epochs: 1, batch: 8, accumulate: 1, optimizer: "sgd", lr: 0.01, momentum: 0.9, schedule: "constant", augment: "none",
				    norm: "imagenet", save_best: "loss", seed: 1, workers: 1};
				  const ws = Array.from({length: k}, window.__grWorker);
				  await Promise.all(ws.map((x) => x.isReady));
				  await Promise.all(ws.map((x) => x.req("dataset-open", {name: "digits"})));
				  const infos = await Promise.all(ws.map((x, i) => x.req("model-init", {run: "bench", dataset: "digits", settings, rank: i, parts: k})));
				  const sab = window.__grShared(k, Math.max(...infos.map((r) => r.body.reduce_floats)));
				  const res = await Promise.all(ws.map((x) => x.req("train", {run: "bench", max_steps: 4, step_times: true, check_every: -1}, {shared: sab})));
				  ws.forEach((x) => x.w.terminate());
				  const r = res[0].body;
				  return JSON.stringify({steps: r.step_times, reduce: r.reduce_seconds, reduces: r.reduces});
				})()`, k)
				var r struct {
					Steps   []float64 `json:"steps"`
					Reduce  float64   `json:"reduce"`
					Reduces int       `json:"reduces"`
				}
				if err := json.Unmarshal([]byte(eval[string](br, js)), &r); err != nil {
					b.Fatal(err)
				}
				if len(r.Steps) < 2 {
					b.Fatalf("step times %v", r.Steps)
				}
				steps = append(steps, r.Steps[1:]...)
				if r.Reduces > 0 {
					reduce = 1000 * r.Reduce / float64(r.Reduces)
				}
			}
			s := median(steps)
			ips[k] = 8 / s
			b.ReportMetric(1000*s, "ms/step")
			b.ReportMetric(ips[k], "img/s")
			if k > 1 {
				b.ReportMetric(reduce, "ms/allreduce")
				if ips[1] > 0 {
					b.ReportMetric(ips[k]/ips[1], "efficiency")
				}
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
