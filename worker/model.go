package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/goresnet/goresnet/model/netgraph"
	"github.com/goresnet/goresnet/model/onnx"
	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/runspec"
	"github.com/goresnet/goresnet/model/train"
	"github.com/goresnet/goresnet/model/weights"
	"github.com/goresnet/goresnet/worker/msg"
)

// The Model and Export pages' requests: describing a network (summary,
// graph, a weights file's check) and converting a stored checkpoint.
// They compute in the worker, so the page's app.wasm links none of the
// model code.

func init() {
	Handle(msg.ModelDescribe, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) { return reply(describeModel(m, in)) })
	Handle(msg.CheckpointExport, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) {
		res, file, err := exportCheckpoint(m)
		r, _ := reply(res, err)
		if err != nil {
			return r, nil
		}
		return r, []msg.Buffer{{Name: "file", Data: file}}
	})
}

// describeModel builds the network the request describes (with the
// weights file loaded, as training would load it: fc replaced when the
// class count differs) and returns its summary and graph.
func describeModel(m msg.Message, in Inbox) (*msg.ModelDescription, error) {
	var req msg.ModelDescribeRequest
	if err := m.DecodeBody(&req); err != nil {
		return nil, err
	}
	head, err := resnet.ParseHead(req.Head)
	if err != nil {
		return nil, err
	}
	if err := resnet.CheckInputSize(req.Size, req.Size); err != nil {
		return nil, fmt.Errorf("input size: %w", err)
	}
	cfg := resnet.Config{Arch: req.Arch, Classes: req.Classes, WidthDiv: max(1, req.WidthDiv), Head: head, Dropout: float32(req.Dropout),
		InputSize: req.Size, Seed: 1}
	if cfg.Arch == "" {
		cfg.Arch = "resnet50"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var wf *weights.File
	var report *msg.WeightsReport
	b, err := theEnv.readBuffer(ctx, in, "weights")
	if err != nil {
		return nil, err
	}
	if len(b) > 0 {
		name := req.Weights
		if name == "" {
			name = "weights"
		}
		report = &msg.WeightsReport{Name: name}
		if wf, err = weights.Parse(b, name); err != nil {
			report.Err, wf = err.Error(), nil
		} else {
			report.Tensors = len(wf.Names())
			// What the file holds, as the CLI infers it.
			var file resnet.Config
			if err := weights.InferConfig(wf, &file); err != nil {
				report.Err, wf = err.Error(), nil
			} else {
				report.Arch, report.Classes, report.WidthDiv = file.Arch, file.Classes, file.WidthDiv
				if req.FromWeights {
					cfg.Arch, cfg.WidthDiv = file.Arch, file.WidthDiv
					if _, ok := wf.Metadata["head"]; ok {
						cfg.Head, cfg.Dropout = file.Head, file.Dropout
					}
				}
			}
		}
	}
	net, err := resnet.New(cfg)
	if err != nil {
		return nil, err
	}
	if wf != nil {
		replaced, err := train.LoadPretrained(net, wf)
		if err != nil {
			report.Err = err.Error()
			if report.Arch != cfg.Arch || report.WidthDiv != cfg.WidthDiv {
				// Say first what does not match, then the tensors.
				report.Err = fmt.Sprintf("%s holds %s at width 1/%d, the model is %s at width 1/%d (pick %s, or take the model from the file): %s",
					report.Name, report.Arch, report.WidthDiv, cfg.Arch, cfg.WidthDiv, report.Arch, report.Err)
			}
		}
		report.Replaced = replaced
	}
	if err := net.SetTrainable(train.Frozen(runspec.Settings{Freeze: req.Freeze, HeadOnly: req.HeadOnly})); err != nil {
		return nil, err
	}
	layers, err := net.Layers(0, req.Size, req.Size)
	if err != nil {
		return nil, err
	}
	d := &msg.ModelDescription{Arch: cfg.Arch, WidthDiv: cfg.WidthDiv, Head: cfg.Head.String(), Classes: cfg.Classes, Size: req.Size,
		Buffers: net.NumBuffers(), MACs: resnet.ForwardMACs(layers), Weights: report}
	d.Total, d.Trainable, d.NonTrainable = net.NumParams()
	for _, l := range layers {
		d.Layers = append(d.Layers, msg.LayerRow{Name: l.Name, Kind: string(l.Kind), Shape: l.Shape, Params: l.NumParams(),
			Trainable: l.TrainableParams(), Inputs: l.Inputs})
	}
	if req.Graph {
		d.Graph = netgraph.SVG(net, layers)
	}
	return d, nil
}

// exportCheckpoint converts a stored checkpoint as the CLI's export
// --checkpoint does: safetensors under torchvision's names with the
// network's description and the checkpoint's classes, input size and
// normalisation in the metadata, or the eval-mode network as ONNX.
func exportCheckpoint(m msg.Message) (*msg.ExportResult, []byte, error) {
	var req msg.CheckpointExportRequest
	if err := m.DecodeBody(&req); err != nil {
		return nil, nil, err
	}
	if req.Format != "safetensors" && req.Format != "onnx" {
		return nil, nil, fmt.Errorf("export: format %q (want safetensors or onnx)", req.Format)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	db, err := theEnv.store(ctx)
	if err != nil {
		return nil, nil, err
	}
	b, err := db.CheckpointData(ctx, req.Checkpoint)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", req.Checkpoint, err)
	}
	ck, err := train.ParseCheckpoint(b, req.Checkpoint)
	if err != nil {
		return nil, nil, err
	}
	b = nil
	net, err := ck.Net()
	if err != nil {
		return nil, nil, err
	}
	base := req.Name
	if base == "" {
		base = strings.ReplaceAll(req.Checkpoint, "/", "-")
	}
	base = strings.TrimSuffix(path.Base(base), ".safetensors")
	size := net.Config.InputSize
	total, _, _ := net.NumParams()
	res := &msg.ExportResult{Format: req.Format}
	var out []byte
	switch req.Format {
	case "safetensors":
		md := weights.NetMetadata(net)
		md["epoch"] = fmt.Sprint(ck.Meta.Epoch)
		md["input_size"] = fmt.Sprint(size)
		md["norm"] = ck.Meta.Preprocess.Norm
		md["source"] = req.Checkpoint
		if cn, err := json.Marshal(ck.Meta.Classes); err == nil {
			md["class_names"] = string(cn)
		}
		var buf bytes.Buffer
		if err := weights.Encode(&buf, weights.NetTensors(net), md); err != nil {
			return nil, nil, err
		}
		out = buf.Bytes()
		// Not the checkpoint's own name: that file also holds the
		// optimizer's state, this one only the weights.
		res.Name = base + "-weights.safetensors"
		res.Summary = fmt.Sprintf("%s, %d classes: %d tensors under torchvision's names (%s parameters)", net.Config.Arch, net.Config.Classes,
			len(net.State()), netgraph.Commas(total))
	case "onnx":
		if out, err = onnx.Export(net, onnx.Options{Size: size, KeepBatchNorm: req.KeepBatchNorm,
			DocString: fmt.Sprintf("%s from %s, exported by goresnet in the browser", net.Config.Arch, req.Checkpoint)}); err != nil {
			return nil, nil, err
		}
		res.Name = base + ".onnx"
		res.Summary = fmt.Sprintf("ONNX opset %d, input \"input\" [N 3 %d %d], output \"logits\" [N %d]", onnx.Opset, size, size, net.Config.Classes)
	}
	if len(out) == 0 {
		return nil, nil, errors.New("export: nothing written")
	}
	res.Bytes = len(out)
	return res, out, nil
}
