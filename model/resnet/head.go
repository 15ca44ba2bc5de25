package resnet

import (
	"fmt"
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

// Features returns the head's input after the last Forward: the global
// average of the last stage (N x C) for the standard head, the 'same'-pooled
// map before dropout (N x C*h*w) for the notebook's. With a frozen backbone
// these are all the head needs, which is what the feature cache of head-only
// fine-tuning keeps. The slice is the workspace's own.
func (ws *Workspace) Features() []float32 {
	if ws.net.Config.Head == HeadNotebook {
		return ws.head.pooled
	}
	return ws.head.features
}

// FeatureSize is the length of one image's features.
func (ws *Workspace) FeatureSize() int { return len(ws.Features()) / ws.N }

// HeadForward runs only the head on features (N x FeatureSize, e.g. from a
// cache), as if a Forward had produced them, and returns the logits. Loss
// and Backward then work as usual, provided only the head is trainable.
func (ws *Workspace) HeadForward(feat []float32, train bool) ([]float32, error) {
	dst := ws.Features()
	if len(feat) != len(dst) {
		return nil, fmt.Errorf("head: %d feature values, want %d (batch %d x %d)", len(feat), len(dst), ws.N, ws.FeatureSize())
	}
	net := ws.net
	copy(dst, feat)
	h := &ws.head
	if net.Config.Head == HeadNotebook {
		p := net.Config.Dropout
		if !train {
			p = 0
		}
		nn.DropoutForward(h.features, h.pooled, h.mask, p, ws.rng)
	}
	h.fc.Forward(h.logits, h.features, net.fcW.Data, net.fcB.Data)
	ws.train, ws.ready, ws.headOnly = train, true, true
	return h.logits, nil
}
