package cli

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/weights"
)

func init() {
	register(&command{name: "forward", summary: "run one forward (and backward) pass on a tensor file: the parity/debugging contract", run: runForward})
}

const forwardHelp = `
Runs the network once on the "input" tensor (float32, N x 3 x H x W) of a
safetensors file and writes "logits" (N x classes) to --out. With labels (an
int64 "labels" tensor in the input file, or --labels), it also writes "loss",
the mean softmax cross-entropy; with --grad, the gradient of that loss for
every parameter, as "grad.<name>" (torchvision names). With --train-mode,
batch norm uses batch statistics and the output also holds the updated
running statistics under their own names. The class count and width come
from the weights file's shapes.`

func runForward(env *Env, args []string) error {
	fs := newFlags(env, "forward", "--arch ARCH --weights W.safetensors --input X.safetensors [--labels L] [--classes N] [--train-mode] [--grad] --out OUT.safetensors", forwardHelp)
	arch := fs.String("arch", "resnet50", "architecture: "+strings.Join(resnet.ArchNames(), ", "))
	wPath := fs.String("weights", "", "weights (safetensors or PyTorch .pth, torchvision names)")
	xPath := fs.String("input", "", "input tensors (safetensors with \"input\", optional \"labels\")")
	labelList := fs.String("labels", "", "comma-separated class labels, one per image (overrides the input file's)")
	classes := fs.Int("classes", 0, "class count (default: from fc.weight; a mismatch is an error)")
	headName := fs.String("head", "", "classifier head: standard or notebook (default: the weights' metadata, else standard)")
	dropout := fs.Float64("dropout", -1, "the notebook head's dropout rate in training mode (default: the weights' metadata, else 0.5)")
	train := fs.Bool("train-mode", false, "batch norm uses batch statistics (and running statistics are updated and written)")
	grad := fs.Bool("grad", false, "also write the gradient of the loss for every parameter (needs labels)")
	out := fs.String("out", "", "output safetensors file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *wPath == "" || *xPath == "" || *out == "" {
		fs.Usage()
		return fmt.Errorf("--weights, --input and --out are required")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	wf, err := weights.Open(*wPath)
	if err != nil {
		return err
	}
	cfg := resnet.Config{Arch: *arch, Classes: *classes, Dropout: 0.5}
	if err := weights.InferConfig(wf, &cfg); err != nil {
		return err
	}
	if *headName != "" {
		if cfg.Head, err = resnet.ParseHead(*headName); err != nil {
			return err
		}
	}

	xf, err := weights.Open(*xPath)
	if err != nil {
		return err
	}
	x, shape, err := xf.Float32("input")
	if err != nil {
		return err
	}
	if len(shape) != 4 || shape[1] != 3 {
		return fmt.Errorf("%s: tensor \"input\" has shape %v, want [N 3 H W]", *xPath, shape)
	}
	n, h, w := shape[0], shape[2], shape[3]
	if err := resnet.CheckInputSize(h, w); err != nil {
		return fmt.Errorf("%s: tensor \"input\": %w", *xPath, err)
	}
	cfg.InputSize = h
	if cfg.Head == resnet.HeadNotebook && h != w {
		return fmt.Errorf("%s: the notebook head needs a square input, got %dx%d", *xPath, h, w)
	}

	labels, err := forwardLabels(*labelList, xf, n)
	if err != nil {
		return err
	}
	if *grad && labels == nil {
		return fmt.Errorf("--grad needs labels (a \"labels\" tensor in %s, or --labels)", *xPath)
	}

	if *dropout >= 0 {
		cfg.Dropout = float32(*dropout)
	}
	// Check the file's tensors before building the network, so that a
	// file declaring a huge network is refused before it is allocated.
	if err := weights.CheckFits(wf, cfg, weights.LoadOptions{}); err != nil {
		return err
	}
	net, err := resnet.New(cfg)
	if err != nil {
		return err
	}
	if err := weights.LoadNet(net, wf, weights.LoadOptions{}); err != nil {
		return err
	}
	ws, err := net.NewWorkspace(n, h, w)
	if err != nil {
		return err
	}
	logits, err := ws.Forward(x, *train)
	if err != nil {
		return err
	}
	ts := []weights.Tensor{{Name: "logits", Shape: []int{n, cfg.Classes}, F32: slices.Clone(logits)}}
	summary := fmt.Sprintf("%s: logits %dx%d", *out, n, cfg.Classes)
	if labels != nil {
		loss, err := ws.Loss(labels, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", *xPath, err)
		}
		ts = append(ts, weights.Tensor{Name: "loss", F32: []float32{float32(loss)}})
		summary += fmt.Sprintf(", loss %.6g", loss)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			fmt.Fprintf(env.Stderr, "warning: the loss is %v (is there NaN or Inf in %s?)\n", loss, *xPath)
		}
	}
	if *grad {
		net.ZeroGrad()
		if err := ws.Backward(); err != nil {
			return err
		}
		for _, p := range net.Params() {
			ts = append(ts, weights.Tensor{Name: "grad." + p.Name, Shape: p.Shape, F32: p.Grad})
		}
		summary += fmt.Sprintf(", %d gradients", len(net.Params()))
	}
	if *train {
		for _, e := range net.State() {
			switch {
			case e.Counter != nil:
				ts = append(ts, weights.Tensor{Name: e.Name, I64: []int64{*e.Counter}})
			case e.Param == nil:
				ts = append(ts, weights.Tensor{Name: e.Name, Shape: e.Shape, F32: e.Data})
			}
		}
		summary += ", running statistics"
	}
	md := weights.NetMetadata(net)
	md["mode"] = map[bool]string{true: "train", false: "eval"}[*train]
	if err := weights.WriteFile(*out, ts, md); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, summary)
	return nil
}

// forwardLabels takes --labels if given, else the input file's "labels".
func forwardLabels(list string, xf *weights.File, n int) ([]int, error) {
	var labels []int
	switch {
	case list != "":
		for _, s := range strings.Split(list, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("--labels: %q is not an integer", s)
			}
			labels = append(labels, v)
		}
	case xf.Has("labels"):
		v, _, err := xf.Int64("labels")
		if err != nil {
			return nil, err
		}
		for _, l := range v {
			labels = append(labels, int(l))
		}
	default:
		return nil, nil
	}
	if len(labels) != n {
		return nil, fmt.Errorf("%d labels for a batch of %d images", len(labels), n)
	}
	return labels, nil
}
