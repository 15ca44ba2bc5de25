// Package allreduce sums float32 vectors across the browser's training
// workers, through one SharedArrayBuffer that the page creates and posts
// to each of them, synchronised with Atomics. It is the Replica.AllReduce
// of model/train in the browser.
//
// One AllReduce of n floats, by the worker of rank r of K:
//
//  1. copy its vector into its slot of the shared buffer (one
//     CopyBytesToJS of the whole vector);
//  2. barrier; the last worker to arrive publishes the page's command
//     (run, pause, stop), so every worker sees the same one at the same
//     step;
//  3. reduce-scatter: sum chunk r (n/K floats) over the K slots into the
//     result (a JavaScript loop, assets/web/allreduce.js);
//  4. barrier;
//  5. all-gather: copy the whole result back (one CopyBytesToGo).
//
// Every chunk is summed by one worker, in slot order, so every worker
// gets the same bits. A worker waiting at a barrier blocks in Atomics.wait
// (in short slices, checking the abort word that the page or a failing
// worker sets, so that nobody waits forever for a worker that died).
//
// The protocol is portable Go over the Shared interface: Memory
// implements it natively (tests run K goroutines), and NewJS on a
// SharedArrayBuffer under js/wasm.
package allreduce

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Command is what the page asks the training workers to do; the workers
// act on it together at their next AllReduce.
type Command int32

const (
	Run Command = iota
	Pause
	Stop
)

func (c Command) String() string {
	switch c {
	case Run:
		return "run"
	case Pause:
		return "pause"
	case Stop:
		return "stop"
	}
	return fmt.Sprintf("command(%d)", int32(c))
}

// Control words (int32) at the start of the shared buffer.
const (
	WordCount    = 0 // arrivals at the current barrier
	WordGen      = 1 // barrier generation
	WordCommand  = 2 // the page's command
	WordDecision = 3 // the command the last arrival saw
	WordAbort    = 4 // 0, or who aborted: 1+rank of a failed worker, or AbortByPage
	WordSize     = 5
	WordCapacity = 6
	WordMagic    = 7
	ControlWords = 16

	// Magic marks an initialised buffer.
	Magic = 0x67727231 // "grr1"
	// AbortByPage is WordAbort's value when the page aborts (a worker
	// died, or the person closed the run).
	AbortByPage = 1 << 20
	// MaxSize is the most workers a buffer serves.
	MaxSize = 64
)

// Layout is where things are in the shared buffer, in bytes.
type Layout struct {
	Size, Capacity int // workers, floats per vector
}

// Checksums is the offset of the per-worker float64 checksums.
func (l Layout) Checksums() int { return ControlWords * 4 }

// Slot is the offset of worker k's slot (Capacity float32s).
func (l Layout) Slot(k int) int { return l.Checksums() + MaxSize*8 + k*l.Capacity*4 }

// Result is the offset of the summed vector.
func (l Layout) Result() int { return l.Slot(l.Size) }

// Bytes is the buffer's size.
func (l Layout) Bytes() int { return l.Result() + l.Capacity*4 }

// Shared is the shared buffer's operations: atomic control words, and
// bulk copies and sums of the float slots.
type Shared interface {
	Layout() Layout
	Load(word int) int32
	Store(word int, v int32)
	Add(word int, delta int32) int32 // returns the new value
	// Wait blocks while word holds v, at most timeout (or until a Notify).
	Wait(word int, v int32, timeout time.Duration)
	Notify(word int)
	// Write copies src into slot k at float offset off; Read copies the
	// result from float offset off into dst. Each is one copy.
	Write(k, off int, src []float32)
	Read(off int, dst []float32)
	// Sum sets result[lo:hi] to the sum over the slots of [lo:hi], in slot
	// order.
	Sum(lo, hi int)
	SetChecksum(k int, v float64)
	Checksum(k int) float64
}

// Init prepares a fresh buffer (the page does, before posting it).
func Init(s Shared) {
	l := s.Layout()
	s.Store(WordSize, int32(l.Size))
	s.Store(WordCapacity, int32(l.Capacity))
	s.Store(WordCommand, int32(Run))
	s.Store(WordMagic, Magic)
}

// SetCommand is the page's side: ask the workers to run, pause or stop
// (they act on it at their next AllReduce, all at the same step).
func SetCommand(s Shared, c Command) {
	s.Store(WordCommand, int32(c))
	s.Notify(WordCommand)
}

// Abort makes every worker waiting at (or arriving at) a barrier give up
// with an error naming who aborted: the page, or 1+rank of a worker.
func Abort(s Shared, who int32) {
	s.Store(WordAbort, who)
	s.Notify(WordGen)
	s.Notify(WordCommand)
}

// Group is one worker's view of the shared buffer.
type Group struct {
	s                    Shared
	Rank, Size, Capacity int
	// Yield, if set, runs between slices of waiting (e.g. to let other
	// goroutines of the worker run).
	Yield func()
	// Slice is how long one Atomics.wait lasts before the abort word is
	// checked again (default 20 ms).
	Slice time.Duration
	// Timeout bounds a barrier (default: none; the page aborts instead).
	Timeout time.Duration

	decision Command
	check    float64
	checking bool
	Reduces  int // AllReduce calls so far
}

