package allreduce

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// runGroup runs fn on size goroutines, one Group each, and returns their
// errors.
func runGroup(t *testing.T, s func() Shared, size int, fn func(g *Group) error) []error {
	t.Helper()
	errs := make([]error, size)
	var wg sync.WaitGroup
	for r := range size {
		g, err := NewGroup(s(), r)
		if err != nil {
			t.Fatal(err)
		}
		g.Yield = runtime.Gosched
		g.Slice = time.Millisecond
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[r] = fn(g)
		}()
	}
	wg.Wait()
	return errs
}

// vector is worker r's input of round k.
func vector(r, k, n int) []float32 {
	rng := rand.New(rand.NewPCG(uint64(r), uint64(k)))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// testSums: every worker gets the float64 sum of the inputs, rounded once,
// bit for bit, for lengths that do and do not divide into chunks, split
// over several buffers.
func testSums(t *testing.T, s func(size, capacity int) Shared) {
	for _, size := range []int{1, 2, 3, 4} {
		sh := s(size, 1000)
		for _, n := range []int{1, 17, 64, 999, 1000} {
			outs := make([][]float32, size)
			errs := runGroup(t, func() Shared { return sh }, size, func(g *Group) error {
				for round := range 3 {
					v := vector(g.Rank, round, n)
					a, b := v[:n/3], v[n/3:]
					if err := g.AllReduce(a, b); err != nil {
						return err
					}
					if round == 2 {
						outs[g.Rank] = v
					}
				}
				return nil
			})
			for r, err := range errs {
				if err != nil {
					t.Fatalf("size %d, n %d, worker %d: %v", size, n, r, err)
				}
			}
			for i := range n {
				var want float64
				for r := range size {
					want += float64(vector(r, 2, n)[i])
				}
				for r := range size {
					if got := outs[r][i]; math.Float32bits(got) != math.Float32bits(float32(want)) {
						t.Fatalf("size %d, n %d: worker %d element %d = %v, want %v", size, n, r, i, got, float32(want))
					}
				}
			}
		}
	}
}

func TestSums(t *testing.T) {
	testSums(t, func(size, capacity int) Shared { return NewMemory(size, capacity) })
}

// testCommands: a command set by the page mid-run is seen by every worker
// at the same all-reduce; pause holds them until the page says run, and
// a stop decided during the pause reaches them all.
func testCommands(t *testing.T, sh Shared, size int, sleep func()) {
	var mu sync.Mutex
	seen := map[int][]string{}
	note := func(r int, s string) {
		mu.Lock()
		seen[r] = append(seen[r], s)
		mu.Unlock()
	}
	errs := runGroup(t, func() Shared { return sh }, size, func(g *Group) error {
		buf := make([]float32, 8)
		for step := 0; ; step++ {
			if g.Rank == 0 && step == 3 {
				SetCommand(sh, Pause)
				go func() {
					time.Sleep(30 * time.Millisecond)
					SetCommand(sh, Run)
				}()
			}
			if g.Rank == 0 && step == 6 {
				SetCommand(sh, Pause)
				go func() {
					time.Sleep(30 * time.Millisecond)
					SetCommand(sh, Stop)
				}()
			}
			if err := g.AllReduce(buf); err != nil {
				return err
			}
			d := g.TakeDecision()
			if d == Pause {
				note(g.Rank, fmt.Sprintf("pause@%d", step))
				var err error
				if d, err = g.Hold(sleep); err != nil {
					return err
				}
				note(g.Rank, fmt.Sprintf("%s@%d", d, step))
			}
			if d == Stop {
				note(g.Rank, fmt.Sprintf("stopped@%d", step))
				return nil
			}
			if step > 100 {
				return errors.New("never stopped")
			}
		}
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: %v", r, err)
		}
	}
	for r := 1; r < size; r++ {
		if fmt.Sprint(seen[r]) != fmt.Sprint(seen[0]) {
			t.Errorf("worker %d saw %v, worker 0 %v", r, seen[r], seen[0])
		}
	}
	if got := fmt.Sprint(seen[0]); got != "[pause@3 run@3 pause@6 stop@6 stopped@6]" {
		t.Errorf("worker 0 saw %s", got)
	}
}

func TestCommands(t *testing.T) {
	testCommands(t, NewMemory(3, 8), 3, func() { time.Sleep(time.Millisecond) })
}

// testAbort: a worker that fails (aborts) releases the others from the
// barrier with an error that names it; a checksum that differs stops
// every worker.
func testAbort(t *testing.T, mk func(size, capacity int) Shared) {
	sh := mk(3, 4)
	errs := runGroup(t, func() Shared { return sh }, 3, func(g *Group) error {
		buf := make([]float32, 4)
		if err := g.AllReduce(buf); err != nil {
			return err
		}
		if g.Rank == 2 {
			g.Abort()
			return errors.New("failed")
		}
		return g.AllReduce(buf)
	})
	for r := range 2 {
		var a *AbortedError
		if !errors.As(errs[r], &a) || a.Error() != "worker 2 failed: the others stopped with it" {
			t.Errorf("worker %d: %v", r, errs[r])
		}
	}
	sh = mk(2, 4)
	errs = runGroup(t, func() Shared { return sh }, 2, func(g *Group) error {
		g.CheckNext(1.5 + float64(g.Rank))
		return g.AllReduce(make([]float32, 4))
	})
	for r, err := range errs {
		var c *ChecksumError
		var a *AbortedError
		if !errors.As(err, &c) && !errors.As(err, &a) {
			t.Errorf("worker %d with a different checksum: %v", r, err)
		}
	}
	sh = mk(2, 4)
	errs = runGroup(t, func() Shared { return sh }, 2, func(g *Group) error {
		g.CheckNext(2.5)
		return g.AllReduce(make([]float32, 4))
	})
	for r, err := range errs {
		if err != nil {
			t.Errorf("worker %d with the same checksum: %v", r, err)
		}
	}
	if _, err := NewGroup(mk(2, 4), 2); err == nil {
		t.Error("rank 2 of 2 joined")
	}
}

func TestAbort(t *testing.T) {
	testAbort(t, func(size, capacity int) Shared { return NewMemory(size, capacity) })
}

func TestChunks(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 1000, 25557032} {
		for size := 1; size <= 5; size++ {
			next := 0
			for k := range size {
				lo, hi := Chunk(n, k, size)
				if lo != next || hi < lo || (k < size-1 && lo%16 != 0) {
					t.Fatalf("n %d, %d workers: chunk %d is [%d, %d) after %d", n, size, k, lo, hi, next)
				}
				next = hi
			}
			if next != n {
				t.Fatalf("n %d, %d workers: chunks end at %d", n, size, next)
			}
		}
	}
}
