package allreduce

import (
	"math"
	"sync/atomic"
	"time"
)

// Memory is a Shared in Go memory, for workers that are goroutines (the
// native tests): the same protocol as the browser's SharedArrayBuffer.
type Memory struct {
	l      Layout
	words  [ControlWords]atomic.Int32
	checks [MaxSize]atomic.Uint64
	slots  [][]float32
	result []float32
}

// NewMemory makes a buffer for size workers of capacity floats, ready to
// use (Init done).
func NewMemory(size, capacity int) *Memory {
	m := &Memory{l: Layout{Size: size, Capacity: capacity}, result: make([]float32, capacity)}
	for range size {
		m.slots = append(m.slots, make([]float32, capacity))
	}
	Init(m)
	return m
}

func (m *Memory) Layout() Layout                  { return m.l }
func (m *Memory) Load(w int) int32                { return m.words[w].Load() }
func (m *Memory) Store(w int, v int32)            { m.words[w].Store(v) }
func (m *Memory) Add(w int, d int32) int32        { return m.words[w].Add(d) }
func (m *Memory) Notify(int)                      {}
func (m *Memory) Write(k, off int, src []float32) { copy(m.slots[k][off:], src) }
func (m *Memory) Read(off int, dst []float32)     { copy(dst, m.result[off:]) }
func (m *Memory) SetChecksum(k int, v float64)    { m.checks[k].Store(math.Float64bits(v)) }
func (m *Memory) Checksum(k int) float64          { return math.Float64frombits(m.checks[k].Load()) }

// Wait polls (goroutines have no Atomics.wait).
func (m *Memory) Wait(w int, v int32, timeout time.Duration) {
	end := time.Now().Add(timeout)
	for m.words[w].Load() == v && time.Now().Before(end) {
		time.Sleep(20 * time.Microsecond)
	}
}

// Sum adds in float64 and rounds once, as the JavaScript sum does (its
// numbers are float64).
func (m *Memory) Sum(lo, hi int) {
	for i := lo; i < hi; i++ {
		s := float64(m.slots[0][i])
		for k := 1; k < m.l.Size; k++ {
			s += float64(m.slots[k][i])
		}
		m.result[i] = float32(s)
	}
}
