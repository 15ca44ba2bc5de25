package nn

import (
	"math"

	"github.com/goresnet/goresnet/model/kernels"
)

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
		// Two passes, each in float32 vector lanes folded into float64
		// every few hundred elements (kernels.Sum, kernels.SumSqDev).
		var sum float64
		for n := 0; n < g.N; n++ {
			sum += kernels.Sum(g.plane(x, n, c))
		}
		mean := sum / m
		a := float32(mean)
		var ss float64
		for n := 0; n < g.N; n++ {
			ss += kernels.SumSqDev(g.plane(x, n, c), a)
		}
		// The deviations were taken from a = float32(mean), not the float64
		// mean: Σ(x-mean)² = Σ(x-a)² - m·(mean-a)².
		d := mean - float64(a)
		ss = max(ss-m*d*d, 0)
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

// plane is image n's plane of channel c in an N x C x HW tensor.
func (g BatchNorm) plane(t []float32, n, c int) []float32 {
	off := (n*g.C + c) * g.HW
	return t[off : off+g.HW : off+g.HW]
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

// apply computes y = (x-mean)*invstd*weight + bias, then ReLU if asked
// (NaN passes, as in PyTorch), as one scale and shift per channel.
func (g BatchNorm) apply(y, x, weight, bias, mean, invstd []float32, relu bool) {
	for c := 0; c < g.C; c++ {
		scale := weight[c] * invstd[c]
		shift := bias[c] - mean[c]*scale
		for n := 0; n < g.N; n++ {
			kernels.ScaleShift(g.plane(y, n, c), g.plane(x, n, c), scale, shift, relu)
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
	// mask is the plane of y that masks dy (the fused ReLU), or nil.
	mask := func(n, c int) []float32 {
		if !relu {
			return nil
		}
		return g.plane(y, n, c)
	}
	for c := 0; c < g.C; c++ {
		mean, invstd := float64(saveMean[c]), float64(saveInvstd[c])
		var sumG, sumGX float64
		for n := 0; n < g.N; n++ {
			sg, sgx := kernels.BNGradSums(g.plane(dy, n, c), g.plane(x, n, c), mask(n, c), saveMean[c])
			sumG += sg
			sumGX += sgx
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
				kernels.MaskScale(g.plane(dx, n, c), g.plane(dy, n, c), mask(n, c), k)
			}
			continue
		}
		// dx = w*invstd * (g - mean(g) - xhat*mean(g*xhat))
		k := w * invstd
		meanG := sumG / m
		proj := sumGX * invstd * invstd / m // mean(g*xhat)*invstd, applied to (x-mean)
		for n := 0; n < g.N; n++ {
			kernels.BNBackwardDx(g.plane(dx, n, c), g.plane(dy, n, c), g.plane(x, n, c), mask(n, c), mean, k, meanG, proj)
		}
	}
}
