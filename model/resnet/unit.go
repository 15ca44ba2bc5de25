package resnet

import "github.com/goresnet/goresnet/model/nn"

// forward runs batch norm in training mode (batch statistics, running
// statistics updated) when train is set, else in eval mode.
func (b *bnWS) forward(l *batchNorm, y, x []float32, train, relu bool) {
	b.train = train
	if train {
		b.g.ForwardTrain(y, x, l.weight.Data, l.bias.Data, l.runMean.Data, l.runVar.Data, b.mean, b.invstd, relu)
		l.batches++
		return
	}
	b.g.ForwardEval(y, x, l.weight.Data, l.bias.Data, l.runMean.Data, l.runVar.Data, b.mean, b.invstd, relu)
}

// backward writes dx (when not nil) and accumulates the gradients of the
// layer's trainable parameters.
func (b *bnWS) backward(l *batchNorm, dx, dy, x, y []float32, relu bool) {
	b.g.Backward(dx, gradOf(l.weight), gradOf(l.bias), dy, x, y, l.weight.Data, b.mean, b.invstd, b.train, relu)
}

// gradOf is the gradient to accumulate into, or nil for a frozen parameter.
func gradOf(p *Param) []float32 {
	if p.Trainable {
		return p.Grad
	}
	return nil
}

// forward runs conv -> batch norm (-> ReLU) on in.
func (u *unitWS) forward(l unit, in, col []float32, train bool) {
	u.conv.Forward(u.out, in, l.conv.w.Data, col)
	u.bn.forward(l.bn, u.act, u.out, train && l.bn.trainable(), l.relu)
}

// backward takes dAct, the gradient with respect to the unit's output, and
// writes the gradient with respect to its input into dIn (nil: not needed;
// accum: add instead of write). tmp receives the gradient with respect to
// the convolution output.
func (u *unitWS) backward(l unit, in, dAct, tmp, dIn, col []float32, accum bool) {
	dw := gradOf(l.conv.w)
	if dIn == nil && dw == nil {
		// Nothing below needs a gradient: only the batch norm's own.
		u.bn.backward(l.bn, nil, dAct, u.out, u.act, l.relu)
		return
	}
	u.bn.backward(l.bn, tmp, dAct, u.out, u.act, l.relu)
	u.conv.Backward(dIn, dw, tmp, in, l.conv.w.Data, col, accum)
}

// forward runs the stem: conv 7x7/2, batch norm, ReLU, max pool 3x3/2.
func (s *stemWS) forward(l unit, x, col []float32, train bool) {
	s.unitWS.forward(l, x, col, train)
	s.pool.MaxForward(s.pooled, s.act, s.argmax)
}

// backward accumulates the stem's parameter gradients from dPooled; the
// image itself never needs a gradient. tmp1 and tmp2 are scratch.
func (s *stemWS) backward(l unit, x, dPooled, tmp1, tmp2, col []float32) {
	s.pool.MaxBackward(tmp1, dPooled, s.argmax)
	s.unitWS.backward(l, x, tmp1, tmp2, nil, col, false)
}

// forward runs a residual block: its units, then relu(last + shortcut).
func (b *blockWS) forward(l *block, col, scratch []float32, train bool) {
	in := b.in
	for i := range b.units {
		b.units[i].forward(l.units[i], in, col, train)
		in = b.units[i].act
	}
	short := b.in
	if l.down != nil {
		b.down.Forward(b.downOut, b.in, l.down.w.Data, col)
		short = scratch[:len(b.out)]
		b.downBN.forward(l.downBN, short, b.downOut, train && l.downBN.trainable(), false)
	}
	nn.AddReLUForward(b.out, b.out, short)
}

// backward takes dOut (overwritten: it becomes the gradient of the sum
// before the final ReLU) and writes the gradient with respect to the
// block's input into dIn, unless dIn is nil. bufB and bufC are scratch.
func (b *blockWS) backward(l *block, dOut, bufB, bufC, dIn, col []float32) {
	dOut = dOut[:len(b.out)]
	nn.ReLUBackward(dOut, dOut, b.out)
	cur := dOut
	for i := len(b.units) - 1; i >= 0; i-- {
		in, dx := b.in, dIn
		if i > 0 {
			in, dx = b.units[i-1].act, bufC[:len(b.units[i-1].act)]
		}
		b.units[i].backward(l.units[i], in, cur, bufB, dx, col, false)
		cur = dx
	}
	if l.down != nil {
		dw := gradOf(l.down.w)
		if dIn == nil && dw == nil {
			b.downBN.backward(l.downBN, nil, dOut, b.downOut, nil, false)
			return
		}
		db := bufB[:len(b.downOut)]
		b.downBN.backward(l.downBN, db, dOut, b.downOut, nil, false)
		b.down.Backward(dIn, dw, db, b.in, l.down.w.Data, col, true)
		return
	}
	if dIn != nil {
		n := len(dOut)
		nn.AddForward(dIn[:n], dIn[:n], dOut) // the identity shortcut's gradient
	}
}
