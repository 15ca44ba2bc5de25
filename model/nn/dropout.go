package nn

import "math/rand/v2"

// DropoutForward zeroes each element of x with probability p and scales the
// survivors by 1/(1-p) (inverted dropout, as PyTorch and Keras do), drawing
// from rng so that a seeded run is reproducible. mask receives the factor
// applied to each element, for DropoutBackward. p must be in [0, 1).
func DropoutForward(y, x, mask []float32, p float32, rng *rand.Rand) {
	keep := 1 / (1 - p)
	for i, v := range x {
		f := keep
		if p > 0 && rng.Float32() < p {
			f = 0
		}
		mask[i] = f
		y[i] = v * f
	}
}

// DropoutBackward computes dx = dy * mask.
func DropoutBackward(dx, dy, mask []float32) {
	for i, d := range dy {
		dx[i] = d * mask[i]
	}
}
