package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/goresnet/goresnet/model/netgraph"
	"github.com/goresnet/goresnet/model/resnet"
)

func init() {
	register(&command{name: "summary", summary: "print the network layer by layer with output shapes and parameter counts (like Keras' model.summary())", run: runSummary})
}

const summaryHelp = `
Prints the network as Keras' model.summary() does: every layer (batch norm,
ReLU and the residual adds included) with its output shape (NCHW; "None" is
the open batch size unless --batch is given), its parameter count and the
layers it takes its input from, then the totals.

Parameters are counted as torchvision counts them (ResNet-50 with 1000
classes: 25,557,032). Batch norm running means and variances are buffers,
not parameters: they are listed on their own line (Keras would add them to
the non-trainable count). Non-trainable parameters are the frozen ones
(--freeze, --head-only), and a Trainable column appears when any are.`

func runSummary(env *Env, args []string) error {
	fs := newFlags(env, "summary", "[--arch resnet50] [--classes N] [--size S] [--width-div D] [--head standard|notebook] [--freeze GROUPS | --head-only] [--weights W] [--batch N]", summaryHelp)
	nf := addNetFlags(fs, true)
	batch := fs.Int("batch", 0, "batch size to show in the shapes (default: None, open)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	net, _, err := nf.build()
	if err != nil {
		return err
	}
	layers, err := net.Layers(*batch, net.Config.InputSize, net.Config.InputSize)
	if err != nil {
		return err
	}
	writeSummary(env.Stdout, net, layers, nf.frozen())
	return nil
}

// writeSummary prints the Keras-style table and totals.
func writeSummary(w io.Writer, net *resnet.Net, layers []resnet.Layer, showTrainable bool) {
	cfg := net.Config
	header := []string{"Layer (type)", "Output Shape", "Param #", "Connected to"}
	if showTrainable {
		header = append(header, "Trainable")
	}
	rows := [][]string{header}
	for _, l := range layers {
		var from []string
		for _, i := range l.Inputs {
			from = append(from, layers[i].Name)
		}
		row := []string{l.Name + " (" + string(l.Kind) + ")", netgraph.Shape(l.Shape), netgraph.Commas(l.NumParams()), strings.Join(from, ", ")}
		if showTrainable {
			tr := ""
			switch {
			case len(l.Params) == 0:
			case l.Trainable():
				tr = "Y"
			case l.TrainableParams() == 0:
				tr = "N"
			default:
				tr = "partly"
			}
			row = append(row, tr)
		}
		rows = append(rows, row)
	}
	width := make([]int, len(header))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	line := 0
	for _, wd := range width {
		line += wd + 3
	}
	line--
	width[len(width)-1] = 0 // no padding after the last column

	desc := fmt.Sprintf("%s, %d classes, %s head", cfg.Arch, cfg.Classes, cfg.Head)
	if cfg.WidthDiv > 1 {
		desc += fmt.Sprintf(", width divided by %d", cfg.WidthDiv)
	}
	fmt.Fprintf(w, "Model: %s, input %s\n", desc, netgraph.Shape(layers[0].Shape))
	fmt.Fprintln(w, strings.Repeat("_", line))
	for i, r := range rows {
		var b strings.Builder
		for j, c := range r {
			if j > 0 {
				b.WriteString("   ")
			}
			if j == 2 { // numbers right-aligned
				fmt.Fprintf(&b, "%*s", width[j], c)
			} else {
				fmt.Fprintf(&b, "%-*s", width[j], c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if i == 0 {
			fmt.Fprintln(w, strings.Repeat("=", line))
		}
	}
	fmt.Fprintln(w, strings.Repeat("=", line))
	total, trainable, frozen := net.NumParams()
	fmt.Fprintf(w, "Total params: %s (%s)\n", netgraph.Commas(total), bytesString(4*int64(total)))
	fmt.Fprintf(w, "Trainable params: %s (%s)\n", netgraph.Commas(trainable), bytesString(4*int64(trainable)))
	fmt.Fprintf(w, "Non-trainable params: %s (%s)\n", netgraph.Commas(frozen), bytesString(4*int64(frozen)))
	fmt.Fprintf(w, "Buffers (batch norm running mean and variance, not parameters): %s (%s)\n",
		netgraph.Commas(net.NumBuffers()), bytesString(4*int64(net.NumBuffers())))
	macs := resnet.ForwardMACs(layers)
	unit, scale := "G", 1e9
	if macs < 1e9 {
		unit, scale = "M", 1e6
	}
	fmt.Fprintf(w, "Forward pass per image: %.2f %sMAC (%.2f %sFLOP) at %dx%d\n",
		float64(macs)/scale, unit, 2*float64(macs)/scale, unit, layers[0].Shape[2], layers[0].Shape[3])
	fmt.Fprintln(w, strings.Repeat("_", line))
}

// bytesString prints a byte count in binary units.
func bytesString(n int64) string {
	v := float64(n)
	for _, u := range []string{"B", "KiB", "MiB"} {
		if v < 1024 {
			return fmt.Sprintf("%.2f %s", v, u)
		}
		v /= 1024
	}
	return fmt.Sprintf("%.2f GiB", v)
}
