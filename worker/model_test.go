package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/onnx"
	"github.com/goresnet/goresnet/model/optim"
	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/train"
	"github.com/goresnet/goresnet/model/weights"
	"github.com/goresnet/goresnet/worker/msg"
)

// TestDescribeModel: the summary's totals are torchvision's (ResNet-50
// with 1000 classes: 25,557,032), freezing moves parameters to
// non-trainable, and the graph is drawn on request.
func TestDescribeModel(t *testing.T) {
	setupEnv(t)
	rep, _ := handle(newRequest(t, msg.ModelDescribe, msg.ModelDescribeRequest{Arch: "resnet50", WidthDiv: 1, Head: "standard", Classes: 1000, Size: 224, Graph: true}), &inbox{})
	d := decode[msg.ModelDescription](t, rep)
	if d.Total != 25557032 || d.Trainable != d.Total || d.NonTrainable != 0 || d.Buffers != 53120 {
		t.Errorf("resnet50 totals %d / %d / %d, buffers %d", d.Total, d.Trainable, d.NonTrainable, d.Buffers)
	}
	if len(d.Layers) != 176 || d.Layers[len(d.Layers)-1].Name != "fc" || !slices.Equal(d.Layers[len(d.Layers)-1].Shape, []int{-1, 1000}) {
		t.Errorf("%d layers, last %+v", len(d.Layers), d.Layers[len(d.Layers)-1])
	}
	if d.MACs < 4.0e9 || d.MACs > 4.2e9 {
		t.Errorf("%d MACs, want about 4.1 G", d.MACs)
	}
	if !strings.HasPrefix(d.Graph, "<svg") || !strings.Contains(d.Graph, "25,557,032 parameters") {
		t.Errorf("graph %.200q", d.Graph)
	}
	rep, _ = handle(newRequest(t, msg.ModelDescribe, msg.ModelDescribeRequest{Arch: "resnet50", Head: "standard", Classes: 1000, Size: 224, HeadOnly: true}), &inbox{})
	d = decode[msg.ModelDescription](t, rep)
	if d.Trainable != 2048*1000+1000 || d.NonTrainable != 25557032-d.Trainable || d.Graph != "" {
		t.Errorf("head only: %d trainable, %d not, graph %d bytes", d.Trainable, d.NonTrainable, len(d.Graph))
	}
	rep, _ = handle(newRequest(t, msg.ModelDescribe, msg.ModelDescribeRequest{Arch: "resnet50", Head: "standard", Classes: 10, Size: 100}), &inbox{})
	if err := rep.AsError(); err == nil || !strings.Contains(err.Error(), "multiples of 32") {
		t.Errorf("size 100: %v", err)
	}
}

