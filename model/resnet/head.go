package resnet

import (
	"math/rand/v2"

	"github.com/goresnet/goresnet/model/nn"
)

// forward turns the last stage's output x (N x C x h x w) into logits.
func (h *headWS) forward(net *Net, x []float32, c, hw int, train bool, rng *rand.Rand) {
	if net.Config.Head == HeadNotebook {
		h.pool.AvgForward(h.pooled, x)
		p := net.Config.Dropout
		if !train {
			p = 0 // eval: dropout is the identity (the mask becomes all ones)
		}
		nn.DropoutForward(h.features, h.pooled, h.mask, p, rng)
	} else {
		nn.GlobalAvgPoolForward(h.features, x, h.fc.N*c, hw)
	}
	h.fc.Forward(h.logits, h.features, net.fcW.Data, net.fcB.Data)
}

// backward accumulates the fc gradients from dlogits and, when dx is not
// nil, writes the gradient with respect to the last stage's output.
func (h *headWS) backward(net *Net, dx []float32, c, hw int) {
	var dfeat []float32
	if dx != nil {
		dfeat = h.dfeat
	}
	h.fc.Backward(dfeat, gradOf(net.fcW), gradOf(net.fcB), h.dlogits, h.features, net.fcW.Data)
	if dx == nil {
		return
	}
	if net.Config.Head == HeadNotebook {
		nn.DropoutBackward(h.dpooled, dfeat, h.mask)
		h.pool.AvgBackward(dx, h.dpooled)
		return
	}
	nn.GlobalAvgPoolBackward(dx, dfeat, h.fc.N*c, hw)
}
