package onnx

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/goresnet/goresnet/internal/onnxpb"
	"github.com/goresnet/goresnet/model/resnet"
	"google.golang.org/protobuf/proto"
)

// The numbers are checked by running the exported files in onnxruntime
// (cli/export_test.go); these tests check the file's structure, here and in
// the browser build.

func net(t *testing.T, arch string, head resnet.Head, size int) *resnet.Net {
	t.Helper()
	n, err := resnet.New(resnet.Config{Arch: arch, Classes: 5, WidthDiv: 16, Head: head, Dropout: 0.5, InputSize: size, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func decode(t *testing.T, n *resnet.Net, opts Options) *onnxpb.ModelProto {
	t.Helper()
	data, err := Export(n, opts)
	if err != nil {
		t.Fatal(err)
	}
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestModelStructure(t *testing.T) {
	for _, c := range []struct {
		arch   string
		head   resnet.Head
		keepBN bool
	}{
		{"resnet50", resnet.HeadStandard, false},
		{"resnet50", resnet.HeadStandard, true},
		{"resnet18", resnet.HeadNotebook, false},
	} {
		n := net(t, c.arch, c.head, 96)
		m := decode(t, n, Options{Size: 96, KeepBatchNorm: c.keepBN})
		if m.IrVersion != IRVersion || len(m.OpsetImport) != 1 || m.OpsetImport[0].Version != Opset || m.OpsetImport[0].Domain != "" {
			t.Errorf("IR %d, opsets %v", m.IrVersion, m.OpsetImport)
		}
		g := m.Graph
		in, out := g.Input[0], g.Output[0]
		dims := in.Type.GetTensorType().Shape.Dim
		if len(g.Input) != 1 || in.Name != "input" || len(dims) != 4 || dims[0].GetDimParam() != "batch" ||
			dims[1].GetDimValue() != 3 || dims[2].GetDimValue() != 96 || dims[3].GetDimValue() != 96 {
			t.Errorf("input %v", in)
		}
		odims := out.Type.GetTensorType().Shape.Dim
		if len(g.Output) != 1 || out.Name != "logits" || len(odims) != 2 || odims[0].GetDimParam() != "batch" || odims[1].GetDimValue() != 5 {
			t.Errorf("output %v", out)
		}

		layers, _ := n.Layers(-1, 96, 96)
		kinds := map[resnet.LayerKind]int{}
		for _, l := range layers {
			kinds[l.Kind]++
		}
		ops := map[string]int{}
		produced := map[string]bool{"input": true}
		for _, init := range g.Initializer {
			produced[init.Name] = true
		}
		for _, node := range g.Node {
			ops[node.OpType]++
			for _, x := range node.Input {
				if !produced[x] {
					t.Errorf("%s (%s) reads %q before anything writes it", node.Name, node.OpType, x)
				}
			}
			produced[node.Output[0]] = true
		}
		wantOps := map[string]int{"Conv": kinds[resnet.KindConv], "Relu": kinds[resnet.KindReLU], "Add": kinds[resnet.KindAdd],
			"MaxPool": 1, "Flatten": 1, "Gemm": 1}
		if c.keepBN {
			wantOps["BatchNormalization"] = kinds[resnet.KindBatchNorm]
		}
		if c.head == resnet.HeadNotebook {
			wantOps["AveragePool"] = 1
		} else {
			wantOps["GlobalAveragePool"] = 1
		}
		for op, k := range wantOps {
			if ops[op] != k {
				t.Errorf("%s %s keepBN=%v: %d %s nodes, want %d", c.arch, c.head, c.keepBN, ops[op], op, k)
			}
		}
		if len(ops) != len(wantOps) {
			t.Errorf("node types %v, want %v", ops, wantOps)
		}
		// Initializers: every parameter (and, with BN nodes, every running
		// statistic) once; folded, the batch norms become conv biases.
		var values int
		for _, init := range g.Initializer {
			if init.DataType != int32(onnxpb.TensorProto_FLOAT) {
				t.Errorf("%s: data type %d", init.Name, init.DataType)
			}
			size := int64(1)
			for _, d := range init.Dims {
				size *= d
			}
			if int64(len(init.RawData)) != 4*size {
				t.Errorf("%s: %d bytes for dims %v", init.Name, len(init.RawData), init.Dims)
			}
			values += int(size)
		}
		total, _, _ := n.NumParams()
		want := total + n.NumBuffers()
		if !c.keepBN {
			want = total - n.NumBuffers()/2 // gamma and beta become one bias per channel
		}
		if values != want {
			t.Errorf("%s keepBN=%v: initializers hold %d values, want %d", c.arch, c.keepBN, values, want)
		}
	}
}

// TestFolding checks a folded convolution's weights and bias against the
// batch norm formula.
func TestFolding(t *testing.T) {
	n := net(t, "resnet18", resnet.HeadStandard, 64)
	bw, bb := n.Param("bn1.weight"), n.Param("bn1.bias")
	var mean, variance []float32
	for _, b := range n.Buffers() {
		switch b.Name {
		case "bn1.running_mean":
			mean = b.Data
		case "bn1.running_var":
			variance = b.Data
		}
	}
	for c := range bw.Data {
		bw.Data[c], bb.Data[c], mean[c], variance[c] = 0.5+float32(c)/10, float32(c)/7, float32(c)/5-0.3, 1+float32(c)
	}
	m := decode(t, n, Options{Size: 64})
	get := func(name string) []float32 {
		for _, init := range m.Graph.Initializer {
			if init.Name == name {
				v := make([]float32, len(init.RawData)/4)
				for i := range v {
					v[i] = math.Float32frombits(binary.LittleEndian.Uint32(init.RawData[4*i:]))
				}
				return v
			}
		}
		t.Fatalf("no initializer %q", name)
		return nil
	}
	w, b := get("conv1.weight"), get("conv1.bias")
	orig := n.Param("conv1.weight")
	per := orig.Size() / len(bw.Data)
	for c := range bw.Data {
		scale := float64(bw.Data[c]) / math.Sqrt(float64(variance[c])+1e-5)
		if d := math.Abs(float64(b[c]) - (float64(bb.Data[c]) - float64(mean[c])*scale)); d > 1e-6 {
			t.Errorf("bias[%d] off by %g", c, d)
		}
		for k := 0; k < per; k++ {
			if d := math.Abs(float64(w[c*per+k]) - float64(orig.Data[c*per+k])*scale); d > 1e-6 {
				t.Fatalf("weight[%d,%d] off by %g", c, k, d)
			}
		}
	}
	if m.Graph.Node[0].OpType != "Conv" || m.Graph.Node[0].Output[0] != "bn1" || m.Graph.Node[1].Input[0] != "bn1" {
		t.Errorf("the folded stem is %v then %v", m.Graph.Node[0], m.Graph.Node[1])
	}
}

func TestExportErrors(t *testing.T) {
	n := net(t, "resnet18", resnet.HeadNotebook, 64)
	if _, err := Export(n, Options{Size: 96}); err == nil {
		t.Error("a notebook head built for 64x64 exported at 96x96")
	}
	if _, err := Export(net(t, "resnet18", resnet.HeadStandard, 64), Options{Size: 40}); err == nil {
		t.Error("size 40 accepted")
	}
}