// safetensorsOf writes a network's weights as the CLI's export does.
func safetensorsOf(t *testing.T, net *resnet.Net, tensors []weights.Tensor) []byte {
	t.Helper()
	var b bytes.Buffer
	if tensors == nil {
		tensors = weights.NetTensors(net)
	}
	if err := weights.Encode(&b, tensors, weights.NetMetadata(net)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDescribeWeights checks a weights file against the network: one made
// for ImageNet's 1000 classes loads into a 10-class network with fc
// replaced (the architecture taken from the file), and a file with a
// wrongly shaped tensor is refused naming it.
func TestDescribeWeights(t *testing.T) {
	setupEnv(t)
	src, err := resnet.New(resnet.Config{Arch: "resnet34", Classes: 1000, WidthDiv: 16, InputSize: 64, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	good := safetensorsOf(t, src, nil)
	rep, _ := handle(newRequest(t, msg.ModelDescribe, msg.ModelDescribeRequest{Arch: "resnet18", WidthDiv: 8, Head: "standard", Classes: 10, Size: 32,
		Weights: "imagenet.safetensors", FromWeights: true}), &inbox{bufs: map[string][]byte{"weights": good}})
	d := decode[msg.ModelDescription](t, rep)
	w := d.Weights
	if w == nil || w.Err != "" || w.Arch != "resnet34" || w.Classes != 1000 || w.WidthDiv != 16 || w.Replaced != 1000 || w.Tensors != len(src.State()) {
		t.Fatalf("report %+v", w)
	}
	if d.Arch != "resnet34" || d.WidthDiv != 16 || d.Classes != 10 {
		t.Errorf("the network is %s 1/%d with %d classes", d.Arch, d.WidthDiv, d.Classes)
	}
	// Not taken from the file: the chosen resnet18 does not fit.
	rep, _ = handle(newRequest(t, msg.ModelDescribe, msg.ModelDescribeRequest{Arch: "resnet18", WidthDiv: 16, Head: "standard", Classes: 10, Size: 32,
		Weights: "imagenet.safetensors"}), &inbox{bufs: map[string][]byte{"weights": good}})
	if d = decode[msg.ModelDescription](t, rep); d.Weights == nil || !strings.Contains(d.Weights.Err, "imagenet.safetensors holds resnet34 at width 1/16, the model is resnet18") ||
		!strings.Contains(d.Weights.Err, `unexpected tensor "layer1.2.bn1.bias"`) {
		t.Errorf("resnet34 weights in resnet18: %+v", d.Weights)
	}

	ts := weights.NetTensors(src)
	for i := range ts {
		if ts[i].Name == "layer2.0.conv2.weight" {
			ts[i].Shape = []int{ts[i].Shape[0], ts[i].Shape[1] / 2, 3, 6}
		}
	}
	bad := safetensorsOf(t, src, ts)
	rep, _ = handle(newRequest(t, msg.ModelDescribe, msg.ModelDescribeRequest{Head: "standard", Classes: 10, Size: 32,
		Weights: "bad.safetensors", FromWeights: true}), &inbox{bufs: map[string][]byte{"weights": bad}})
	d = decode[msg.ModelDescription](t, rep)
	if d.Weights == nil || !strings.Contains(d.Weights.Err, `tensor "layer2.0.conv2.weight" has shape [8 4 3 6] in the file, the network needs [8 8 3 3]`) ||
		!strings.Contains(d.Weights.Err, "bad.safetensors") {
		t.Errorf("bad file: %+v", d.Weights)
	}
	if d.Total == 0 || len(d.Layers) == 0 {
		t.Error("no summary beside the weights' error")
	}
	rep, _ = handle(newRequest(t, msg.ModelDescribe, msg.ModelDescribeRequest{Head: "standard", Classes: 10, Size: 32, Weights: "notes.txt"}),
		&inbox{bufs: map[string][]byte{"weights": []byte("hello")}})
	if d = decode[msg.ModelDescription](t, rep); d.Weights == nil || d.Weights.Err == "" || !strings.Contains(d.Weights.Err, "notes.txt") {
		t.Errorf("a text file: %+v", d.Weights)
	}
}

// TestExportCheckpoint converts a stored checkpoint: the safetensors holds
// the checkpoint's weights under torchvision's names and nothing of the
// optimizer, the ONNX file is what model/onnx writes for the network.
func TestExportCheckpoint(t *testing.T) {
	e := setupEnv(t)
	net, err := resnet.New(resnet.Config{Arch: "resnet18", Classes: 3, WidthDiv: 16, InputSize: 32, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optim.New(optim.Config{Kind: "sgd", Momentum: 0.9}, net)
	if err != nil {
		t.Fatal(err)
	}
	ckb, err := train.MarshalCheckpoint(net, opt, train.Meta{Classes: []string{"a", "b", "c"}, Epoch: 2,
		Preprocess: train.Preprocess{Size: 32, Norm: "imagenet", Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225}}})
	if err != nil {
		t.Fatal(err)
	}
	e.db.data["run1/epoch-002"] = ckb

	rep, bufs := handle(newRequest(t, msg.CheckpointExport, msg.CheckpointExportRequest{Checkpoint: "run1/epoch-002", Name: "epoch-002.safetensors", Format: "safetensors"}), &inbox{})
	res := decode[msg.ExportResult](t, rep)
	if res.Name != "epoch-002-weights.safetensors" || len(bufs) != 1 || bufs[0].Name != "file" || res.Bytes != len(bufs[0].Data) {
		t.Fatalf("%+v, %d buffers", res, len(bufs))
	}
	f, err := weights.Parse(bufs[0].Data, res.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Names()) != len(net.State()) || f.Metadata["arch"] != "resnet18" || f.Metadata["class_names"] != `["a","b","c"]` || f.Metadata["epoch"] != "2" {
		t.Errorf("%d tensors (want %d), metadata %v", len(f.Names()), len(net.State()), f.Metadata)
	}
	back, err := resnet.New(resnet.Config{Arch: "resnet18", Classes: 3, WidthDiv: 16, InputSize: 32, Seed: 99})
	if err != nil {
		t.Fatal(err)
	}
	if err := weights.LoadNet(back, f, weights.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.ParamData, net.ParamData) || !slices.Equal(back.BufferData, net.BufferData) {
		t.Error("the exported weights differ from the checkpoint's")
	}

	rep, bufs = handle(newRequest(t, msg.CheckpointExport, msg.CheckpointExportRequest{Checkpoint: "run1/epoch-002", Format: "onnx"}), &inbox{})
	res = decode[msg.ExportResult](t, rep)
	want, err := onnx.Export(net, onnx.Options{Size: 32, DocString: "resnet18 from run1/epoch-002, exported by goresnet in the browser"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != "run1-epoch-002.onnx" || len(bufs) != 1 || !bytes.Equal(bufs[0].Data, want) {
		t.Errorf("onnx: %+v, %d bytes, want %d", res, len(bufs[0].Data), len(want))
	}
	if rep, _ := handle(newRequest(t, msg.CheckpointExport, msg.CheckpointExportRequest{Checkpoint: "run1/epoch-002", Format: "tflite"}), &inbox{}); rep.AsError() == nil {
		t.Error("format tflite accepted")
	}
	if rep, _ := handle(newRequest(t, msg.CheckpointExport, msg.CheckpointExportRequest{Checkpoint: "nope", Format: "onnx"}), &inbox{}); rep.AsError() == nil ||
		!strings.Contains(rep.AsError().Error(), "checkpoint nope") {
		t.Errorf("a missing checkpoint: %v", rep.AsError())
	}
}
