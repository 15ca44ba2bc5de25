package data

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"

	"github.com/goresnet/goresnet/model/data/augment"
	"github.com/goresnet/goresnet/model/data/shard"
)

// LoaderConfig configures the input pipeline for one split.
type LoaderConfig struct {
	// Split names a split, optionally sliced as tfds writes it:
	// "test[:10%]", "train[1000:]" (the slice is of the split's records in
	// stored order, taken before any shuffling).
	Split     string
	BatchSize int
	// Shuffle reorders the examples every epoch, seeded by (Seed, epoch):
	// the shard order is permuted, and the records of ShuffleShards shards
	// at a time are permuted together.
	Shuffle bool
	Seed    uint64
	// ShuffleShards is how many shards are mixed at once; 0 picks every
	// shard of the split when it fits MemoryBudget, else as many as fit
	// (at least 2).
	ShuffleShards int
	// MemoryBudget bounds the shard bytes held at once when picking
	// ShuffleShards (default 1 GiB).
	MemoryBudget int64
	// DropRemainder drops a last, smaller batch.
	DropRemainder bool
	// Size is the output height and width (default: the stored size).
	Size int
	// Augment are the random augmentations (the zero value does none).
	Augment augment.Config
	// Norm is the normalisation (default: ImageNet mean/std).
	Norm augment.Norm
	// Prefetch is how many batches a goroutine prepares ahead of the
	// caller; 0 prepares each batch in Next. Shards are always fetched
	// ahead: the next group while the current one is consumed.
	Prefetch int
	// Workers is how many goroutines prepare the images of one batch
	// (default 1).
	Workers int
	// Part and Parts make the loader yield only part Part (from 0) of
	// Parts of every batch: of a batch of n examples, those from
	// Part*n/Parts to (Part+1)*n/Parts. Data-parallel replicas each take
	// their part of the same batches (the order, and every example's
	// augmentation, do not depend on the part). Parts 0 or 1: whole
	// batches.
	Part, Parts int
}

// Batch is one batch of network input.
type Batch struct {
	X       []float32 // N x 3 x H x W
	Labels  []int
	Index   []int // each example's record index in the split
	N, H, W int
	// Total is the size of the whole batch this one is a part of (see
	// LoaderConfig.Parts); N without parts.
	Total int
}

// Loader is the input pipeline of one split of a dataset.
type Loader struct {
	ds      *Dataset
	cfg     LoaderConfig
	split   *Split
	first   []int // first record index of each shard
	lo, hi  int   // the slice of the split's records this loader reads
	total   int
	window  int
	storedH int
	storedW int
}

// NewLoader checks the configuration against the dataset.
func NewLoader(ds *Dataset, cfg LoaderConfig) (*Loader, error) {
	spec, err := ParseSplitSpec(cfg.Split)
	if err != nil {
		return nil, err
	}
	if len(spec.Parts) != 1 {
		return nil, fmt.Errorf("split %q: a loader reads one split (combine splits at import time with --split)", cfg.Split)
	}
	part := spec.Parts[0]
	sp, err := ds.Manifest.Split(part.Split)
	if err != nil {
		return nil, err
	}
	cfg.Split = part.Split // shards are fetched by the split's own name
	if cfg.BatchSize < 1 {
		return nil, fmt.Errorf("batch size %d", cfg.BatchSize)
	}
	im := ds.Manifest.Image
	if cfg.Size == 0 {
		if im.Height != im.Width {
			return nil, fmt.Errorf("dataset %s stores %dx%d images: give an output size", ds.Manifest.Name, im.Width, im.Height)
		}
		cfg.Size = im.Height
	}
	if cfg.Norm.Std == [3]float32{} {
		cfg.Norm = augment.ImageNet
	}
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.MemoryBudget <= 0 {
		cfg.MemoryBudget = 1 << 30
	}
	if cfg.Parts <= 1 {
		cfg.Part, cfg.Parts = 0, 1
	}
	if cfg.Part < 0 || cfg.Part >= cfg.Parts {
		return nil, fmt.Errorf("loader part %d of %d", cfg.Part, cfg.Parts)
	}
	if cfg.BatchSize < cfg.Parts {
		return nil, fmt.Errorf("a batch of %d cannot be split into %d parts", cfg.BatchSize, cfg.Parts)
	}
	l := &Loader{ds: ds, cfg: cfg, split: sp, storedH: im.Height, storedW: im.Width}
	var bytes int64
	n := 0
	for _, s := range sp.Shards {
		l.first = append(l.first, n)
		n += s.Records
		bytes += s.Bytes
	}
	l.lo, l.hi = part.Range(n)
	l.total = l.hi - l.lo
	if l.total <= 0 {
		return nil, fmt.Errorf("split %q of dataset %s is empty", spec.Text, ds.Manifest.Name)
	}
	l.window = cfg.ShuffleShards
	if l.window <= 0 {
		l.window = len(sp.Shards)
		if bytes > cfg.MemoryBudget && len(sp.Shards) > 0 {
			l.window = max(2, int(cfg.MemoryBudget/(bytes/int64(len(sp.Shards)))))
		}
	}
	l.window = max(1, l.window)
	return l, nil
}

