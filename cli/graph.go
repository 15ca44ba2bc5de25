package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/goccy/go-graphviz"
	"github.com/goresnet/goresnet/internal/atomicfile"
	"github.com/goresnet/goresnet/model/netgraph"
	"github.com/goresnet/goresnet/model/resnet"
)

func init() {
	register(&command{name: "graph", summary: "draw the network as a graph of layers, SVG or DOT (like Keras' plot_model)", run: runGraph})
}

const graphHelp = `
Draws the network as Keras' plot_model does: one box per layer with its name,
type and input and output shapes, arrows from each layer to the layers that
take its output, the residual blocks boxed and labelled. The format follows
the --out extension: .dot writes Graphviz's DOT text; .svg lays the graph
out with Graphviz's dot (built in, through github.com/goccy/go-graphviz: no
installation needed) and writes an SVG picture.`

func runGraph(env *Env, args []string) error {
	fs := newFlags(env, "graph", "[--arch resnet50] [--classes N] [--size S] [--width-div D] [--head standard|notebook] [--weights W] [--rankdir TB|LR] --out model.svg|model.dot", graphHelp)
	nf := addNetFlags(fs, false)
	out := fs.String("out", "", "output file: .svg or .dot")
	rankdir := fs.String("rankdir", "TB", "direction of the drawing: TB (top to bottom) or LR (left to right)")
	batch := fs.Int("batch", 0, "batch size to show in the shapes (default: None, open)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *out == "" {
		fs.Usage()
		return fmt.Errorf("--out is required")
	}
	format := strings.ToLower(strings.TrimPrefix(filepath.Ext(*out), "."))
	if format != "svg" && format != "dot" {
		return fmt.Errorf("--out %s: the extension must be .svg or .dot", *out)
	}
	if *rankdir != "TB" && *rankdir != "LR" {
		return fmt.Errorf("--rankdir %q: want TB or LR", *rankdir)
	}
	net, _, err := nf.build()
	if err != nil {
		return err
	}
	layers, err := net.Layers(*batch, net.Config.InputSize, net.Config.InputSize)
	if err != nil {
		return err
	}
	var dot bytes.Buffer
	writeDOT(&dot, net, layers, *rankdir)
	data := dot.Bytes()
	if format == "svg" {
		if data, err = renderSVG(data); err != nil {
			return err
		}
	}
	if err := atomicfile.Write(*out, 0o644, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: %d layers, %d connections (%s)\n", *out, len(layers), countEdges(layers), format)
	return nil
}

func countEdges(layers []resnet.Layer) int {
	n := 0
	for _, l := range layers {
		n += len(l.Inputs)
	}
	return n
}

// kindColor gives each kind of layer a fill colour, as plot_model's boxes
// are told apart by their type.
var kindColor = map[resnet.LayerKind]string{
	resnet.KindInput:         "#e0e0e0",
	resnet.KindConv:          "#cfe2f3",
	resnet.KindBatchNorm:     "#fff2cc",
	resnet.KindReLU:          "#d9ead3",
	resnet.KindMaxPool:       "#ead1dc",
	resnet.KindAdd:           "#fce5cd",
	resnet.KindGlobalAvgPool: "#ead1dc",
	resnet.KindAvgPoolSame:   "#ead1dc",
	resnet.KindDropout:       "#eeeeee",
	resnet.KindFlatten:       "#eeeeee",
	resnet.KindLinear:        "#f4cccc",
}

// writeDOT writes the layer graph in Graphviz's DOT language: one record
// node per layer ({name: type | {input: shape | output: shape}}), the
// residual blocks as labelled clusters, shortcut edges drawn grey.
func writeDOT(w io.Writer, net *resnet.Net, layers []resnet.Layer, rankdir string) {
	cfg := net.Config
	title := fmt.Sprintf("%s, %d classes, %s head", cfg.Arch, cfg.Classes, cfg.Head)
	if cfg.WidthDiv > 1 {
		title += fmt.Sprintf(", width / %d", cfg.WidthDiv)
	}
	total, _, _ := net.NumParams()
	title += fmt.Sprintf(", %s parameters", netgraph.Commas(total))
	fmt.Fprintf(w, "digraph %q {\n", cfg.Arch)
	fmt.Fprintf(w, "\tgraph [rankdir=%s, label=%q, labelloc=t, fontname=\"Helvetica,Arial,sans-serif\", fontsize=16, nodesep=0.3, ranksep=0.3];\n", rankdir, title)
	fmt.Fprintln(w, "\tnode [shape=record, style=\"filled,rounded\", fontname=\"Courier\", fontsize=10, color=\"#666666\"];")
	fmt.Fprintln(w, "\tedge [color=\"#333333\", arrowsize=0.6];")
	indent := "\t"
	node := func(i int) {
		l := layers[i]
		head := netgraph.Head(&layers[i])
		in := ""
		if len(l.Inputs) > 0 {
			in = netgraph.Shape(layers[l.Inputs[0]].Shape)
		}
		label := fmt.Sprintf("{%s|{input: %s|output: %s}}", recordEscape(head), recordEscape(in), recordEscape(netgraph.Shape(l.Shape)))
		if l.Kind == resnet.KindInput {
			label = fmt.Sprintf("{%s|{output: %s}}", recordEscape(head), recordEscape(netgraph.Shape(l.Shape)))
		}
		group := "main" // the main path, kept in one vertical line
		if strings.Contains(l.Name, ".downsample.") {
			group = "shortcut"
		}
		fmt.Fprintf(w, "%s%q [label=%q, fillcolor=%q, group=%s];\n", indent, l.Name, label, kindColor[l.Kind], group)
	}
	// Nodes, the blocks' ones in clusters.
	for i := 0; i < len(layers); {
		block := layers[i].Block
		if block == "" {
			node(i)
			i++
			continue
		}
		fmt.Fprintf(w, "\tsubgraph \"cluster_%s\" {\n\t\tlabel=%q; labeljust=l; style=\"rounded,dashed\"; color=\"#999999\"; fontname=\"Helvetica,Arial,sans-serif\"; fontsize=12;\n", block, block)
		indent = "\t\t"
		for ; i < len(layers) && layers[i].Block == block; i++ {
			node(i)
		}
		indent = "\t"
		fmt.Fprintln(w, "\t}")
	}
	for _, l := range layers {
		for k, in := range l.Inputs {
			attr := " [weight=10]" // straight main path
			if l.Kind == resnet.KindAdd && k == 1 {
				attr = " [color=\"#999999\", penwidth=1.5]" // the shortcut
			}
			fmt.Fprintf(w, "\t%q -> %q%s;\n", layers[in].Name, l.Name, attr)
		}
	}
	fmt.Fprintln(w, "}")
}

// recordEscape escapes the characters that structure a record label.
func recordEscape(s string) string {
	r := strings.NewReplacer("{", `\{`, "}", `\}`, "|", `\|`, "<", `\<`, ">", `\>`)
	return r.Replace(s)
}

// renderSVG lays a DOT graph out with Graphviz's dot and returns SVG.
func renderSVG(dot []byte) ([]byte, error) {
	ctx := context.Background()
	g, err := graphviz.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("graphviz: %w", err)
	}
	defer g.Close()
	graph, err := graphviz.ParseBytes(dot)
	if err != nil {
		return nil, fmt.Errorf("graphviz: parsing our own DOT: %w", err)
	}
	defer graph.Close()
	var svg bytes.Buffer
	if err := g.Render(ctx, graph, graphviz.SVG, &svg); err != nil {
		return nil, fmt.Errorf("graphviz: %w", err)
	}
	return svg.Bytes(), nil
}
