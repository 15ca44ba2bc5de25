package onnx

import (
	"bytes"
	"testing"

	"github.com/goresnet/goresnet/internal/onnxpb"
	"github.com/goresnet/goresnet/model/resnet"
	"google.golang.org/protobuf/proto"
)

// TestWireMatchesProto checks the hand-written encoder against the
// protobuf library: the file decodes as an onnxpb.ModelProto, and the
// library, marshalling that message again, writes the very same bytes
// (field order, packing, zero values left out, oneof dims).
func TestWireMatchesProto(t *testing.T) {
	for _, c := range []struct {
		arch   string
		head   resnet.Head
		keepBN bool
		size   int
	}{
		{"resnet18", resnet.HeadStandard, false, 64},
		{"resnet50", resnet.HeadNotebook, false, 96},
		{"resnet34", resnet.HeadStandard, true, 32},
	} {
		n := net(t, c.arch, c.head, c.size)
		data, err := Export(n, Options{Size: c.size, KeepBatchNorm: c.keepBN, DocString: "wire test"})
		if err != nil {
			t.Fatal(err)
		}
		m := &onnxpb.ModelProto{}
		if err := proto.Unmarshal(data, m); err != nil {
			t.Fatalf("%s: %v", c.arch, err)
		}
		again, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, again) {
			t.Errorf("%s %v keepBN=%v: our %d bytes differ from protobuf's %d", c.arch, c.head, c.keepBN, len(data), len(again))
		}
		if m.DocString != "wire test" || len(m.MetadataProps) != 7 || m.Graph.Output[0].Type.GetTensorType().Shape.Dim[1].GetDimValue() != 5 {
			t.Errorf("%s: doc %q, metadata %v, output %v", c.arch, m.DocString, m.MetadataProps, m.Graph.Output[0])
		}
	}
}