// NewGroup joins the shared buffer as worker rank.
func NewGroup(s Shared, rank int) (*Group, error) {
	l := s.Layout()
	if s.Load(WordMagic) != Magic {
		return nil, errors.New("allreduce: the shared buffer is not initialised")
	}
	if int(s.Load(WordSize)) != l.Size || int(s.Load(WordCapacity)) != l.Capacity {
		return nil, fmt.Errorf("allreduce: the buffer says %d workers of %d floats, its layout %d of %d", s.Load(WordSize), s.Load(WordCapacity), l.Size, l.Capacity)
	}
	if rank < 0 || rank >= l.Size || l.Size > MaxSize {
		return nil, fmt.Errorf("allreduce: rank %d of %d workers", rank, l.Size)
	}
	return &Group{s: s, Rank: rank, Size: l.Size, Capacity: l.Capacity, Slice: 20 * time.Millisecond}, nil
}

// AbortedError says that the group gave up because a worker failed or
// the page stopped it.
type AbortedError struct{ Who int32 }

func (e *AbortedError) Error() string {
	if e.Who == AbortByPage {
		return "training was stopped by the page (a worker failed or the run was closed)"
	}
	return fmt.Sprintf("worker %d failed: the others stopped with it", e.Who-1)
}

// ChecksumError reports replicas that are no longer identical.
type ChecksumError struct {
	Rank, Other int
	Mine, Their float64
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("the replicas differ: worker %d's weights sum to %v, worker %d's to %v", e.Rank, e.Mine, e.Other, e.Their)
}

// Chunk is worker k's part of n floats to sum: [lo, hi), 16-float aligned.
func Chunk(n, k, size int) (lo, hi int) {
	const align = 16
	blocks := (n + align - 1) / align
	lo = min(n, k*blocks/size*align)
	hi = min(n, (k+1)*blocks/size*align)
	return lo, hi
}

// CheckNext makes the next AllReduce also compare v (e.g. a sum of the
// weights) across the workers: they must all have the same.
func (g *Group) CheckNext(v float64) { g.check, g.checking = v, true }

// AllReduce sums bufs element-wise across the group, in place (their total
// length must fit the capacity). Every worker calls it at the same point
// with buffers of the same lengths.
func (g *Group) AllReduce(bufs ...[]float32) error {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	if n > g.Capacity {
		return fmt.Errorf("allreduce: %d floats do not fit the shared buffer's %d", n, g.Capacity)
	}
	off := 0
	for _, b := range bufs {
		g.s.Write(g.Rank, off, b)
		off += len(b)
	}
	checking := g.checking
	if checking {
		g.s.SetChecksum(g.Rank, g.check)
		g.checking = false
	}
	if err := g.barrier(true); err != nil {
		return err
	}
	if checking {
		for k := 0; k < g.Size; k++ {
			if v := g.s.Checksum(k); math.Float64bits(v) != math.Float64bits(g.check) {
				Abort(g.s, int32(g.Rank+1))
				return &ChecksumError{Rank: g.Rank, Other: k, Mine: g.check, Their: v}
			}
		}
	}
	lo, hi := Chunk(n, g.Rank, g.Size)
	if hi > lo {
		g.s.Sum(lo, hi)
	}
	if err := g.barrier(false); err != nil {
		return err
	}
	off = 0
	for _, b := range bufs {
		g.s.Read(off, b)
		off += len(b)
	}
	g.Reduces++
	return nil
}

// barrier waits until every worker arrives; with decide, the last one
// publishes the page's command, which every worker then reads.
func (g *Group) barrier(decide bool) error {
	s := g.s
	if a := s.Load(WordAbort); a != 0 {
		return &AbortedError{a}
	}
	gen := s.Load(WordGen)
	if s.Add(WordCount, 1) == int32(g.Size) {
		s.Store(WordCount, 0)
		if decide {
			s.Store(WordDecision, s.Load(WordCommand))
		}
		s.Add(WordGen, 1)
		s.Notify(WordGen)
	} else {
		var deadline time.Time
		if g.Timeout > 0 {
			deadline = time.Now().Add(g.Timeout)
		}
		for s.Load(WordGen) == gen {
			if a := s.Load(WordAbort); a != 0 {
				return &AbortedError{a}
			}
			if !deadline.IsZero() && time.Now().After(deadline) {
				return fmt.Errorf("allreduce: worker %d waited %v for the others", g.Rank, g.Timeout)
			}
			s.Wait(WordGen, gen, g.Slice)
			if g.Yield != nil {
				g.Yield()
			}
		}
	}
	if decide {
		if d := Command(s.Load(WordDecision)); d != Run {
			g.decision = d
		}
	}
	return nil
}

// TakeDecision returns the command decided at the last AllReduce (or
// Hold) that was not Run, and forgets it.
func (g *Group) TakeDecision() Command {
	d := g.decision
	g.decision = Run
	return d
}

// Hold is what workers do after a Pause decision: wait, calling sleep
// between looks at the page's command (sleep should return to the event
// loop, so the worker answers messages while paused), until the command
// is no longer Pause; then agree with the others, at a barrier, on what
// comes next. It returns Run or Stop.
func (g *Group) Hold(sleep func()) (Command, error) {
	for {
		for Command(g.s.Load(WordCommand)) == Pause {
			if a := g.s.Load(WordAbort); a != 0 {
				return Run, &AbortedError{a}
			}
			sleep()
		}
		if err := g.barrier(true); err != nil {
			return Run, err
		}
		if d := g.TakeDecision(); d != Pause {
			return d, nil
		}
	}
}

// Aborted reports who aborted the group (0: nobody).
func (g *Group) Aborted() int32 { return g.s.Load(WordAbort) }

// Abort gives up on the group as this worker (after an error), so the
// others stop waiting for it.
func (g *Group) Abort() { Abort(g.s, int32(g.Rank+1)) }
