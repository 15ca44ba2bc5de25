package nn

import (
	"fmt"
	"math"
)

// SoftmaxCrossEntropy returns the mean over the batch of the cross-entropy
// between softmax(logits) and the labels, optionally label-smoothed the way
// PyTorch's CrossEntropyLoss(label_smoothing=s) does: the target puts 1-s on
// the label and s/C on every class. When dlogits is not nil it receives the
// gradient of that mean loss with respect to the logits. The logits are n x c.
//
// A label outside [0, c) is an error. Non-finite logits are not an error:
// the loss comes back NaN or Inf, for the caller to report.
func SoftmaxCrossEntropy(dlogits, logits []float32, labels []int, n, c int, smoothing float32) (float64, error) {
	if len(labels) != n {
		return 0, fmt.Errorf("loss: %d labels for a batch of %d", len(labels), n)
	}
	for i, l := range labels {
		if l < 0 || l >= c {
			return 0, fmt.Errorf("loss: label %d of example %d is outside the %d classes [0, %d)", l, i, c, c)
		}
	}
	s := float64(smoothing)
	var total float64
	for i := 0; i < n; i++ {
		row := logits[i*c : (i+1)*c]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var sum, sumLogit float64
		for _, v := range row {
			sum += math.Exp(float64(v) - mx)
			sumLogit += float64(v)
		}
		logZ := mx + math.Log(sum)
		nll := logZ - float64(row[labels[i]])
		smooth := logZ - sumLogit/float64(c) // mean over classes of -log p
		total += (1-s)*nll + s*smooth
		if dlogits != nil {
			d := dlogits[i*c : (i+1)*c]
			for j, v := range row {
				p := math.Exp(float64(v) - logZ)
				t := s / float64(c)
				if j == labels[i] {
					t += 1 - s
				}
				d[j] = float32((p - t) / float64(n))
			}
		}
	}
	return total / float64(n), nil
}

// Softmax writes the row-wise softmax of the n x c logits into p.
func Softmax(p, logits []float32, n, c int) {
	for i := 0; i < n; i++ {
		row := logits[i*c : (i+1)*c]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v) - mx)
		}
		for j, v := range row {
			p[i*c+j] = float32(math.Exp(float64(v)-mx) / sum)
		}
	}
}
