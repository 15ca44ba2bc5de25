package resnet

import (
	"fmt"

	"github.com/goresnet/goresnet/model/nn"
)

// LayerKind is a layer's type, named as PyTorch names its module (and as
// Keras names the notebook head's pooling, which PyTorch has no module for).
type LayerKind string

const (
	KindInput     LayerKind = "Input"
	KindConv      LayerKind = "Conv2d"
	KindBatchNorm LayerKind = "BatchNorm2d"
	KindReLU      LayerKind = "ReLU"
	KindMaxPool   LayerKind = "MaxPool2d"
	// KindAdd is the residual sum (the ReLU after it is a layer of its own).
	KindAdd LayerKind = "Add"
	// KindGlobalAvgPool is the standard head's pooling to 1x1.
	KindGlobalAvgPool LayerKind = "AdaptiveAvgPool2d"
	// KindAvgPoolSame is the notebook head's Keras
	// AveragePooling2D((2,2), padding='same'): windows clipped at the
	// bottom/right edge average only the pixels they cover.
	KindAvgPoolSame LayerKind = "AveragePooling2D"
	KindDropout     LayerKind = "Dropout"
	KindFlatten     LayerKind = "Flatten"
	KindLinear      LayerKind = "Linear"
)

// Layer is one node of the network's graph, as a Keras summary or
// plot_model lists it: batch norm, ReLU and the residual add are layers of
// their own, although the forward pass fuses some of them.
type Layer struct {
	// Name is torchvision's module name ("conv1", "layer1.0.conv2",
	// "layer2.0.downsample.0", "fc"). Layers that have no module of their
	// own are named after the block they belong to: a block's ReLU module is
	// applied two or three times, as relu1, relu2 (and relu3); the residual
	// sum is "<block>.add"; the input is "input", the head's reshape
	// "flatten".
	Name string
	Kind LayerKind
	// Block is the residual block the layer belongs to ("layer1.0"), or ""
	// for the stem and the head.
	Block string
	// Inputs are the indexes (in the list Layers returns) of the layers
	// whose outputs this one takes. An Add has two: the block's main path,
	// then the shortcut (the block's input, or its downsample).
	Inputs []int
	// Shape is the output shape: N x C x H x W, or N x F after Flatten and
	// Linear. N is -1 when the batch size was left open.
	Shape []int

	// Geometry of convolutions and poolings: a Kernel x Kernel window
	// moved by Stride, with Pad rows/columns of padding at the top, left,
	// bottom and right. CountPad says whether an average divides by padded
	// positions too.
	Kernel, Stride int
	Pad            [4]int
	CountPad       bool
	// Eps is a batch norm's epsilon; Dropout the dropout rate in training.
	Eps     float32
	Dropout float32

	// Params are the layer's parameters in state_dict order (a conv's
	// weight; a batch norm's weight and bias; the fc's weight and bias),
	// Buffers a batch norm's running mean and variance. They are the
	// network's own tensors, not copies.
	Params  []*Param
	Buffers []*Buffer
}

// NumParams counts the layer's parameter elements.
func (l *Layer) NumParams() int {
	n := 0
	for _, p := range l.Params {
		n += p.Size()
	}
	return n
}

// TrainableParams counts the elements of the layer's trainable (not
// frozen) parameters.
func (l *Layer) TrainableParams() int {
	n := 0
	for _, p := range l.Params {
		if p.Trainable {
			n += p.Size()
		}
	}
	return n
}

// NumBuffers counts the elements of the layer's running statistics.
func (l *Layer) NumBuffers() int {
	n := 0
	for _, b := range l.Buffers {
		n += len(b.Data)
	}
	return n
}

// Trainable reports whether the layer has parameters and all of them
// learn. A frozen batch norm also runs in eval mode during training.
func (l *Layer) Trainable() bool {
	return len(l.Params) > 0 && l.TrainableParams() == l.NumParams()
}

