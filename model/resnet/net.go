package resnet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Param is a trainable tensor of the network: a view into the network's
// contiguous parameter slab, with its gradient at the same offset of the
// gradient slab (so an optimizer or an all-reduce can treat all parameters
// as one vector).
type Param struct {
	Name      string // torchvision's name, e.g. "layer1.0.conv1.weight"
	Shape     []int
	Data      []float32
	Grad      []float32
	Offset    int  // where Data starts in Net.ParamData
	Trainable bool // false when frozen: no gradient is computed for it
}

// Size is the element count.
func (p *Param) Size() int { return len(p.Data) }

// Buffer is a non-trainable float tensor saved with the weights: a batch
// norm's running mean or variance.
type Buffer struct {
	Name  string
	Shape []int
	Data  []float32
}

type conv struct {
	name                      string
	inC, outC, k, stride, pad int
	w                         *Param
}

type batchNorm struct {
	name            string
	c               int
	weight, bias    *Param
	runMean, runVar *Buffer
	batches         int64 // num_batches_tracked
}

// trainable reports whether the layer learns (and so, in training mode,
// normalises with batch statistics); a frozen batch norm runs in eval mode.
func (b *batchNorm) trainable() bool { return b.weight.Trainable || b.bias.Trainable }

// unit is one conv -> batch norm (-> ReLU) step of a block.
type unit struct {
	conv *conv
	bn   *batchNorm
	relu bool // false for the last unit: ReLU comes after the residual add
}

type block struct {
	name   string
	units  []unit
	down   *conv // nil for an identity shortcut
	downBN *batchNorm
}

// Net is a ResNet: its layers, and its parameters in two contiguous slabs
// (values and gradients) laid out in torchvision's state_dict order.
type Net struct {
	Config Config
	Arch   Arch

	ParamData  []float32
	GradData   []float32
	BufferData []float32

	params  []*Param
	buffers []*Buffer
	state   []stateEntry // state_dict order

	stem   unit
	blocks []*block
	// head
	featC    int // channels out of layer4
	fcIn     int
	fcW, fcB *Param

	// Dropout's generator, one per network (so that every workspace of a
	// run draws from the same sequence, which a checkpoint saves).
	dropoutPCG *rand.PCG
	dropoutRNG *rand.Rand
}

// stateEntry is one state_dict item: a parameter, a buffer, or a batch
// norm's num_batches_tracked counter.
type stateEntry struct {
	name    string
	param   *Param
	buffer  *Buffer
	counter *int64
}

// New builds a network for the config and initialises it as torchvision
// does, from cfg.Seed.
func New(cfg Config) (*Net, error) {
	n, b, err := layout(cfg)
	if err != nil {
		return nil, err
	}
	b.allocate()
	n.dropoutPCG = rand.NewPCG(cfg.Seed, 0xd509)
	n.dropoutRNG = rand.New(n.dropoutPCG)
	n.Init(cfg.Seed)
	return n, nil
}

// StateShapes lists the state_dict a network of cfg has (names and
// shapes, in torchvision's order; Data is nil, Param is set for the
// parameters and Counter for each num_batches_tracked) without allocating
// any of its tensors: a reader
// checks a file against it before building the network, so that a file
// declaring a huge network cannot make it allocate more than the file
// holds.
func StateShapes(cfg Config) ([]StateEntry, error) {
	n, _, err := layout(cfg)
	if err != nil {
		return nil, err
	}
	return n.State(), nil
}

// layout builds the network's structure and tensor layout, without
// allocating the tensors.
func layout(cfg Config) (*Net, *builder, error) {
	arch, err := cfg.Validate()
	if err != nil {
		return nil, nil, err
	}
	n := &Net{Config: cfg, Arch: arch}
	b := &builder{net: n}
	d := cfg.WidthDiv

	stemC := 64 / d
	n.stem = unit{conv: b.conv("conv1", 3, stemC, 7, 2, 3), bn: b.bn("bn1", stemC), relu: true}
	inC := stemC
	exp := arch.Block.Expansion()
	for s := 0; s < 4; s++ {
		planes := (64 << s) / d
		for i := 0; i < arch.Blocks[s]; i++ {
			stride := 1
			if s > 0 && i == 0 {
				stride = 2
			}
			name := fmt.Sprintf("layer%d.%d", s+1, i)
			blk := &block{name: name}
			if arch.Block == Basic {
				blk.units = []unit{
					{b.conv(name+".conv1", inC, planes, 3, stride, 1), b.bn(name+".bn1", planes), true},
					{b.conv(name+".conv2", planes, planes, 3, 1, 1), b.bn(name+".bn2", planes), false},
				}
			} else {
				blk.units = []unit{
					{b.conv(name+".conv1", inC, planes, 1, 1, 0), b.bn(name+".bn1", planes), true},
					{b.conv(name+".conv2", planes, planes, 3, stride, 1), b.bn(name+".bn2", planes), true},
					{b.conv(name+".conv3", planes, planes*exp, 1, 1, 0), b.bn(name+".bn3", planes*exp), false},
				}
			}
			if stride != 1 || inC != planes*exp {
				blk.down = b.conv(name+".downsample.0", inC, planes*exp, 1, stride, 0)
				blk.downBN = b.bn(name+".downsample.1", planes*exp)
			}
			n.blocks = append(n.blocks, blk)
			inC = planes * exp
		}
	}
	n.featC = inC
	n.fcIn = inC
	if cfg.Head == HeadNotebook {
		h := (cfg.InputSize/32 + 1) / 2 // 'same' 2x2/2 pooling of the S/32 map
		n.fcIn = inC * h * h
	}
	n.fcW = b.param("fc.weight", cfg.Classes, n.fcIn)
	n.fcB = b.param("fc.bias", cfg.Classes)
	return n, b, nil
}

