package cli

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-graphviz"
	"github.com/goresnet/goresnet/model/resnet"
)

// TestGraphDOT checks that the DOT output parses (with Graphviz's own
// parser) into one node per layer and one edge per connection.
func TestGraphDOT(t *testing.T) {
	for _, args := range [][]string{
		{"--arch", "resnet50"},
		{"--arch", "resnet18", "--head", "notebook", "--size", "96", "--width-div", "8", "--classes", "5", "--rankdir", "LR"},
	} {
		out := filepath.Join(t.TempDir(), "g.dot")
		stdout, stderr, code := run(t, append([]string{"graph", "--out", out}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		nf := &netFlags{size: 224}
		for i := 0; i+1 < len(args); i += 2 {
			switch args[i] {
			case "--arch":
				nf.arch = args[i+1]
			case "--head":
				nf.head = args[i+1]
			}
		}
		dot, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		gv, err := graphviz.New(t.Context()) // loads Graphviz for the parser
		if err != nil {
			t.Fatal(err)
		}
		defer gv.Close()
		g, err := graphviz.ParseBytes(dot)
		if err != nil {
			t.Fatalf("%v: Graphviz cannot parse the DOT: %v", args, err)
		}
		nodes, _ := g.NodeNum()
		edges, _ := g.EdgeNum()
		var layers []resnet.Layer
		if nf.head == "notebook" {
			net, _ := resnet.New(resnet.Config{Arch: "resnet18", Classes: 5, WidthDiv: 8, Head: resnet.HeadNotebook, InputSize: 96})
			layers, _ = net.Layers(0, 96, 96)
		} else {
			net, _ := resnet.New(resnet.Config{Arch: "resnet50", Classes: 1000})
			layers, _ = net.Layers(0, 224, 224)
		}
		if nodes != len(layers) || edges != countEdges(layers) {
			t.Errorf("%v: %d nodes and %d edges, want %d and %d", args, nodes, edges, len(layers), countEdges(layers))
		}
		for _, l := range layers {
			if n, err := g.NodeByName(l.Name); err != nil || n == nil {
				t.Errorf("no node %q", l.Name)
			}
		}
		if !strings.Contains(stdout, "layers") {
			t.Errorf("stdout %q", stdout)
		}
		g.Close()
	}
}

// TestGraphSVG checks that the SVG is well-formed XML with a titled node
// per layer and the shortcut edges.
func TestGraphSVG(t *testing.T) {
	out := filepath.Join(t.TempDir(), "g.svg")
	if _, stderr, code := run(t, "graph", "--arch", "resnet18", "--width-div", "8", "--classes", "7", "--out", out); code != 0 {
		t.Fatal(stderr)
	}
	svg, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(svg))
	titles := map[string]bool{}
	nodes := 0
	inTitle := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			inTitle = e.Name.Local == "title"
			for _, a := range e.Attr {
				if e.Name.Local == "g" && a.Name.Local == "class" && a.Value == "node" {
					nodes++
				}
			}
		case xml.CharData:
			if inTitle {
				titles[string(e)] = true
			}
		case xml.EndElement:
			inTitle = false
		}
	}
	net, _ := resnet.New(resnet.Config{Arch: "resnet18", Classes: 7, WidthDiv: 8})
	layers, _ := net.Layers(0, 224, 224)
	if nodes != len(layers) {
		t.Errorf("%d nodes in the SVG, want %d", nodes, len(layers))
	}
	for _, s := range []string{"conv1", "layer1.0.add", "layer2.0.downsample.1", "fc", "layer2.0.downsample.1->layer2.0.add", "layer1.0.relu2->layer1.1.add"} {
		if !titles[s] {
			t.Errorf("the SVG has no element titled %q", s)
		}
	}
	if !bytes.Contains(svg, []byte("layer4.1.conv2: Conv2d 3x3 (36,864 params)")) || !bytes.Contains(svg, []byte("output: (None, 7)")) {
		t.Error("the SVG lacks a layer's label")
	}
}

func TestGraphBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", filepath.Join(dir, "g.png")}, "must be .svg or .dot"},
		{[]string{}, "--out is required"},
		{[]string{"--out", filepath.Join(dir, "g.svg"), "--rankdir", "BT"}, "want TB or LR"},
		{[]string{"--out", filepath.Join(dir, "no/such/dir/g.svg")}, "no such file"},
		{[]string{"--out", filepath.Join(dir, "g.svg"), "--arch", "resnet51"}, "unknown architecture"},
	} {
		_, stderr, code := run(t, append([]string{"graph"}, c.args...)...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", c.args, code, stderr, c.want)
		}
	}
}