// Config returns the configuration with defaults filled in.
func (l *Loader) Config() LoaderConfig { return l.cfg }

// Len is the number of examples an epoch yields.
func (l *Loader) Len() int {
	if l.cfg.DropRemainder {
		return l.total / l.cfg.BatchSize * l.cfg.BatchSize
	}
	return l.total
}

// Batches is the number of batches an epoch yields.
func (l *Loader) Batches() int {
	if l.cfg.DropRemainder {
		return l.total / l.cfg.BatchSize
	}
	return (l.total + l.cfg.BatchSize - 1) / l.cfg.BatchSize
}

// ref is one record: a shard (index in the split) and a record in it.
type ref struct{ shard, rec int32 }

// Order returns the epoch's example order and its shard groups: the
// shards (permuted when shuffling) taken ShuffleShards at a time, the
// records of each group permuted together.
func (l *Loader) Order(epoch int) (order []ref, groups [][]int32) {
	// The shards that hold records of the slice (a sliced split does not
	// fetch the others).
	var shards []int32
	for i, sh := range l.split.Shards {
		if l.first[i] < l.hi && l.first[i]+sh.Records > l.lo {
			shards = append(shards, int32(i))
		}
	}
	n := len(shards)
	var r *rand.Rand
	if l.cfg.Shuffle {
		r = rand.New(rand.NewPCG(l.cfg.Seed^0x5348554646, uint64(epoch)))
		r.Shuffle(n, func(i, j int) { shards[i], shards[j] = shards[j], shards[i] })
	}
	order = make([]ref, 0, l.total)
	for g := 0; g*l.window < n; g++ {
		start := len(order)
		grp := shards[g*l.window : min(n, (g+1)*l.window)]
		groups = append(groups, grp)
		for _, s := range grp {
			// Only the records of the slice [lo, hi).
			first := l.first[s]
			k0 := max(0, l.lo-first)
			k1 := min(l.split.Shards[s].Records, l.hi-first)
			for k := k0; k < k1; k++ {
				order = append(order, ref{s, int32(k)})
			}
		}
		if r != nil {
			part := order[start:]
			r.Shuffle(len(part), func(i, j int) { part[i], part[j] = part[j], part[i] })
		}
	}
	return order, groups
}

// OrderIndex returns the epoch's order as record indices in the split.
func (l *Loader) OrderIndex(epoch int) []int {
	order, _ := l.Order(epoch)
	idx := make([]int, len(order))
	for i, o := range order {
		idx[i] = l.first[o.shard] + int(o.rec)
	}
	return idx
}

