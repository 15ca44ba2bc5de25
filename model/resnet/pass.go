package resnet

import (
	"fmt"

	"github.com/goresnet/goresnet/model/nn"
)

// Forward runs the network on x (N x 3 x H x W, NCHW) and returns the logits
// (N x classes, a view into the workspace, valid until the next Forward).
// In training mode, batch norms with trainable parameters use and update
// batch statistics and dropout is active; frozen batch norms always use
// their running statistics. x must stay unchanged until Backward.
func (ws *Workspace) Forward(x []float32, train bool) ([]float32, error) {
	if len(x) != ws.InputSize() {
		return nil, fmt.Errorf("forward: input has %d values, want %d (batch %d x 3 x %d x %d)",
			len(x), ws.InputSize(), ws.N, ws.H, ws.W)
	}
	if train {
		if err := ws.checkTrainCounts(); err != nil {
			return nil, err
		}
	}
	net := ws.net
	ws.x, ws.train, ws.ready, ws.headOnly = x, train, true, false
	ws.stem.forward(net.stem, x, ws.col, train)
	for i, b := range net.blocks {
		ws.blocks[i].forward(b, ws.col, ws.grad[0], train)
	}
	last := &ws.blocks[len(ws.blocks)-1]
	lu := last.units[len(last.units)-1].conv
	ws.head.forward(net, last.out, net.featC, lu.OH*lu.OW, train, ws.rng)
	return ws.head.logits, nil
}

// Loss returns the mean softmax cross-entropy of the last Forward's logits
// against labels (label-smoothed when smoothing > 0) and keeps its gradient
// for Backward. A NaN or Inf loss is returned as it is, for the caller to
// report; a label out of range is an error.
func (ws *Workspace) Loss(labels []int, smoothing float32) (float64, error) {
	if !ws.ready {
		return 0, fmt.Errorf("loss: no forward pass (call Forward first)")
	}
	return nn.SoftmaxCrossEntropy(ws.head.dlogits, ws.head.logits, labels, ws.N, ws.net.Config.Classes, smoothing)
}

// ScaleLogitGrad multiplies the gradient Backward starts from by s (1/N
// of gradient accumulation over N batches).
func (ws *Workspace) ScaleLogitGrad(s float32) {
	for i := range ws.head.dlogits {
		ws.head.dlogits[i] *= s
	}
}

// SetLogitGrad replaces the gradient that Backward starts from (by default
// the one Loss computed), for losses computed elsewhere.
func (ws *Workspace) SetLogitGrad(d []float32) { copy(ws.head.dlogits, d) }

// Backward accumulates into each trainable parameter's Grad the gradient of
// the loss of the last Forward. It walks down only as far as the lowest
// trainable layer, computes no gradient for the image, and none for frozen
// parameters.
func (ws *Workspace) Backward() error {
	if !ws.ready {
		return errNoForward
	}
	net := ws.net
	lowest := net.lowestTrainable()
	if lowest < 0 {
		return nil // everything is frozen
	}
	nb := len(net.blocks)
	if ws.headOnly && lowest <= nb {
		return fmt.Errorf("backward: the last pass ran the head only (HeadForward), but layers below it are trainable")
	}
	a, b, c, d := ws.grad[0], ws.grad[1], ws.grad[2], ws.grad[3]

	last := &ws.blocks[nb-1]
	lu := last.units[len(last.units)-1].conv
	var dTop []float32
	if lowest <= nb {
		dTop = a[:len(last.out)]
	}
	ws.head.backward(net, dTop, net.featC, lu.OH*lu.OW)

	for i := nb - 1; i >= 0 && i+1 >= lowest; i-- {
		var dIn []float32
		if i+1 > lowest {
			dIn = d[:len(ws.blocks[i].in)]
		}
		ws.blocks[i].backward(net.blocks[i], a, b, c, dIn, ws.col)
		a, d = d, a
	}
	if lowest == 0 {
		ws.stem.backward(net.stem, ws.x, a[:len(ws.stem.pooled)], b, c, ws.col)
	}
	return nil
}

// lowestTrainable returns the position of the lowest layer group with a
// trainable parameter: 0 for the stem, 1..len(blocks) for the blocks,
// len(blocks)+1 for the head, -1 when everything is frozen.
func (n *Net) lowestTrainable() int {
	if n.stem.conv.w.Trainable || n.stem.bn.trainable() {
		return 0
	}
	for i, b := range n.blocks {
		for _, u := range b.units {
			if u.conv.w.Trainable || u.bn.trainable() {
				return i + 1
			}
		}
		if b.down != nil && (b.down.w.Trainable || b.downBN.trainable()) {
			return i + 1
		}
	}
	if n.fcW.Trainable || n.fcB.Trainable {
		return len(n.blocks) + 1
	}
	return -1
}
