package resnet

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/goresnet/goresnet/model/nn"
)

// Workspace holds every buffer one (network, batch, input size) needs for a
// forward and backward pass, planned and allocated once by NewWorkspace, so
// that a training step allocates nothing. It keeps the activations the
// backward pass needs (like PyTorch's autograd tape) and four gradient
// buffers that the backward pass rotates through.
//
// A Workspace is not safe for concurrent use; use one per goroutine.
type Workspace struct {
	net     *Net
	N, H, W int

	x     []float32 // the input of the last Forward (the caller's slice)
	train bool      // the mode of the last Forward
	ready bool      // a Forward has run, so Backward may
	// headOnly: the last pass was HeadForward, so only the head has
	// activations to differentiate.
	headOnly bool
	stem     stemWS
	blocks   []blockWS
	head     headWS

	grad [4][]float32 // rotating gradient buffers, each of the largest activation
	col  []float32    // im2col scratch, one image of the largest convolution
	rng  *rand.Rand   // dropout: the network's generator, shared by its workspaces

	actFloats     int // stored activations (what grows with the batch)
	scratchFloats int
	flops         int64
}

type bnWS struct {
	g            nn.BatchNorm
	mean, invstd []float32
	train        bool // batch statistics were used in the last forward
}

// unitWS is the state of one conv -> batch norm (-> ReLU) step.
type unitWS struct {
	conv nn.Conv2D
	bn   bnWS
	out  []float32 // convolution output (batch norm input)
	act  []float32 // batch norm (+ReLU) output
}

type stemWS struct {
	unitWS
	pool   nn.Pool2D
	pooled []float32
	argmax []int32
}

type blockWS struct {
	units   []unitWS
	down    nn.Conv2D
	downBN  bnWS
	downOut []float32
	in, out []float32 // out is the last unit's act, holding relu(bn + shortcut)
}

type headWS struct {
	// standard: features = global average of the last stage (N x C)
	// notebook: pooled ('same' 2x2/2), dropout into features (N x C*h*w)
	pool     nn.Pool2D
	pooled   []float32
	mask     []float32
	features []float32
	dfeat    []float32
	dpooled  []float32
	fc       nn.Linear
	logits   []float32
	dlogits  []float32
}

// NewWorkspace plans the buffers for batches of n images of h x w pixels.
func (net *Net) NewWorkspace(n, h, w int) (*Workspace, error) {
	return net.planWorkspace(n, h, w, true)
}

// WorkspaceBytes is what NewWorkspace(n, h, w).Bytes() would be, planned
// without allocating anything (to check that a batch fits in memory
// before trying).
func (net *Net) WorkspaceBytes(n, h, w int) (int64, error) {
	ws, err := net.planWorkspace(n, h, w, false)
	if err != nil {
		return 0, err
	}
	return ws.Bytes(), nil
}

