package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// TestTuneBlocking is a tool, not a test: with GORESNET_TUNE=1 it times the
// benchmark shapes under several cache blockings of the active kernel and
// prints the best-of-5 GFLOP/s of each (single thread).
func TestTuneBlocking(t *testing.T) {
	if os.Getenv("GORESNET_TUNE") == "" {
		t.Skip("set GORESNET_TUNE=1 to run the blocking sweep")
	}
	prev := SetThreads(1)
	defer SetThreads(prev)
	k0 := *active
	defer func() { *active = k0 }()
	r := rand.New(rand.NewPCG(1, 1))
	for _, kc := range []int{128, 192, 256} {
		for _, mc := range []int{64, 128, 256} {
			for _, nc := range []int{256, 512, 1024, 4096} {
				active.kc, active.mc, active.nc = kc, mc, nc
				line := fmt.Sprintf("kc=%3d mc=%3d nc=%4d:", kc, mc, nc)
				for _, s := range sgemmShapes {
					m, n, k := s[0], s[1], s[2]
					a, b, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
					best := 0.0
					for rep := 0; rep < 5; rep++ {
						t0 := time.Now()
						Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
						g := 2 * float64(m*n*k) / time.Since(t0).Seconds() / 1e9
						best = max(best, g)
					}
					line += fmt.Sprintf(" %6.1f", best)
				}
				fmt.Println(line)
			}
		}
	}
}