// EpochIndex returns the record indices an epoch trains on, in order:
// OrderIndex without the examples a dropped remainder leaves out.
func (l *Loader) EpochIndex(epoch int) []int {
	return l.OrderIndex(epoch)[:l.Len()]
}

// PartRange is the part of a batch of n examples that this loader's part
// takes: [lo, hi).
func (l *Loader) PartRange(n int) (lo, hi int) {
	return PartRange(n, l.cfg.Part, l.cfg.Parts)
}

// PartRange is part k of parts of n items: [k*n/parts, (k+1)*n/parts).
func PartRange(n, k, parts int) (lo, hi int) {
	if parts <= 1 {
		return 0, n
	}
	return k * n / parts, (k + 1) * n / parts
}

// future is a shard being fetched.
type future struct {
	done chan struct{}
	s    *shard.Shard
	err  error
}

// Iterator yields the batches of one epoch.
type Iterator struct {
	l       *Loader
	ctx     context.Context
	cancel  context.CancelFunc
	epoch   int
	order   []ref
	groups  [][]int32
	groupOf []int // shard -> its group this epoch
	pos     int
	loaded  map[int32]*future
	loadG   int // highest group whose fetch has started
	shards  []*shard.Shard

	// Synchronous mode.
	buf *Batch
	// Prefetch mode.
	ready   chan batchOrErr
	free    chan *Batch
	prev    *Batch
	err     error // the first error, returned again by later calls
	wg      sync.WaitGroup
	workers []worker
}

type batchOrErr struct {
	b   *Batch
	err error
}

type worker struct {
	pcg     rand.PCG
	r       *rand.Rand
	scratch augment.Scratch
}

// Epoch starts an epoch. Close the iterator when done with it early.
func (l *Loader) Epoch(ctx context.Context, epoch int) *Iterator {
	ctx, cancel := context.WithCancel(ctx)
	it := &Iterator{l: l, ctx: ctx, cancel: cancel, epoch: epoch, loaded: map[int32]*future{}, loadG: -1}
	it.order, it.groups = l.Order(epoch)
	it.groupOf = make([]int, len(l.split.Shards))
	for g, grp := range it.groups {
		for _, s := range grp {
			it.groupOf[s] = g
		}
	}
	it.shards = make([]*shard.Shard, l.cfg.BatchSize)
	it.workers = make([]worker, l.cfg.Workers)
	for i := range it.workers {
		it.workers[i].r = rand.New(&it.workers[i].pcg)
	}
	if l.cfg.Prefetch > 0 {
		it.ready = make(chan batchOrErr, l.cfg.Prefetch)
		it.free = make(chan *Batch, l.cfg.Prefetch+2)
		for range l.cfg.Prefetch + 2 {
			it.free <- l.newBatch()
		}
		it.wg.Add(1)
		go it.produce()
	} else {
		it.buf = l.newBatch()
	}
	return it
}

func (l *Loader) newBatch() *Batch {
	lo, hi := l.PartRange(l.cfg.BatchSize)
	n, s := max(hi-lo, 1), l.cfg.Size
	return &Batch{X: make([]float32, n*3*s*s), Labels: make([]int, n), Index: make([]int, n), H: s, W: s}
}

// Next returns the next batch, or io.EOF after the last. The batch (and
// its slices) stays valid until the next call to Next.
func (it *Iterator) Next() (*Batch, error) {
	if it.err != nil {
		return nil, it.err
	}
	if it.ready == nil {
		if err := it.fill(it.buf); err != nil {
			if err != io.EOF {
				it.err = err
			}
			return nil, err
		}
		return it.buf, nil
	}
	if it.prev != nil {
		it.free <- it.prev
		it.prev = nil
	}
	select {
	case r, ok := <-it.ready:
		if !ok {
			return nil, io.EOF
		}
		if r.err != nil {
			it.err = r.err
			return nil, r.err
		}
		it.prev = r.b
		return r.b, nil
	case <-it.ctx.Done():
		return nil, it.ctx.Err()
	}
}

