package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// workerPool runs the parts of a GEMM on persistent goroutines (no
// goroutine is started per call). One parallel GEMM runs at a time; a GEMM
// that finds the pool busy (another goroutine's) runs single-threaded.
type workerPool struct {
	mu      sync.Mutex
	threads atomic.Int32 // parts per GEMM, including the caller
	workers []*poolWorker
	wg      sync.WaitGroup
	plan    gemmPlan
}

type poolWorker struct {
	start chan gemmJob
	s     scratch
}

type gemmJob struct {
	p           *gemmPlan
	part, parts int
}

var pool = newPool()

func newPool() *workerPool {
	wp := &workerPool{}
	wp.threads.Store(int32(runtime.GOMAXPROCS(0)))
	return wp
}

// SetThreads sets how many threads a GEMM uses (at least 1; the default is
// GOMAXPROCS) and returns the previous setting. Under js/wasm a Go program
// has one thread, so this stays 1 there.
func SetThreads(n int) int {
	if n < 1 {
		n = 1
	}
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		n = 1
	}
	return int(pool.threads.Swap(int32(n)))
}

// Threads reports the current setting.
func Threads() int { return int(pool.threads.Load()) }

// minParallelFLOPs: below this a GEMM runs on the caller alone (handing
// work to another goroutine costs a few microseconds).
const minParallelFLOPs = 2 << 20

func (wp *workerPool) threadsFor(p *gemmPlan) int {
	t := int(wp.threads.Load())
	if t <= 1 || 2*p.m*p.n*p.k < minParallelFLOPs {
		return 1
	}
	return t
}

// run splits the plan over parts participants (the caller and parts-1
// workers). It returns false, having done nothing, when another goroutine's
// GEMM holds the pool: the caller then runs alone.
func (wp *workerPool) run(plan *gemmPlan, parts int) bool {
	if !wp.mu.TryLock() {
		return false
	}
	defer wp.mu.Unlock()
	wp.plan = *plan // workers read the pool's copy: nothing escapes per call
	p := &wp.plan
	for len(wp.workers) < parts-1 {
		w := &poolWorker{start: make(chan gemmJob)}
		wp.workers = append(wp.workers, w)
		go w.loop(&wp.wg)
	}
	wp.wg.Add(parts - 1)
	for i := 1; i < parts; i++ {
		wp.workers[i-1].start <- gemmJob{p: p, part: i, parts: parts}
	}
	s := getScratch()
	p.run(s, 0, parts)
	putScratch(s)
	wp.wg.Wait()
	wp.plan = gemmPlan{}
	return true
}

func (w *poolWorker) loop(wg *sync.WaitGroup) {
	for j := range w.start {
		j.p.run(&w.s, j.part, j.parts)
		wg.Done()
	}
}