// builder lays the tensors out in state_dict order, then allocates the slabs.
type builder struct {
	net             *Net
	nParam, nBuffer int
	bufOffsets      []int
}

func (b *builder) param(name string, shape ...int) *Param {
	p := &Param{Name: name, Shape: shape, Offset: b.nParam, Trainable: true}
	b.nParam += prod(shape)
	b.net.params = append(b.net.params, p)
	b.net.state = append(b.net.state, stateEntry{name: name, param: p})
	return p
}

func (b *builder) buffer(name string, shape ...int) *Buffer {
	buf := &Buffer{Name: name, Shape: shape}
	b.bufOffsets = append(b.bufOffsets, b.nBuffer)
	b.nBuffer += prod(shape)
	b.net.buffers = append(b.net.buffers, buf)
	b.net.state = append(b.net.state, stateEntry{name: name, buffer: buf})
	return buf
}

func (b *builder) conv(name string, inC, outC, k, stride, pad int) *conv {
	return &conv{name: name, inC: inC, outC: outC, k: k, stride: stride, pad: pad,
		w: b.param(name+".weight", outC, inC, k, k)}
}

func (b *builder) bn(name string, c int) *batchNorm {
	l := &batchNorm{name: name, c: c}
	l.weight = b.param(name+".weight", c)
	l.bias = b.param(name+".bias", c)
	l.runMean = b.buffer(name+".running_mean", c)
	l.runVar = b.buffer(name+".running_var", c)
	b.net.state = append(b.net.state, stateEntry{name: name + ".num_batches_tracked", counter: &l.batches})
	return l
}

func (b *builder) allocate() {
	n := b.net
	n.ParamData = make([]float32, b.nParam)
	n.GradData = make([]float32, b.nParam)
	for _, p := range n.params {
		p.Data = n.ParamData[p.Offset : p.Offset+prod(p.Shape)]
		p.Grad = n.GradData[p.Offset : p.Offset+prod(p.Shape)]
	}
	n.BufferData = make([]float32, b.nBuffer)
	for i, buf := range n.buffers {
		buf.Data = n.BufferData[b.bufOffsets[i] : b.bufOffsets[i]+prod(buf.Shape)]
	}
}

func prod(shape []int) int {
	p := 1
	for _, s := range shape {
		p *= s
	}
	return p
}

// Params lists the parameters in state_dict order.
func (n *Net) Params() []*Param { return n.params }

// Buffers lists the running statistics in state_dict order.
func (n *Net) Buffers() []*Buffer { return n.buffers }

// Param finds a parameter by name.
func (n *Net) Param(name string) *Param {
	for _, p := range n.params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// NumParams returns the total, trainable and non-trainable (frozen)
// parameter counts, as torchvision counts parameters: ResNet-50 with 1000
// classes has 25,557,032. Batch norm running statistics are buffers, not
// parameters (Keras' summary would add them to the non-trainable count):
// NumBuffers counts them.
func (n *Net) NumParams() (total, trainable, nonTrainable int) {
	for _, p := range n.params {
		if p.Trainable {
			trainable += p.Size()
		} else {
			nonTrainable += p.Size()
		}
	}
	return trainable + nonTrainable, trainable, nonTrainable
}

// NumBuffers counts the elements of the batch norms' running means and
// variances (not num_batches_tracked): 53,120 for ResNet-50.
func (n *Net) NumBuffers() int { return len(n.BufferData) }

// RNGState returns the state of the dropout generator, for a checkpoint.
func (n *Net) RNGState() ([]byte, error) { return n.dropoutPCG.MarshalBinary() }

// SetRNGState restores the dropout generator from RNGState's bytes.
func (n *Net) SetRNGState(b []byte) error {
	if err := n.dropoutPCG.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("dropout generator state: %w", err)
	}
	return nil
}

// ZeroGrad clears every gradient.
func (n *Net) ZeroGrad() { clear(n.GradData) }

// ZeroTrainableGrad clears the gradients of the trainable parameters only
// (frozen ones are never written): with a frozen backbone this is the head's
// few thousand values, not the whole 100 MB slab of ResNet-50.
func (n *Net) ZeroTrainableGrad() {
	for _, p := range n.params {
		if p.Trainable {
			clear(p.Grad)
		}
	}
}