// Close stops the prefetching goroutines and releases the shards.
func (it *Iterator) Close() {
	it.cancel()
	if it.ready != nil {
		for range it.ready {
		}
	}
	it.wg.Wait()
	it.loaded = nil
}

func (it *Iterator) produce() {
	defer it.wg.Done()
	defer close(it.ready)
	for {
		var b *Batch
		select {
		case b = <-it.free:
		case <-it.ctx.Done():
			return
		}
		err := it.fill(b)
		if err == io.EOF {
			return
		}
		select {
		case it.ready <- batchOrErr{b, err}:
		case <-it.ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// fetchGroup starts fetching the shards of group g.
func (it *Iterator) fetchGroup(g int) {
	if g >= len(it.groups) {
		return
	}
	for _, s := range it.groups[g] {
		if _, ok := it.loaded[s]; ok {
			continue
		}
		f := &future{done: make(chan struct{})}
		it.loaded[s] = f
		go func() {
			defer close(f.done)
			f.s, f.err = it.l.ds.Shard(it.ctx, it.l.cfg.Split, int(s))
		}()
	}
}

// shardFor returns the loaded shard s, waiting for its fetch.
func (it *Iterator) shardFor(s int32) (*shard.Shard, error) {
	f := it.loaded[s]
	select {
	case <-f.done:
	case <-it.ctx.Done():
		return nil, it.ctx.Err()
	}
	return f.s, f.err
}

// fill prepares the next batch into b.
func (it *Iterator) fill(b *Batch) error {
	l := it.l
	if it.pos >= len(it.order) {
		return io.EOF
	}
	n := min(l.cfg.BatchSize, len(it.order)-it.pos)
	if n < l.cfg.BatchSize && l.cfg.DropRemainder {
		it.pos = len(it.order)
		return io.EOF
	}
	// Shards: the groups this batch touches, and the one after.
	gLast := it.groupOf[it.order[it.pos+n-1].shard]
	for g := it.loadG + 1; g <= gLast+1; g++ {
		it.fetchGroup(g)
		it.loadG = g
	}
	// Release the shards of groups already passed.
	g0 := it.groupOf[it.order[it.pos].shard]
	for s := range it.loaded {
		if it.groupOf[s] < g0 {
			delete(it.loaded, s)
		}
	}
	// This loader's part of the batch.
	total := n
	lo, hi := l.PartRange(n)
	n = hi - lo
	start := it.pos + lo
	shards := it.shards[:n]
	for i := range n {
		s, err := it.shardFor(it.order[start+i].shard)
		if err != nil {
			return err
		}
		shards[i] = s
	}
	b.N, b.Total = n, total
	sz := l.cfg.Size
	per := 3 * sz * sz
	b.X = b.X[:n*per]
	b.Labels, b.Index = b.Labels[:n], b.Index[:n]
	work := func(w *worker, lo, hi int) {
		for i := lo; i < hi; i++ {
			o := it.order[start+i]
			label, pix := shards[i].Record(int(o.rec))
			b.Labels[i] = int(label)
			b.Index[i] = l.first[o.shard] + int(o.rec)
			src := augment.Image{H: l.storedH, W: l.storedW, Pix: pix}
			augment.SeedPCG(&w.pcg, l.cfg.Seed, it.epoch, b.Index[i])
			p := l.cfg.Augment.Sample(w.r, src.H, src.W)
			w.scratch.Apply(b.X[i*per:(i+1)*per], sz, sz, src, p, l.cfg.Norm)
		}
	}
	if nw := min(len(it.workers), n); nw <= 1 {
		work(&it.workers[0], 0, n)
	} else {
		var wg sync.WaitGroup
		for k := range nw {
			wg.Add(1)
			go func() {
				defer wg.Done()
				work(&it.workers[k], k*n/nw, (k+1)*n/nw)
			}()
		}
		wg.Wait()
	}
	it.pos += total
	return nil
}
