package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goresnet/goresnet/internal/atomicfile"
	"github.com/goresnet/goresnet/model/netgraph"
	"github.com/goresnet/goresnet/model/onnx"
	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/train"
	"github.com/goresnet/goresnet/model/weights"
)

func init() {
	register(&command{name: "export", summary: "write weights as safetensors (torchvision names) or the eval-mode network as ONNX", run: runExport})
}

const exportHelp = `
Writes a network's weights in another format:

  --format safetensors   the state_dict under torchvision's names, with the
                         network's description in the metadata (converts a
                         PyTorch .pth to safetensors, for example);
  --format onnx          the network in eval mode as an ONNX model (opset
                         13): input "input" (float32, N x 3 x S x S, N open),
                         output "logits" (N x classes). Batch norms are folded
                         into the convolutions unless --keep-batchnorm.

The format defaults to the --out extension (.safetensors, .onnx). The
weights come from --weights (safetensors or PyTorch .pth; the architecture,
class count, width and head are read from the file) or, once training
writes them, from a --checkpoint.`

// openCheckpoint reads a training checkpoint: the network and the metadata
// to keep (class names, input size, normalisation).
var openCheckpoint = func(path string) (*resnet.Net, map[string]string, error) {
	ck, err := train.OpenCheckpoint(path)
	if err != nil {
		return nil, nil, err
	}
	net, err := ck.Net()
	if err != nil {
		return nil, nil, err
	}
	meta := map[string]string{
		"epoch":      fmt.Sprint(ck.Meta.Epoch),
		"input_size": fmt.Sprint(ck.Meta.Preprocess.Size),
		"norm":       ck.Meta.Preprocess.Norm,
	}
	if b, err := json.Marshal(ck.Meta.Classes); err == nil {
		meta["class_names"] = string(b)
	}
	return net, meta, nil
}

func runExport(env *Env, args []string) error {
	fs := newFlags(env, "export", "--weights W.safetensors|W.pth | --checkpoint C  [--format safetensors|onnx] [--size S] [--keep-batchnorm] --out F", exportHelp)
	nf := addNetFlags(fs, false)
	checkpoint := fs.String("checkpoint", "", "a training checkpoint to export (instead of --weights)")
	format := fs.String("format", "", "safetensors or onnx (default: from the --out extension)")
	out := fs.String("out", "", "output file")
	keepBN := fs.Bool("keep-batchnorm", false, "onnx: write BatchNormalization nodes instead of folding batch norm into the convolutions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *out == "" || (nf.weights == "") == (*checkpoint == "") {
		fs.Usage()
		return fmt.Errorf("--out and one of --weights or --checkpoint are required")
	}
	if *format == "" {
		*format = strings.TrimPrefix(strings.ToLower(filepath.Ext(*out)), ".")
	}
	if *format != "safetensors" && *format != "onnx" {
		return fmt.Errorf("format %q: want safetensors or onnx (give --format, or an --out ending in .safetensors or .onnx)", *format)
	}

	var net *resnet.Net
	meta := map[string]string{}
	src := nf.weights
	if *checkpoint != "" {
		src = *checkpoint
		var err error
		if net, meta, err = openCheckpoint(*checkpoint); err != nil {
			return err
		}
		if nf.size != 0 && net.Config.Head == resnet.HeadStandard {
			net.Config.InputSize = nf.size
		}
	} else {
		var err error
		if net, _, err = nf.build(); err != nil {
			return err
		}
	}
	size := net.Config.InputSize
	meta["source"] = filepath.Base(src)
	meta["input_size"] = strconv.Itoa(size)

	var summary string
	switch *format {
	case "safetensors":
		if err := weights.SaveNet(net, *out, meta); err != nil {
			return err
		}
		summary = fmt.Sprintf("%d tensors under torchvision's names", len(net.State()))
	case "onnx":
		data, err := onnx.Export(net, onnx.Options{Size: size, KeepBatchNorm: *keepBN,
			DocString: fmt.Sprintf("%s from %s, exported by goresnet", net.Config.Arch, filepath.Base(src))})
		if err != nil {
			return err
		}
		if err := atomicfile.Write(*out, 0o644, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
			return err
		}
		summary = fmt.Sprintf("ONNX opset %d, input \"input\" [N 3 %d %d], output \"logits\" [N %d]", onnx.Opset, size, size, net.Config.Classes)
	}
	total, _, _ := net.NumParams()
	fmt.Fprintf(env.Stdout, "%s: %s %s (%s parameters, %d classes, %s head): %s\n",
		*out, net.Config.Arch, describeWidth(net), netgraph.Commas(total), net.Config.Classes, net.Config.Head, summary)
	return nil
}

func describeWidth(net *resnet.Net) string {
	if net.Config.WidthDiv > 1 {
		return fmt.Sprintf("at 1/%d width", net.Config.WidthDiv)
	}
	return "at full width"
}
