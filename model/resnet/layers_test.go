package resnet

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/nn"
)

// TestLayersCoverTheParameters checks that the layer list holds every
// parameter and running statistic exactly once, in state_dict order, so the
// per-layer counts add up to the network's.
func TestLayersCoverTheParameters(t *testing.T) {
	for _, arch := range ArchNames() {
		for _, head := range []Head{HeadStandard, HeadNotebook} {
			n := smallNet(t, arch, head, 5, 64)
			if err := n.SetTrainable([]string{"conv1", "layer1", "layer2.1"}); err != nil {
				t.Fatal(err)
			}
			ls, err := n.Layers(0, 64, 64)
			if err != nil {
				t.Fatal(err)
			}
			var params []*Param
			var bufs []*Buffer
			sum, trainable, nbuf := 0, 0, 0
			for _, l := range ls {
				params = append(params, l.Params...)
				bufs = append(bufs, l.Buffers...)
				sum += l.NumParams()
				trainable += l.TrainableParams()
				nbuf += l.NumBuffers()
			}
			if !slices.Equal(params, n.Params()) {
				t.Errorf("%s %s: the layers' parameters are not Net.Params in order", arch, head)
			}
			if !slices.Equal(bufs, n.Buffers()) {
				t.Errorf("%s %s: the layers' buffers are not Net.Buffers in order", arch, head)
			}
			total, tr, frozen := n.NumParams()
			if sum != len(n.ParamData) || sum != total || trainable != tr || sum-trainable != frozen || nbuf != n.NumBuffers() {
				t.Errorf("%s %s: layers count %d params (%d trainable), %d buffers; the network has %d (%d, %d frozen) and %d",
					arch, head, sum, trainable, nbuf, len(n.ParamData), tr, frozen, n.NumBuffers())
			}
			for _, l := range ls {
				frozenLayer := strings.HasPrefix(l.Name, "conv1") || l.Name == "bn1" || strings.HasPrefix(l.Name, "layer1.") || strings.HasPrefix(l.Name, "layer2.1.")
				if len(l.Params) > 0 && l.Trainable() == frozenLayer {
					t.Errorf("%s: trainable %v", l.Name, l.Trainable())
				}
			}
		}
	}
}

// TestLayersMatchWorkspace compares every layer's output shape with the
// buffer a real Workspace plans for it, runs that workspace, and checks the
// graph's wiring (inputs come earlier, every Add takes its block's main
// path and shortcut).
func TestLayersMatchWorkspace(t *testing.T) {
	for _, tc := range []struct {
		arch string
		head Head
		h, w int
	}{
		{"resnet18", HeadStandard, 96, 64},
		{"resnet50", HeadStandard, 64, 64},
		{"resnet34", HeadNotebook, 96, 96},
		{"resnet50", HeadNotebook, 96, 96},
	} {
		t.Run(fmt.Sprintf("%s_%s", tc.arch, tc.head), func(t *testing.T) {
			const batch = 2
			n := smallNet(t, tc.arch, tc.head, 3, tc.h)
			ws, err := n.NewWorkspace(batch, tc.h, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			logits, err := ws.Forward(randInput(1, ws.InputSize()), false)
			if err != nil {
				t.Fatal(err)
			}
			ls, err := n.Layers(batch, tc.h, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			open, _ := n.Layers(-1, tc.h, tc.w)

			// What the workspace planned, by layer name.
			want := map[string][]int{"input": {batch, 3, tc.h, tc.w}}
			size := map[string]int{}
			conv := func(c nn.Conv2D) []int { return []int{c.N, c.OC, c.OH, c.OW} }
			unitShapes := func(l unit, u *unitWS) {
				want[l.conv.name], want[l.bn.name] = conv(u.conv), conv(u.conv)
				size[l.conv.name], size[l.bn.name] = len(u.out), len(u.act)
			}
			unitShapes(n.stem, &ws.stem.unitWS)
			p := ws.stem.pool
			want["maxpool"], size["maxpool"] = []int{p.N, p.C, p.OH, p.OW}, len(ws.stem.pooled)
			for i, b := range n.blocks {
				bw := &ws.blocks[i]
				for j := range b.units {
					unitShapes(b.units[j], &bw.units[j])
				}
				if b.down != nil {
					want[b.down.name], want[b.downBN.name] = conv(bw.down), conv(bw.down)
					size[b.down.name] = len(bw.downOut)
				}
				size[b.name+".add"] = len(bw.out)
			}
			hd := &ws.head
			if tc.head == HeadNotebook {
				want["avgpool"] = []int{hd.pool.N, hd.pool.C, hd.pool.OH, hd.pool.OW}
				size["avgpool"], size["dropout"] = len(hd.pooled), len(hd.features)
			} else {
				size["avgpool"] = len(hd.features)
			}
			want["flatten"], size["flatten"] = []int{batch, n.fcIn}, len(hd.features)
			want["fc"], size["fc"] = []int{batch, n.Config.Classes}, len(logits)

			seen := map[string]bool{}
			for i, l := range ls {
				if seen[l.Name] {
					t.Errorf("layer name %q used twice", l.Name)
				}
				seen[l.Name] = true
				if w, ok := want[l.Name]; ok && !slices.Equal(l.Shape, w) {
					t.Errorf("%s: shape %v, the workspace has %v", l.Name, l.Shape, w)
				}
				if s, ok := size[l.Name]; ok && s != prod(l.Shape) {
					t.Errorf("%s: shape %v (%d values), the workspace buffer has %d", l.Name, l.Shape, prod(l.Shape), s)
				}
				if got := open[i].Shape; got[0] != -1 || !slices.Equal(got[1:], l.Shape[1:]) {
					t.Errorf("%s: shape %v with an open batch size, %v with batch %d", l.Name, got, l.Shape, batch)
				}
				if (i == 0) != (len(l.Inputs) == 0) {
					t.Errorf("%s: inputs %v", l.Name, l.Inputs)
				}
				for _, in := range l.Inputs {
					if in >= i {
						t.Errorf("%s (layer %d) takes the output of layer %d", l.Name, i, in)
					}
				}
				switch l.Kind {
				case KindAdd:
					main, short := ls[l.Inputs[0]], ls[l.Inputs[1]]
					if len(l.Inputs) != 2 || main.Kind != KindBatchNorm || main.Block != l.Block ||
						!slices.Equal(main.Shape, l.Shape) || !slices.Equal(short.Shape, l.Shape) {
						t.Errorf("%s: inputs %s %v and %s %v", l.Name, main.Name, main.Shape, short.Name, short.Shape)
					}
					if short.Block == l.Block && short.Name != l.Block+".downsample.1" {
						t.Errorf("%s: shortcut from %s", l.Name, short.Name)
					}
				case KindReLU, KindBatchNorm, KindDropout:
					if !slices.Equal(ls[l.Inputs[0]].Shape, l.Shape) {
						t.Errorf("%s changes the shape", l.Name)
					}
				}
			}
			for name := range want {
				if !seen[name] {
					t.Errorf("no layer %q", name)
				}
			}
			if last := ls[len(ls)-1]; last.Name != "fc" {
				t.Errorf("last layer %s", last.Name)
			}
		})
	}
	n := smallNet(t, "resnet18", HeadNotebook, 3, 64)
	if _, err := n.Layers(1, 96, 96); err == nil {
		t.Error("a notebook head built for 64x64 described at 96x96")
	}
	if _, err := n.Layers(1, 60, 64); err == nil {
		t.Error("input 60x64 accepted")
	}
}