// planWorkspace plans a workspace, allocating its buffers when alloc is
// set (else it only counts them).
func (net *Net) planWorkspace(n, h, w int, alloc bool) (*Workspace, error) {
	mk := func(size int) []float32 {
		if !alloc {
			return nil
		}
		return make([]float32, size)
	}
	if n < 1 {
		return nil, fmt.Errorf("workspace: batch size must be at least 1, got %d", n)
	}
	if err := CheckInputSize(h, w); err != nil {
		return nil, err
	}
	if net.Config.Head == HeadNotebook && (h != net.Config.InputSize || w != net.Config.InputSize) {
		return nil, fmt.Errorf("workspace: the notebook head was built for %dx%d input, not %dx%d",
			net.Config.InputSize, net.Config.InputSize, h, w)
	}
	ws := &Workspace{net: net, N: n, H: h, W: w, rng: net.dropoutRNG}
	act := func(size int) []float32 { ws.actFloats += size; return mk(size) }
	maxAct, maxCol := 0, 0
	track := func(c nn.Conv2D) {
		maxAct = max(maxAct, c.InSize(), c.OutSize())
		maxCol = max(maxCol, c.ColSize())
		ws.flops += c.FLOPs()
	}
	planUnit := func(u unit, c, hh, ww int) (unitWS, int, int) {
		g := nn.NewConv2D(n, c, hh, ww, u.conv.outC, u.conv.k, u.conv.stride, u.conv.pad)
		track(g)
		uw := unitWS{conv: g, bn: planBN(n, u.conv.outC, g.OH*g.OW)}
		uw.out, uw.act = act(g.OutSize()), act(g.OutSize())
		return uw, g.OH, g.OW
	}

	// Stem: conv 7x7/2, bn, relu, max pool 3x3/2.
	sw, hh, ww := planUnit(net.stem, 3, h, w)
	ws.stem.unitWS = sw
	ws.stem.pool = nn.NewPool2D(n, net.stem.conv.outC, hh, ww, 3, 2, 1)
	ws.stem.pooled = act(ws.stem.pool.OutSize())
	if alloc {
		ws.stem.argmax = make([]int32, ws.stem.pool.OutSize())
	}
	ws.actFloats += ws.stem.pool.OutSize() // int32s, same size as float32s
	c, hh, ww := net.stem.conv.outC, ws.stem.pool.OH, ws.stem.pool.OW
	in := ws.stem.pooled

	for _, b := range net.blocks {
		bw := blockWS{in: in}
		cc, h0, w0 := c, hh, ww
		for _, u := range b.units {
			var uw unitWS
			uw, hh, ww = planUnit(u, c, hh, ww)
			bw.units = append(bw.units, uw)
			c = u.conv.outC
		}
		if b.down != nil {
			bw.down = nn.NewConv2D(n, cc, h0, w0, b.down.outC, 1, b.down.stride, 0)
			track(bw.down)
			bw.downBN = planBN(n, b.down.outC, bw.down.OH*bw.down.OW)
			bw.downOut = act(bw.down.OutSize())
		}
		bw.out = bw.units[len(bw.units)-1].act
		in = bw.out
		ws.blocks = append(ws.blocks, bw)
	}

	// Head.
	hd := &ws.head
	if net.Config.Head == HeadNotebook {
		hd.pool = nn.NewSamePool2D(n, c, hh, ww, 2, 2)
		hd.pooled = act(hd.pool.OutSize())
		hd.mask = act(hd.pool.OutSize())
		hd.dpooled = mk(hd.pool.OutSize())
		ws.scratchFloats += hd.pool.OutSize()
	}
	if got := len(in) / n; net.Config.Head == HeadNotebook && hd.pool.OutSize()/n != net.fcIn || net.Config.Head == HeadStandard && c != net.fcIn {
		return nil, fmt.Errorf("workspace: the head expects %d features, the network gives %d", net.fcIn, got)
	}
	hd.fc = nn.Linear{N: n, In: net.fcIn, Out: net.Config.Classes}
	hd.features = act(n * net.fcIn)
	hd.dfeat = mk(n * net.fcIn)
	hd.logits = act(n * net.Config.Classes)
	hd.dlogits = mk(n * net.Config.Classes)
	ws.scratchFloats += n*net.fcIn + n*net.Config.Classes
	ws.flops += 2 * int64(n) * int64(net.fcIn) * int64(net.Config.Classes)

	for i := range ws.grad {
		ws.grad[i] = mk(maxAct)
	}
	ws.col = mk(maxCol)
	ws.scratchFloats += 4*maxAct + maxCol
	return ws, nil
}

func planBN(n, c, hw int) bnWS {
	return bnWS{g: nn.NewBatchNorm(n, c, hw), mean: make([]float32, c), invstd: make([]float32, c)}
}

// ActivationBytesPerImage is the memory of the activations kept for the
// backward pass, per image of the batch.
func (ws *Workspace) ActivationBytesPerImage() int64 { return int64(ws.actFloats) * 4 / int64(ws.N) }

// Bytes is the whole workspace: activations plus gradient and im2col scratch.
func (ws *Workspace) Bytes() int64 { return int64(ws.actFloats+ws.scratchFloats) * 4 }

// ForwardFLOPs counts the floating-point operations of one forward pass of
// the whole batch (2 per multiply-add of the convolutions and the fc).
func (ws *Workspace) ForwardFLOPs() int64 { return ws.flops }

// Logits returns the output of the last Forward (N x classes).
func (ws *Workspace) Logits() []float32 { return ws.head.logits }

// InputSize is the element count Forward expects: N x 3 x H x W.
func (ws *Workspace) InputSize() int { return ws.N * 3 * ws.H * ws.W }

// checkTrainCounts refuses a training-mode forward whose batch statistics
// would be over a single value (PyTorch refuses it too: the variance is 0
// and the unbiased running variance divides by zero).
func (ws *Workspace) checkTrainCounts() error {
	for i, b := range ws.net.blocks {
		bw := &ws.blocks[i]
		for j, u := range b.units {
			if u.bn.trainable() && bw.units[j].bn.g.Count() < 2 {
				return fmt.Errorf("batch norm %s in training mode needs more than 1 value per channel, got batch %d at %dx%d: use a larger batch or input, or freeze it",
					u.bn.name, ws.N, bw.units[j].conv.OH, bw.units[j].conv.OW)
			}
		}
	}
	return nil
}

var errNoForward = errors.New("backward: no forward pass to differentiate (call Forward first)")
