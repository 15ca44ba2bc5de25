// Package netgraph draws a network's layer graph as SVG, as the CLI's
// graph command does (one box per layer with its name, type, parameters
// and input and output shapes, arrows along the data flow, the residual
// blocks boxed and labelled, shortcuts drawn grey), with its own simple
// layout rather than Graphviz: the browser's worker draws it, and
// go-graphviz (Graphviz compiled to WebAssembly, run by wazero) would be
// megabytes there. A ResNet's graph is a chain with one shortcut per
// block, so the layout is a column for the main path and a second column
// for the downsampling shortcuts.
package netgraph

import (
	"fmt"
	"html"
	"strconv"
	"strings"

	"github.com/goresnet/goresnet/model/resnet"
)

// KindColor gives each kind of layer a fill colour (the CLI's graph uses
// the same), as plot_model's boxes are told apart by their type.
var KindColor = map[resnet.LayerKind]string{
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

// Geometry, in SVG user units (pixels at scale 1).
const (
	boxW       = 390 // a box's width
	boxH       = 36  // its height: two lines of text
	rowGap     = 18  // vertical space between rows (the arrows)
	colGap     = 70  // between the main column and the shortcut column
	margin     = 20
	titleH     = 40
	clusterPad = 8
)

// Title is the graph's heading: arch, classes, head, width, parameters.
func Title(net *resnet.Net) string {
	cfg := net.Config
	t := fmt.Sprintf("%s, %d classes, %s head", cfg.Arch, cfg.Classes, cfg.Head)
	if cfg.WidthDiv > 1 {
		t += fmt.Sprintf(", width / %d", cfg.WidthDiv)
	}
	total, _, _ := net.NumParams()
	return t + ", " + Commas(total) + " parameters"
}

// Head is a layer box's first line: "layer1.0.conv2: Conv2d 3x3 /2
// (36,864 params)".
func Head(l *resnet.Layer) string {
	head := l.Name + ": " + string(l.Kind)
	switch l.Kind {
	case resnet.KindConv, resnet.KindMaxPool, resnet.KindAvgPoolSame:
		head += fmt.Sprintf(" %dx%d", l.Kernel, l.Kernel)
		if l.Stride != 1 {
			head += fmt.Sprintf(" /%d", l.Stride)
		}
		if l.Kind == resnet.KindAvgPoolSame {
			head += " 'same'"
		}
	case resnet.KindDropout:
		head += fmt.Sprintf(" %g", l.Dropout)
	}
	if p := l.NumParams(); p > 0 {
		head += fmt.Sprintf(" (%s params)", Commas(p))
	}
	return head
}

// Shape prints a shape as Keras does: (None, 64, 112, 112).
func Shape(s []int) string {
	p := make([]string, len(s))
	for i, d := range s {
		if d < 0 {
			p[i] = "None"
		} else {
			p[i] = strconv.Itoa(d)
		}
	}
	return "(" + strings.Join(p, ", ") + ")"
}

// Commas writes 25557032 as 25,557,032.
func Commas(n int) string {
	if n < 0 {
		return "-" + Commas(-n)
	}
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// isShortcut reports whether a layer is on a block's downsampling shortcut
// (drawn in the second column).
func isShortcut(l *resnet.Layer) bool { return strings.Contains(l.Name, ".downsample.") }

// SVG draws the layers (net.Layers' list) of net.
func SVG(net *resnet.Net, layers []resnet.Layer) string {
	n := len(layers)
	x := make([]int, n)
	y := make([]int, n)
	row := 0
	rowY := func(r int) int { return margin + titleH + r*(boxH+rowGap) }
	blockStart := map[string]int{} // a block's first row
	shortRow := map[string]int{}   // the next free row of a block's shortcut column
	for i := range layers {
		l := &layers[i]
		if isShortcut(l) {
			r, ok := shortRow[l.Block]
			if !ok {
				r = blockStart[l.Block]
			}
			x[i], y[i] = margin+boxW+colGap, rowY(r)
			shortRow[l.Block] = r + 1
			continue
		}
		if _, ok := blockStart[l.Block]; !ok && l.Block != "" {
			blockStart[l.Block] = row
		}
		x[i], y[i] = margin, rowY(row)
		row++
	}
	width := margin + boxW + colGap + boxW + margin
	height := rowY(row) + margin

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="gr-netgraph" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Courier, monospace" font-size="11">`, width, height, width, height)
	b.WriteString(`<defs><marker id="gr-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker>` +
		`<marker id="gr-arrow-grey" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#999"/></marker></defs>`)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-family="Helvetica, Arial, sans-serif" font-size="16">%s</text>`, margin, margin+18, html.EscapeString(Title(net)))

	// The blocks, as dashed clusters behind their layers.
	for i := 0; i < n; {
		blk := layers[i].Block
		if blk == "" {
			i++
			continue
		}
		top, bottom, right := y[i], y[i], x[i]
		for ; i < n && layers[i].Block == blk; i++ {
			top, bottom, right = min(top, y[i]), max(bottom, y[i]), max(right, x[i])
		}
		fmt.Fprintf(&b, `<g class="gr-block" data-block="%s"><rect x="%d" y="%d" width="%d" height="%d" rx="8" fill="none" stroke="#999" stroke-dasharray="5,3"/>`,
			blk, margin-clusterPad, top-clusterPad-4, right+boxW-margin+2*clusterPad, bottom-top+boxH+2*clusterPad+4)
		// The label in the cluster's top right corner, above the boxes.
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-family="Helvetica, Arial, sans-serif" font-size="10" fill="#666" text-anchor="end">%s</text></g>`,
			right+boxW+clusterPad-6, top-3, blk)
	}

	// The edges: straight down the main path; shortcuts grey, around the
	// right of the boxes.
	for i := range layers {
		l := &layers[i]
		for k, j := range l.Inputs {
			grey := l.Kind == resnet.KindAdd && k == 1
			stroke, marker := "#333", "gr-arrow"
			if grey {
				stroke, marker = "#999", "gr-arrow-grey"
			}
			var d string
			switch {
			case x[i] == x[j] && !grey:
				d = fmt.Sprintf("M%d,%d L%d,%d", x[j]+boxW/2, y[j]+boxH, x[i]+boxW/2, y[i])
			case x[j] == x[i]: // an identity shortcut: out right, down, back in
				bend := x[i] + boxW + colGap/2
				d = fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d L%d,%d C%d,%d %d,%d %d,%d",
					x[j]+boxW, y[j]+boxH/2, bend, y[j]+boxH/2, bend, y[j]+boxH/2, bend, y[j]+boxH,
					bend, y[i], bend, y[i]+boxH/2, bend, y[i]+boxH/2, x[i]+boxW, y[i]+boxH/2)
			case x[i] > x[j]: // into the shortcut column
				d = fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x[j]+boxW, y[j]+boxH/2, x[i]+boxW/2, y[j]+boxH/2, x[i]+boxW/2, y[i]-rowGap, x[i]+boxW/2, y[i])
			default: // from the shortcut column back to the add
				d = fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x[j]+boxW/2, y[j]+boxH, x[j]+boxW/2, y[i]+boxH/2, x[j]+boxW/2, y[i]+boxH/2, x[i]+boxW, y[i]+boxH/2)
			}
			width := "1"
			if grey {
				width = "1.5"
			}
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="%s" marker-end="url(#%s)"/>`, d, stroke, width, marker)
		}
	}

	// The boxes.
	for i := range layers {
		l := &layers[i]
		io := "output: " + Shape(l.Shape)
		if len(l.Inputs) > 0 {
			io = "input: " + Shape(layers[l.Inputs[0]].Shape) + "  output: " + Shape(l.Shape)
		}
		fmt.Fprintf(&b, `<g class="gr-node" data-name="%s" data-kind="%s"><rect x="%d" y="%d" width="%d" height="%d" rx="5" fill="%s" stroke="#666"/>`,
			html.EscapeString(l.Name), l.Kind, x[i], y[i], boxW, boxH, KindColor[l.Kind])
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text><text x="%d" y="%d" fill="#444">%s</text></g>`,
			x[i]+6, y[i]+14, html.EscapeString(Head(l)), x[i]+6, y[i]+29, html.EscapeString(io))
	}
	b.WriteString("</svg>")
	return b.String()
}
