// Package onnx writes a network in eval mode as an ONNX model (opset 13),
// built from the same layer list (resnet.Net.Layers) that summary and graph
// print, so that onnxruntime, Netron or any ONNX consumer can run or show
// it.
//
// The graph takes "input" (float32, batch x 3 x S x S, the batch size left
// open) and gives "logits" (batch x classes). Convolutions carry the batch
// norms that follow them folded into their weights and biases (what
// deployment wants), or are followed by BatchNormalization nodes; ReLU,
// MaxPool, Add, GlobalAveragePool (or the notebook head's AveragePool with
// Keras' 'same' padding, which leaves padding out of the averages), Flatten
// and Gemm follow torchvision's forward. Dropout is the identity in eval
// mode and is left out.
package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/goresnet/goresnet/model/resnet"
)

// Opset is the ONNX operator set the model uses, and IRVersion the ONNX IR
// version that goes with it.
const (
	Opset     = 13
	IRVersion = 7
)

// Options say how to export.
type Options struct {
	// Size is the input's height and width (a multiple of 32); the
	// notebook head's must be the one it was built for.
	Size int
	// KeepBatchNorm writes BatchNormalization nodes instead of folding
	// each batch norm into the convolution before it.
	KeepBatchNorm bool
	// Producer and DocString describe the model (ModelProto fields).
	Producer, DocString string
}

// Export returns the network in eval mode as a serialized ONNX ModelProto
// (encoded by wire.go, without the protobuf library).
func Export(net *resnet.Net, opts Options) ([]byte, error) {
	m, err := model(net, opts)
	if err != nil {
		return nil, err
	}
	return m.marshal(), nil
}

// model builds the ONNX ModelProto of the network in eval mode.
func model(net *resnet.Net, opts Options) (*modelProto, error) {
	if opts.Size == 0 {
		opts.Size = net.Config.InputSize
	}
	layers, err := net.Layers(-1, opts.Size, opts.Size)
	if err != nil {
		return nil, err
	}
	b := &builder{g: &graphProto{name: net.Config.Arch}, out: make([]string, len(layers))}
	for i := range layers {
		if err := b.layer(layers, i, opts); err != nil {
			return nil, err
		}
	}
	last := len(layers) - 1
	if b.out[last] != "logits" {
		return nil, fmt.Errorf("onnx: the last layer %s gives %q, not logits", layers[last].Name, b.out[last])
	}
	b.g.input = []*valueInfoProto{{name: "input", shape: layers[0].Shape}}
	b.g.output = []*valueInfoProto{{name: "logits", shape: layers[last].Shape}}

	cfg := net.Config
	producer := opts.Producer
	if producer == "" {
		producer = "goresnet"
	}
	m := &modelProto{
		irVersion:    IRVersion,
		opsetVersion: Opset,
		producerName: producer,
		docString:    opts.DocString,
		graph:        b.g,
	}
	for _, kv := range [][2]string{
		{"arch", cfg.Arch}, {"classes", strconv.Itoa(cfg.Classes)}, {"width_div", strconv.Itoa(cfg.WidthDiv)},
		{"head", cfg.Head.String()}, {"input_size", strconv.Itoa(opts.Size)},
		{"input_layout", "NCHW float32"},
		{"batch_norm", map[bool]string{true: "BatchNormalization nodes", false: "folded into the convolutions"}[opts.KeepBatchNorm]},
	} {
		m.metadata = append(m.metadata, kv)
	}
	return m, nil
}

type builder struct {
	g   *graphProto
	out []string // the tensor that holds each layer's output
}