// Layers describes the network as a graph of layers in execution order
// (which is also torchvision's state_dict order, so the layers' Params
// concatenated are Net.Params), with output shapes for batches of n images
// of h x w pixels; n <= 0 leaves the batch size open (-1 in the shapes).
//
// The description walks the same network structure and computes shapes
// with the same geometry (model/nn's NewConv2D, NewPool2D, NewSamePool2D)
// as NewWorkspace, so it describes what Forward computes.
func (net *Net) Layers(n, h, w int) ([]Layer, error) {
	if err := CheckInputSize(h, w); err != nil {
		return nil, err
	}
	if net.Config.Head == HeadNotebook && (h != net.Config.InputSize || w != net.Config.InputSize) {
		return nil, fmt.Errorf("layers: the notebook head was built for %dx%d input, not %dx%d",
			net.Config.InputSize, net.Config.InputSize, h, w)
	}
	batch := n
	if n <= 0 {
		batch, n = -1, 1 // the geometry does not depend on the batch size
	}
	var ls []Layer
	add := func(l Layer, inputs ...int) int {
		l.Inputs = inputs
		ls = append(ls, l)
		return len(ls) - 1
	}
	nchw := func(c, hh, ww int) []int { return []int{batch, c, hh, ww} }

	// unit adds conv -> batch norm (-> ReLU) and returns the last layer.
	unit := func(u unit, block, relu string, in, c, hh, ww int) (int, int, int) {
		g := nn.NewConv2D(n, c, hh, ww, u.conv.outC, u.conv.k, u.conv.stride, u.conv.pad)
		shape := nchw(g.OC, g.OH, g.OW)
		p := u.conv.pad
		i := add(Layer{Name: u.conv.name, Kind: KindConv, Block: block, Shape: shape,
			Kernel: u.conv.k, Stride: u.conv.stride, Pad: [4]int{p, p, p, p}, Params: []*Param{u.conv.w}}, in)
		i = add(bnLayer(u.bn, block, shape, n, g.OH*g.OW), i)
		if u.relu {
			i = add(Layer{Name: relu, Kind: KindReLU, Block: block, Shape: shape}, i)
		}
		return i, g.OH, g.OW
	}

	in := add(Layer{Name: "input", Kind: KindInput, Shape: nchw(3, h, w)})
	last, hh, ww := unit(net.stem, "", "relu", in, 3, h, w)
	c := net.stem.conv.outC
	pool := nn.NewPool2D(n, c, hh, ww, 3, 2, 1)
	last = add(Layer{Name: "maxpool", Kind: KindMaxPool, Shape: nchw(c, pool.OH, pool.OW),
		Kernel: pool.KH, Stride: pool.Stride, Pad: [4]int{pool.PadT, pool.PadL, pool.PadT, pool.PadL}, CountPad: pool.CountPad}, last)
	hh, ww = pool.OH, pool.OW

	for _, b := range net.blocks {
		blockIn, c0, h0, w0 := last, c, hh, ww
		relus := 0
		for _, u := range b.units {
			name := ""
			if u.relu {
				relus++
				name = fmt.Sprintf("%s.relu%d", b.name, relus)
			}
			last, hh, ww = unit(u, b.name, name, last, c, hh, ww)
			c = u.conv.outC
		}
		short := blockIn
		if b.down != nil {
			g := nn.NewConv2D(n, c0, h0, w0, b.down.outC, b.down.k, b.down.stride, b.down.pad)
			shape := nchw(g.OC, g.OH, g.OW)
			short = add(Layer{Name: b.down.name, Kind: KindConv, Block: b.name, Shape: shape,
				Kernel: b.down.k, Stride: b.down.stride, Pad: [4]int{b.down.pad, b.down.pad, b.down.pad, b.down.pad},
				Params: []*Param{b.down.w}}, blockIn)
			short = add(bnLayer(b.downBN, b.name, shape, n, g.OH*g.OW), short)
		}
		shape := nchw(c, hh, ww)
		last = add(Layer{Name: b.name + ".add", Kind: KindAdd, Block: b.name, Shape: shape}, last, short)
		last = add(Layer{Name: fmt.Sprintf("%s.relu%d", b.name, relus+1), Kind: KindReLU, Block: b.name, Shape: shape}, last)
	}

	if net.Config.Head == HeadNotebook {
		p := nn.NewSamePool2D(n, c, hh, ww, 2, 2)
		shape := nchw(c, p.OH, p.OW)
		last = add(Layer{Name: "avgpool", Kind: KindAvgPoolSame, Shape: shape,
			Kernel: p.KH, Stride: p.Stride, Pad: samePads(p), CountPad: p.CountPad}, last)
		last = add(Layer{Name: "dropout", Kind: KindDropout, Shape: shape, Dropout: net.Config.Dropout}, last)
		hh, ww = p.OH, p.OW
	} else {
		last = add(Layer{Name: "avgpool", Kind: KindGlobalAvgPool, Shape: nchw(c, 1, 1)}, last)
		hh, ww = 1, 1
	}
	feat := c * hh * ww
	if feat != net.fcIn {
		return nil, fmt.Errorf("layers: the head expects %d features, the network gives %d", net.fcIn, feat)
	}
	last = add(Layer{Name: "flatten", Kind: KindFlatten, Shape: []int{batch, feat}}, last)
	add(Layer{Name: "fc", Kind: KindLinear, Shape: []int{batch, net.Config.Classes},
		Params: []*Param{net.fcW, net.fcB}}, last)
	return ls, nil
}

func bnLayer(b *batchNorm, block string, shape []int, n, hw int) Layer {
	return Layer{Name: b.name, Kind: KindBatchNorm, Block: block, Shape: shape,
		Eps: nn.NewBatchNorm(n, b.c, hw).Eps, Params: []*Param{b.weight, b.bias}, Buffers: []*Buffer{b.runMean, b.runVar}}
}

// samePads returns a 'same' pooling's padding at the top, left, bottom and
// right: the bottom/right padding is what the last window reaches past the
// input's edge.
func samePads(p nn.Pool2D) [4]int {
	bottom := max((p.OH-1)*p.Stride+p.KH-p.H-p.PadT, 0)
	right := max((p.OW-1)*p.Stride+p.KW-p.W-p.PadL, 0)
	return [4]int{p.PadT, p.PadL, bottom, right}
}

// ForwardMACs counts the multiply-adds of one image's forward pass through
// the convolutions and the fc layer (what FLOP counts of ResNets quote),
// from the layers Layers returns.
func ForwardMACs(layers []Layer) int64 {
	var macs int64
	for _, l := range layers {
		switch l.Kind {
		case KindConv:
			in := layers[l.Inputs[0]].Shape
			k := int64(l.Kernel)
			macs += int64(l.Shape[1]) * int64(l.Shape[2]) * int64(l.Shape[3]) * int64(in[1]) * k * k
		case KindLinear:
			macs += int64(l.NumParams() - l.Shape[1]) // weights, not biases
		}
	}
	return macs
}
