package nn

import "math"

// BatchNorm is the geometry and hyperparameters of a 2-D batch
// normalisation over N images of C channels with HW pixels each.
type BatchNorm struct {
	N, C, HW int
	Eps      float32 // PyTorch's default is 1e-5
	Momentum float32 // PyTorch's default is 0.1
}

// NewBatchNorm uses PyTorch's defaults (eps 1e-5, momentum 0.1).
func NewBatchNorm(n, c, hw int) BatchNorm {
	return BatchNorm{N: n, C: c, HW: hw, Eps: 1e-5, Momentum: 0.1}
}

// Count is how many values each channel's statistics are taken over.
func (g BatchNorm) Count() int { return g.N * g.HW }

// ForwardTrain normalises x with the batch statistics (biased variance),
// scales and shifts by weight and bias, and applies ReLU when relu is set.
// It updates the running statistics the way PyTorch does: with momentum, and
// with the unbiased variance. saveMean and saveInvstd receive the batch mean
// and 1/sqrt(var+eps) for Backward. Count() must be at least 2.
func (g BatchNorm) ForwardTrain(y, x, weight, bias, runMean, runVar, saveMean, saveInvstd []float32, relu bool) {
	m := float64(g.Count())
	for c := 0; c < g.C; c++ {
		var sum float64
		for n := 0; n < g.N; n++ {
			for _, v := range x[(n*g.C+c)*g.HW : (n*g.C+c+1)*g.HW] {
				sum += float64(v)
			}
		}
		mean := sum / m
		var ss float64
		for n := 0; n < g.N; n++ {
			for _, v := range x[(n*g.C+c)*g.HW : (n*g.C+c+1)*g.HW] {
				d := float64(v) - mean
				ss += d * d
			}
		}
		variance := ss / m
		invstd := 1 / math.Sqrt(variance+float64(g.Eps))
		saveMean[c] = float32(mean)
		saveInvstd[c] = float32(invstd)
		mom := float64(g.Momentum)
		runMean[c] = float32((1-mom)*float64(runMean[c]) + mom*mean)
		runVar[c] = float32((1-mom)*float64(runVar[c]) + mom*ss/(m-1))
	}
	g.apply(y, x, weight, bias, saveMean, saveInvstd, relu)
}

// ForwardEval normalises with the running statistics (eval mode, and the
// frozen mode of fine-tuning). It still fills saveMean and saveInvstd, so
// that Backward can pass gradients through a frozen layer.
func (g BatchNorm) ForwardEval(y, x, weight, bias, runMean, runVar, saveMean, saveInvstd []float32, relu bool) {
	for c := 0; c < g.C; c++ {
		saveMean[c] = runMean[c]
		saveInvstd[c] = float32(1 / math.Sqrt(float64(runVar[c])+float64(g.Eps)))
	}
	g.apply(y, x, weight, bias, saveMean, saveInvstd, relu)
}

// apply computes y = (x-mean)*invstd*weight + bias, then ReLU if asked.
func (g BatchNorm) apply(y, x, weight, bias, mean, invstd []float32, relu bool) {
	for c := 0; c < g.C; c++ {
		scale := weight[c] * invstd[c]
		shift := bias[c] - mean[c]*scale
		for n := 0; n < g.N; n++ {
			off := (n*g.C + c) * g.HW
			xs, ys := x[off:off+g.HW], y[off:off+g.HW]
			for i, v := range xs {
				o := v*scale + shift
				if relu && o < 0 { // NaN passes, as in PyTorch
					o = 0
				}
				ys[i] = o
			}
		}
	}
}

// Backward propagates dy through the layer. With relu set, y is the layer's
// output and dy is first masked by y > 0 (the fused ReLU). train selects the
// batch-statistics formula (the gradient also flows through the mean and
// variance) or the eval one (a per-channel scale). dweight and dbias are
// accumulated when not nil; dx is written when not nil.
func (g BatchNorm) Backward(dx, dweight, dbias, dy, x, y, weight, saveMean, saveInvstd []float32, train, relu bool) {
	m := float64(g.Count())
	for c := 0; c < g.C; c++ {
		mean, invstd := float64(saveMean[c]), float64(saveInvstd[c])
		var sumG, sumGX float64
		for n := 0; n < g.N; n++ {
			off := (n*g.C + c) * g.HW
			xs, dys := x[off:off+g.HW], dy[off:off+g.HW]
			for i, d := range dys {
				if relu && !(y[off+i] > 0) {
					continue
				}
				sumG += float64(d)
				sumGX += float64(d) * (float64(xs[i]) - mean)
			}
		}
		if dweight != nil {
			dweight[c] += float32(sumGX * invstd)
		}
		if dbias != nil {
			dbias[c] += float32(sumG)
		}
		if dx == nil {
			continue
		}
		w := float64(weight[c])
		if !train {
			k := float32(w * invstd)
			for n := 0; n < g.N; n++ {
				off := (n*g.C + c) * g.HW
				for i, d := range dy[off : off+g.HW] {
					if relu && !(y[off+i] > 0) {
						d = 0
					}
					dx[off+i] = d * k
				}
			}
			continue
		}
		// dx = w*invstd * (g - mean(g) - xhat*mean(g*xhat))
		k := w * invstd
		meanG := sumG / m
		proj := sumGX * invstd * invstd / m // mean(g*xhat)*invstd, applied to (x-mean)
		for n := 0; n < g.N; n++ {
			off := (n*g.C + c) * g.HW
			xs := x[off : off+g.HW]
			for i, d := range dy[off : off+g.HW] {
				if relu && !(y[off+i] > 0) {
					d = 0
				}
				dx[off+i] = float32(k * (float64(d) - meanG - (float64(xs[i])-mean)*proj))
			}
		}
	}
}
