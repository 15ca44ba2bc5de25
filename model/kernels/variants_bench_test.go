package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// kernelVariant is a candidate micro-kernel that is not registered:
// wasmVariants (set in a build-tagged test file) lists them, and
// BenchmarkKernelVariants measures them next to the registered kernels.
type kernelVariant struct {
	k      *ukernel
	preA   bool // reads A pre-broadcast (4 copies of each value): /L1 only
	kcMult int  // kc must be a multiple of this: /L1 only unless 1
}

// BenchmarkKernelVariants runs every registered kernel and every variant
// on the BenchmarkSgemm shapes (single-threaded), and on a panel that
// stays in L1 (the kernel's own speed, /L1). KERNEL_BLOCK=kc,mc,nc
// overrides the blocking of all of them.
func BenchmarkKernelVariants(b *testing.B) {
	prev := SetThreads(1)
	defer SetThreads(prev)
	var ks []kernelVariant
	for _, k := range gemmKernels {
		if k.usable == nil || k.usable() {
			kk := *k
			if s := os.Getenv("KERNEL_BLOCK"); s != "" {
				f := strings.Split(s, ",")
				kk.kc, _ = strconv.Atoi(f[0])
				kk.mc, _ = strconv.Atoi(f[1])
				kk.nc, _ = strconv.Atoi(f[2])
			}
			ks = append(ks, kernelVariant{k: &kk, kcMult: 1})
		}
	}
	for _, v := range wasmVariants {
		k := *v.k
		k.kc, k.mc, k.nc = 256, 128, 1024
		if s := os.Getenv("KERNEL_BLOCK"); s != "" {
			f := strings.Split(s, ",")
			k.kc, _ = strconv.Atoi(f[0])
			k.mc, _ = strconv.Atoi(f[1])
			k.nc, _ = strconv.Atoi(f[2])
		}
		ks = append(ks, kernelVariant{k: &k, preA: v.preA, kcMult: v.kcMult})
	}
	for _, kv := range ks {
		k := kv.k
		b.Run(k.name+"/L1", func(b *testing.B) {
			const kc = 128
			r := rand.New(rand.NewPCG(1, 1))
			a, bb, c := randSlice(r, 4*kc*k.mr), randSlice(r, kc*k.nr), make([]float32, k.mr*k.nr)
			cpu0 := cpuSeconds()
			for i := 0; i < b.N; i++ {
				for j := 0; j < 100; j++ {
					k.fn(kc, unsafe.Pointer(&a[0]), uintptr(4*k.mr), 4, unsafe.Pointer(&bb[0]), unsafe.Pointer(&c[0]), k.nr)
				}
			}
			reportRates(b, 2*float64(100*kc*k.mr*k.nr)*float64(b.N), cpu0)
		})
		for _, s := range [][3]int{{64, 3136, 576}, {256, 784, 1152}, {512, 196, 2304}, {2048, 49, 512}, {512, 512, 512}} {
			m, n, kk := s[0], s[1], s[2]
			b.Run(fmt.Sprintf("%s/%dx%dx%d", k.name, m, n, kk), func(b *testing.B) {
				if kv.preA || kv.kcMult != 1 {
					b.Skip("needs its own packing")
				}
				r := rand.New(rand.NewPCG(1, 1))
				a, bb, c := randSlice(r, m*kk), randSlice(r, kk*n), make([]float32, m*n)
				run := func() {
					gemmWith(k, m, n, kk, 1, view{data: a, ps: 1, js: kk}, view{data: bb, ps: n, js: 1}, c, n, 1)
				}
				run()
				b.ResetTimer()
				cpu0 := cpuSeconds()
				for i := 0; i < b.N; i++ {
					run()
				}
				reportRates(b, 2*float64(m*n*kk)*float64(b.N), cpu0)
			})
		}
	}
}

// reportRates reports flops per wall-clock second and, where there is a
// CPU clock (node), per CPU second since cpu0.
func reportRates(b *testing.B, flops, cpu0 float64) {
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu0 >= 0 {
		b.ReportMetric(flops/(cpuSeconds()-cpu0)/1e9, "cpu-GFLOP/s")
	}
}

// TestKernelVariants checks each variant's micro-kernel against a plain
// sum on one tile, as the driver calls it (C accumulates, row stride ldc).
func TestKernelVariants(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, v := range wasmVariants {
		k := v.k
		for _, kc := range []int{4, 12, 100} {
			if kc%v.kcMult != 0 {
				continue
			}
			a, b := randSlice(r, kc*k.mr), randSlice(r, kc*k.nr)
			ldc := k.nr + 3
			c := randSlice(r, k.mr*ldc)
			want := append([]float32(nil), c...)
			for i := 0; i < k.mr; i++ {
				for j := 0; j < k.nr; j++ {
					var s float32
					for p := 0; p < kc; p++ {
						s += a[p*k.mr+i] * b[p*k.nr+j]
					}
					want[i*ldc+j] += s
				}
			}
			ap := a
			if v.preA {
				ap = make([]float32, 4*len(a))
				for i, x := range a {
					ap[4*i], ap[4*i+1], ap[4*i+2], ap[4*i+3] = x, x, x, x
				}
			}
			k.fn(kc, unsafe.Pointer(&ap[0]), uintptr(4*k.mr), 4, unsafe.Pointer(&b[0]), unsafe.Pointer(&c[0]), ldc)
			if e := maxRelErr(c, want); e > 1e-5 {
				t.Errorf("%s kc=%d: relative error %.3g", k.name, kc, e)
			}
		}
	}
}
