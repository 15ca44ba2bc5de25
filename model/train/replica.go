package train

import (
	"fmt"
	"strings"
)

// Replica makes a Trainer one of Size synchronous data-parallel replicas
// (the browser's Web Workers, each holding a copy of the network). Every
// replica reads the same batches in the same order and trains on its part
// of each (data.LoaderConfig.Part and Parts: Rank of Size); before every
// optimizer step the group sums the gradients (each scaled by its part's
// share of the batch, so the sum is the whole batch's gradient), the
// loss and accuracy counts, and the running statistics of the batch
// norms that learn, which are then averaged. Every replica then takes the
// same step from the same numbers, so the replicas stay identical.
//
// Batch norms in training mode normalise with their own part's
// statistics, as PyTorch's DistributedDataParallel does without
// SyncBatchNorm. With them frozen (eval mode, the fine-tuning default) the
// group computes exactly the update one trainer would on whole batches,
// up to float rounding.
type Replica struct {
	Rank, Size int
	// AllReduce sums each slice element-wise across the replicas, in
	// place. Every replica calls it at the same points of the loop with
	// slices of the same lengths.
	AllReduce func(bufs ...[]float32) error
	// Capacity is the most floats one AllReduce call may carry (0: no
	// limit); longer exchanges (the feature cache's) are cut to fit.
	Capacity int
}

// ReduceFloats is the longest AllReduce a replica of this trainer makes
// at a step or an evaluation: the capacity that carries each in one call
// (the feature cache's exchange is cut to any capacity).
func (t *Trainer) ReduceFloats() int {
	lo, hi := t.gradRange()
	c := t.Net.Config.Classes
	return max((hi-lo)+t.bnFloats()+3, 4+c*c)
}

// gradRange is the part of the gradient slab that covers every trainable
// parameter (frozen ones inside it have zero gradients).
func (t *Trainer) gradRange() (lo, hi int) {
	lo, hi = len(t.Net.GradData), 0
	for _, p := range t.Net.Params() {
		if p.Trainable {
			lo = min(lo, p.Offset)
			hi = max(hi, p.Offset+p.Size())
		}
	}
	if hi < lo {
		return 0, 0
	}
	return lo, hi
}

// trainingBNBuffers lists the running statistics of the batch norms that
// learn (and so update them from batch statistics in training mode).
func (t *Trainer) trainingBNBuffers() [][]float32 {
	var out [][]float32
	for _, b := range t.Net.Buffers() {
		layer := strings.TrimSuffix(strings.TrimSuffix(b.Name, ".running_mean"), ".running_var")
		w, bias := t.Net.Param(layer+".weight"), t.Net.Param(layer+".bias")
		if (w != nil && w.Trainable) || (bias != nil && bias.Trainable) {
			out = append(out, b.Data)
		}
	}
	return out
}

func (t *Trainer) bnFloats() int {
	n := 0
	for _, b := range t.trainingBNBuffers() {
		n += len(b)
	}
	return n
}

// allReduce sums bufs across the group, one call if they fit the
// capacity, else buffer by buffer in chunks.
func (t *Trainer) allReduce(bufs ...[]float32) error {
	r := t.Replica
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if r.Capacity <= 0 || total <= r.Capacity {
		return r.AllReduce(bufs...)
	}
	for _, b := range bufs {
		for lo := 0; lo < len(b); lo += r.Capacity {
			if err := r.AllReduce(b[lo:min(len(b), lo+r.Capacity)]); err != nil {
				return err
			}
		}
	}
	return nil
}

// reduceStep sums the pending gradients, counts and running statistics
// across the group before an optimizer step.
func (t *Trainer) reduceStep() error {
	lo, hi := t.gradRange()
	bufs := [][]float32{t.Net.GradData[lo:hi]}
	// The running statistics of learning batch norms, gathered into one
	// scratch vector (and scattered back as averages below).
	bn := t.trainingBNBuffers()
	t.bnScratch = t.bnScratch[:0]
	for _, b := range bn {
		t.bnScratch = append(t.bnScratch, b...)
	}
	if len(t.bnScratch) > 0 {
		bufs = append(bufs, t.bnScratch)
	}
	t.statsVec = append(t.statsVec[:0], float32(t.pendLoss), float32(t.pendSeen), float32(t.pendRight))
	bufs = append(bufs, t.statsVec)
	if err := t.allReduce(bufs...); err != nil {
		return fmt.Errorf("train: summing gradients across the workers: %w", err)
	}
	inv := 1 / float32(t.Replica.Size)
	off := 0
	for _, b := range bn {
		for i := range b {
			b[i] = t.bnScratch[off+i] * inv
		}
		off += len(b)
	}
	t.Partial.LossSum += float64(t.statsVec[0])
	t.Partial.Seen += int(t.statsVec[1])
	t.Partial.Correct += int(t.statsVec[2])
	t.pendLoss, t.pendSeen, t.pendRight = 0, 0, 0
	return nil
}

// gatherFeatures gives every replica the cached features of the examples
// that the others ran through the backbone this epoch (order is the
// epoch's order, the same in every replica): each fills the rows of its
// own examples in a table of zeros and the group sums the table, chunk by
// chunk (a sum with zeros is exact).
func (t *Trainer) gatherFeatures(order []int) error {
	if t.Replica == nil || t.Replica.Size <= 1 || !t.useCache {
		return nil
	}
	mine := make(map[int]bool, len(t.epochSeen))
	for _, i := range t.epochSeen {
		mine[i] = true
	}
	fs := 0
	for _, f := range t.cache {
		fs = len(f)
		break
	}
	// Every replica must agree on the feature size even if it has none.
	fsv := []float32{float32(fs)}
	if err := t.Replica.AllReduce(fsv); err != nil {
		return err
	}
	fs = int(fsv[0]) / t.Replica.Size
	if fs == 0 {
		return nil
	}
	row := fs + 2 // features, the label, and 1 when a replica filled the row
	rows := len(order)
	per := rows
	if c := t.Replica.Capacity; c > 0 {
		per = max(1, c/row)
	}
	table := make([]float32, min(per, rows)*row)
	for r0 := 0; r0 < rows; r0 += per {
		r1 := min(rows, r0+per)
		tb := table[:(r1-r0)*row]
		clear(tb)
		for k := r0; k < r1; k++ {
			if idx := order[k]; mine[idx] {
				copy(tb[(k-r0)*row:], t.cache[idx])
				tb[(k-r0)*row+fs] = float32(t.cacheLbl[idx])
				tb[(k-r0)*row+fs+1] = 1
			}
		}
		if err := t.Replica.AllReduce(tb); err != nil {
			return fmt.Errorf("train: sharing cached features across the workers: %w", err)
		}
		for k := r0; k < r1; k++ {
			idx := order[k]
			if mine[idx] || tb[(k-r0)*row+fs+1] == 0 {
				continue // ours, or nobody's this epoch (a resumed epoch's skipped batches)
			}
			t.cache[idx] = append([]float32(nil), tb[(k-r0)*row:(k-r0)*row+fs]...)
			t.cacheLbl[idx] = int(tb[(k-r0)*row+fs])
		}
	}
	t.epochSeen = t.epochSeen[:0]
	return nil
}

// cachedAll reports whether every example of order has cached features.
func (t *Trainer) cachedAll(order []int) bool {
	if !t.useCache {
		return false
	}
	for _, i := range order {
		if _, ok := t.cache[i]; !ok {
			return false
		}
	}
	return true
}
