package netgraph

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/resnet"
)

// TestSVG draws ResNet-50 and checks the picture: well-formed XML, one box
// per layer with its name, one arrow per connection, one cluster per
// residual block, the parameter total in the title.
func TestSVG(t *testing.T) {
	net, err := resnet.New(resnet.Config{Arch: "resnet50", Classes: 1000, WidthDiv: 1, InputSize: 224, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	layers, err := net.Layers(0, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	svg := SVG(net, layers)
	d := xml.NewDecoder(strings.NewReader(svg))
	nodes, paths, blocks := 0, 0, 0
	names := map[string]bool{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if a.Name.Local == "class" && a.Value == "gr-node" {
					nodes++
				}
				if a.Name.Local == "class" && a.Value == "gr-block" {
					blocks++
				}
				if a.Name.Local == "data-name" {
					names[a.Value] = true
				}
			}
			for _, a := range se.Attr {
				if se.Name.Local == "path" && a.Name.Local == "marker-end" {
					paths++
				}
			}
		}
	}
	edges := 0
	for _, l := range layers {
		edges += len(l.Inputs)
	}
	if nodes != len(layers) || paths != edges || blocks != 16 {
		t.Errorf("%d boxes for %d layers, %d arrows for %d connections, %d blocks (want 16)", nodes, len(layers), paths, edges, blocks)
	}
	for _, n := range []string{"input", "conv1", "layer1.0.downsample.0", "layer4.2.add", "fc"} {
		if !names[n] {
			t.Errorf("no box for %s", n)
		}
	}
	if !strings.Contains(svg, "resnet50, 1000 classes, standard head, 25,557,032 parameters") {
		t.Errorf("title missing: %.300s", svg)
	}
	if !strings.Contains(svg, "layer2.0.conv2: Conv2d 3x3 /2 (147,456 params)") {
		t.Error("the strided conv's label is missing")
	}
}