// layer adds the nodes of layers[i] (nothing for a batch norm folded into
// its convolution, or for dropout).
func (b *builder) layer(layers []resnet.Layer, i int, opts Options) error {
	l := &layers[i]
	var in []string
	for _, j := range l.Inputs {
		in = append(in, b.out[j])
	}
	out := l.Name
	if i == len(layers)-1 {
		out = "logits"
	}
	b.out[i] = out
	switch l.Kind {
	case resnet.KindInput:
		b.out[i] = "input"
	case resnet.KindConv:
		w := l.Params[0]
		attrs := []*attributeProto{
			ints("kernel_shape", l.Kernel, l.Kernel), ints("strides", l.Stride, l.Stride),
			ints("pads", l.Pad[0], l.Pad[1], l.Pad[2], l.Pad[3]),
		}
		next := i + 1
		if !opts.KeepBatchNorm && next < len(layers) && layers[next].Kind == resnet.KindBatchNorm && layers[next].Inputs[0] == i {
			// Fold the batch norm: w' = w * gamma/sqrt(var+eps),
			// b' = beta - mean * gamma/sqrt(var+eps), per output channel.
			bn := &layers[next]
			gamma, beta := bn.Params[0].Data, bn.Params[1].Data
			mean, variance := bn.Buffers[0].Data, bn.Buffers[1].Data
			oc := w.Shape[0]
			per := w.Size() / oc
			fw := make([]float32, w.Size())
			fb := make([]float32, oc)
			for o := 0; o < oc; o++ {
				scale := float64(gamma[o]) / math.Sqrt(float64(variance[o])+float64(bn.Eps))
				for k := 0; k < per; k++ {
					fw[o*per+k] = float32(float64(w.Data[o*per+k]) * scale)
				}
				fb[o] = float32(float64(beta[o]) - float64(mean[o])*scale)
			}
			b.init(w.Name, w.Shape, fw)
			b.init(l.Name+".bias", []int{oc}, fb)
			b.node("Conv", l.Name, []string{in[0], w.Name, l.Name + ".bias"}, bn.Name, attrs...)
			b.out[i] = bn.Name // the batch norm's output, which its consumers name
			return nil
		}
		b.init(w.Name, w.Shape, w.Data)
		b.node("Conv", l.Name, []string{in[0], w.Name}, out, attrs...)
	case resnet.KindBatchNorm:
		if prev := l.Inputs[0]; !opts.KeepBatchNorm && layers[prev].Kind == resnet.KindConv && prev == i-1 {
			b.out[i] = b.out[prev] // folded into the convolution
			return nil
		}
		names := []string{in[0]}
		for _, t := range []struct {
			name string
			data []float32
		}{{l.Params[0].Name, l.Params[0].Data}, {l.Params[1].Name, l.Params[1].Data}, {l.Buffers[0].Name, l.Buffers[0].Data}, {l.Buffers[1].Name, l.Buffers[1].Data}} {
			b.init(t.name, []int{len(t.data)}, t.data)
			names = append(names, t.name)
		}
		b.node("BatchNormalization", l.Name, names, out, floatAttr("epsilon", l.Eps), floatAttr("momentum", 0.9))
	case resnet.KindReLU:
		b.node("Relu", l.Name, in, out)
	case resnet.KindAdd:
		b.node("Add", l.Name, in, out)
	case resnet.KindMaxPool:
		b.node("MaxPool", l.Name, in, out, ints("kernel_shape", l.Kernel, l.Kernel), ints("strides", l.Stride, l.Stride),
			ints("pads", l.Pad[0], l.Pad[1], l.Pad[2], l.Pad[3]))
	case resnet.KindAvgPoolSame:
		if l.CountPad {
			return fmt.Errorf("onnx: %s: a 'same' pooling that counts padding is not the notebook head's", l.Name)
		}
		b.node("AveragePool", l.Name, in, out, ints("kernel_shape", l.Kernel, l.Kernel), ints("strides", l.Stride, l.Stride),
			ints("pads", l.Pad[0], l.Pad[1], l.Pad[2], l.Pad[3]), intAttr("count_include_pad", 0))
	case resnet.KindGlobalAvgPool:
		b.node("GlobalAveragePool", l.Name, in, out)
	case resnet.KindDropout:
		b.out[i] = in[0] // the identity in eval mode
	case resnet.KindFlatten:
		b.node("Flatten", l.Name, in, out, intAttr("axis", 1))
	case resnet.KindLinear:
		w, bias := l.Params[0], l.Params[1]
		b.init(w.Name, w.Shape, w.Data)
		b.init(bias.Name, bias.Shape, bias.Data)
		b.node("Gemm", l.Name, []string{in[0], w.Name, bias.Name}, out, intAttr("transB", 1))
	default:
		return fmt.Errorf("onnx: layer %s of kind %s has no ONNX counterpart here", l.Name, l.Kind)
	}
	return nil
}

func (b *builder) node(op, name string, in []string, out string, attrs ...*attributeProto) {
	b.g.node = append(b.g.node, &nodeProto{opType: op, name: name, input: in, output: []string{out}, attribute: attrs})
}

// init adds a float32 initializer (its values as little-endian raw data).
func (b *builder) init(name string, shape []int, data []float32) {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	b.g.initializer = append(b.g.initializer, &tensorProto{name: name, dataType: tensorFloat, dims: dims, rawData: raw})
}

func ints(name string, v ...int) *attributeProto {
	a := &attributeProto{name: name, atype: attrInts}
	for _, x := range v {
		a.ints = append(a.ints, int64(x))
	}
	return a
}

func intAttr(name string, v int) *attributeProto {
	return &attributeProto{name: name, atype: attrInt, i: int64(v)}
}

func floatAttr(name string, v float32) *attributeProto {
	return &attributeProto{name: name, atype: attrFloat, f: v}
}