// Init initialises the network as torchvision does: convolutions Kaiming
// normal (fan_out, ReLU gain), batch norm weight 1 and bias 0 with running
// mean 0 and variance 1, and the linear layer as PyTorch's default (uniform
// in +-1/sqrt(fan_in) for weight and bias). The same seed gives the same
// weights on every platform (math/rand/v2's PCG and its normal sampler are
// pure Go).
func (n *Net) Init(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for _, c := range n.convs() {
		std := math.Sqrt(2 / float64(c.outC*c.k*c.k))
		for i := range c.w.Data {
			c.w.Data[i] = float32(rng.NormFloat64() * std)
		}
	}
	for _, b := range n.bns() {
		for i := range b.weight.Data {
			b.weight.Data[i], b.bias.Data[i] = 1, 0
			b.runMean.Data[i], b.runVar.Data[i] = 0, 1
		}
		b.batches = 0
	}
	n.InitHead(rng)
}

// InitHead re-initialises only the classifier (fine-tuning replaces it).
func (n *Net) InitHead(rng *rand.Rand) {
	bound := 1 / math.Sqrt(float64(n.fcIn))
	for i := range n.fcW.Data {
		n.fcW.Data[i] = float32((rng.Float64()*2 - 1) * bound)
	}
	for i := range n.fcB.Data {
		n.fcB.Data[i] = float32((rng.Float64()*2 - 1) * bound)
	}
}

func (n *Net) convs() []*conv {
	c := []*conv{n.stem.conv}
	for _, b := range n.blocks {
		for _, u := range b.units {
			c = append(c, u.conv)
		}
		if b.down != nil {
			c = append(c, b.down)
		}
	}
	return c
}

func (n *Net) bns() []*batchNorm {
	s := []*batchNorm{n.stem.bn}
	for _, b := range n.blocks {
		for _, u := range b.units {
			s = append(s, u.bn)
		}
		if b.downBN != nil {
			s = append(s, b.downBN)
		}
	}
	return s
}

// ConvWeights lists the convolution kernels (for a max-norm constraint).
func (n *Net) ConvWeights() []*Param {
	var ps []*Param
	for _, c := range n.convs() {
		ps = append(ps, c.w)
	}
	return ps
}

// FreezeUnits are the groups that freezing works on, bottom to top.
var FreezeUnits = []string{"conv1", "layer1", "layer2", "layer3", "layer4", "fc"}

// SetTrainable marks every parameter trainable, then freezes those under the
// given prefixes. A prefix matches a name at a dot boundary ("layer1"
// matches "layer1.0.conv1.weight", not "layer10..."); "conv1" means the
// whole stem (conv1 and bn1), since torchvision names them apart. A prefix
// that matches nothing is an error, so a typo cannot silently train
// everything.
func (n *Net) SetTrainable(frozen []string) error {
	for _, p := range n.params {
		p.Trainable = true
	}
	for _, pre := range frozen {
		pre = strings.TrimSuffix(strings.TrimSpace(pre), ".")
		if pre == "" {
			continue
		}
		hit := false
		for _, p := range n.params {
			if matchPrefix(p.Name, pre) || (pre == "conv1" && matchPrefix(p.Name, "bn1")) || pre == "all" {
				p.Trainable = false
				hit = true
			}
		}
		if !hit {
			return fmt.Errorf("freeze: %q matches no parameter (groups: %s; or any name prefix such as layer4.2)", pre, strings.Join(FreezeUnits, ", "))
		}
	}
	return nil
}

// FreezeBelow freezes every group below the named one (HeadOnly is
// FreezeBelow("fc")).
func (n *Net) FreezeBelow(group string) error {
	for i, u := range FreezeUnits {
		if u == group {
			return n.SetTrainable(FreezeUnits[:i])
		}
	}
	return fmt.Errorf("freeze: unknown group %q (have %s)", group, strings.Join(FreezeUnits, ", "))
}

func matchPrefix(name, pre string) bool {
	return name == pre || strings.HasPrefix(name, pre+".")
}

// StateEntry is one item of the network's state_dict, in torchvision's
// naming: a parameter or a running statistic (Data), or a batch norm's
// num_batches_tracked (Counter, an int64 in PyTorch).
type StateEntry struct {
	Name    string
	Shape   []int // nil for the 0-d counter
	Data    []float32
	Counter *int64
	Param   *Param // set for parameters
}

// State lists the state_dict in torchvision's order.
func (n *Net) State() []StateEntry {
	s := make([]StateEntry, len(n.state))
	for i, e := range n.state {
		switch {
		case e.param != nil:
			s[i] = StateEntry{Name: e.name, Shape: e.param.Shape, Data: e.param.Data, Param: e.param}
		case e.buffer != nil:
			s[i] = StateEntry{Name: e.name, Shape: e.buffer.Shape, Data: e.buffer.Data}
		default:
			s[i] = StateEntry{Name: e.name, Counter: e.counter}
		}
	}
	return s
}
