package kernels

import (
	"os"
	"sort"
	"sync"
	"unsafe"
)

// ukernel is a register-tiled micro-kernel and the cache blocking that suits
// it. fn adds the mr x nr product of an A panel and a packed B panel (kc
// steps of nr values) onto the tile of C at c (row stride ldc elements):
// C[i][j] += sum_p A(i, p) * b[p*nr+j], where A(i, p) is the float32 at
// byte offset p*aps + i*ajs from a (a packed panel has aps = 4*mr, ajs = 4;
// a row-major matrix read in place has aps = 4, ajs = 4*lda).
type ukernel struct {
	name       string // XNNPACK-style: what it computes, tile, ISA
	priority   int    // the usable kernel with the highest priority runs
	mr, nr     int
	kc, mc, nc int
	usable     func() bool
	fn         func(kc int, a unsafe.Pointer, aps, ajs uintptr, b, c unsafe.Pointer, ldc int)
	// packedA: the kernel reads A only from packed panels (aps = 4*mr,
	// ajs = 4), e.g. with one vector load of mr values; the driver then
	// never passes it a matrix in place.
	packedA bool
	// block, if set, computes every whole tile of a packed block in one
	// call: C[0:mc][0:nc] += A*B with mc a multiple of mr and nc of nr,
	// the panels laid out as for fn, C row-major with row stride ldc. The
	// driver does the edge tiles with fn. (For kernels behind a costly
	// call, such as the hand-written wasm one: one call per block, not
	// per tile.)
	block func(kc, mc, nc int, a, b, c unsafe.Pointer, ldc int)
	pack  *packHooks // the kernel's own packing routines, if any
}

// gemmKernels lists the micro-kernels of this build, best first; files
// with build tags add theirs in init. active is the one Sgemm uses.
var (
	gemmKernels []*ukernel
	active      *ukernel
)

// packed adapts a kernel written for packed A panels only (its A pointer
// steps by 4*mr bytes per k) to the ukernel signature; such kernels set
// packedA, so the driver only ever hands them packed panels.
func packed(f func(kc int, a, b, c unsafe.Pointer, ldc int)) func(int, unsafe.Pointer, uintptr, uintptr, unsafe.Pointer, unsafe.Pointer, int) {
	return func(kc int, a unsafe.Pointer, _, _ uintptr, b, c unsafe.Pointer, ldc int) { f(kc, a, b, c, ldc) }
}

func registerKernel(k *ukernel) {
	gemmKernels = append(gemmKernels, k)
	sort.SliceStable(gemmKernels, func(i, j int) bool { return gemmKernels[i].priority > gemmKernels[j].priority })
	pickKernel()
}

// pickKernel makes the best usable kernel active, or the one that
// $GORESNET_KERNEL names (if it is usable here): for comparing kernels on
// one machine, e.g. GORESNET_KERNEL=f32_gemm_2x32__avx2_fma.
func pickKernel() {
	want := os.Getenv("GORESNET_KERNEL")
	active = nil
	for _, k := range gemmKernels {
		if k.usable == nil || k.usable() {
			if active == nil {
				active = k
			}
			if k.name == want {
				active = k
				return
			}
		}
	}
}

// KernelName says which GEMM micro-kernel this process runs.
func KernelName() string { return active.name }

// gemmPlan is one C += alpha * A * B, with A read as a k x m view (A^T) and
// B as a k x n view, and C[i][j] at c[i*rsc + j*csc].
type gemmPlan struct {
	m, n, k  int
	alpha    float32
	a, b     view
	c        []float32
	rsc, csc int
	kern     *ukernel
}

// gemm runs C += alpha*op(A)*op(B) with the active kernel, choosing the
// orientation that keeps the micro-kernel's tile fullest (computing C^T =
// B^T A^T when that wastes less, e.g. for the 49-column layers), and
// spreading the work over the worker pool.
func gemm(m, n, k int, alpha float32, a, b view, c []float32, rsc, csc int) {
	gemmWith(active, m, n, k, alpha, a, b, c, rsc, csc)
}

func gemmWith(kern *ukernel, m, n, k int, alpha float32, a, b view, c []float32, rsc, csc int) {
	p := gemmPlan{m: m, n: n, k: k, alpha: alpha, a: a, b: b, c: c, rsc: rsc, csc: csc, kern: kern}
	q := gemmPlan{m: n, n: m, k: k, alpha: alpha, a: b, b: a, c: c, rsc: csc, csc: rsc, kern: kern}
	if q.cost() < 0.97*p.cost() {
		p = q
	}
	if threads := pool.threadsFor(&p); threads > 1 && pool.run(&p, threads) {
		return
	}
	s := getScratch()
	s.plan = p // the plan lives in the scratch, not on the heap per call
	s.plan.run(s, 0, 1)
	s.plan = gemmPlan{}
	putScratch(s)
}

// cost estimates a plan's time in multiply-adds of the micro-kernel: the
// padded tiles it computes, plus packing (per element, BenchmarkPack on
// Zen 3 against ~45 G multiply-adds/s: a contiguous copy 0.26 ns = 12, a
// strided gather 0.43 ns = 20, an im2col row 0.6 ns = 27), plus the
// transposed store of C. It
// picks the orientation: computing C^T = B^T A^T fills the tiles better
// for thin matrices (49 columns), but only pays when its operands pack
// cheaply.
func (p *gemmPlan) cost() float64 {
	kern := p.kern
	c := float64(roundUp(p.m, kern.mr)) * float64(roundUp(p.n, kern.nr)) * float64(p.k)
	c += packCost(&p.b) * float64(p.k) * float64(p.n)
	if p.a.kind != dense || p.alpha != 1 {
		c += packCost(&p.a) * float64(p.k) * float64(p.m) * float64((p.n+kern.nc-1)/kern.nc)
	}
	if p.csc != 1 {
		c += 20 * float64(p.m) * float64(p.n)
	}
	return c
}

func packCost(v *view) float64 {
	switch {
	case v.kind == im2col:
		return 27
	case v.kind == im2colT:
		return 35
	case v.kind == flipped:
		return 20
	case v.js == 1:
		return 12
	}
	return 20
}

// scratch holds one participant's packing buffers.
type scratch struct {
	a, b []float32
	row  []float32 // im2col rows, for packing through hooks
	tile []float32
	edge []float32 // edge tiles of a block kernel
	ct   []float32 // C computed row-major when the real C is transposed
	plan gemmPlan
}

// scratches is a free list of packing buffers, one per goroutine running a
// GEMM at the same time. Unlike a sync.Pool it is not emptied by the
// garbage collector, so a steady training step allocates nothing.
var scratches struct {
	sync.Mutex
	free []*scratch
}

func getScratch() *scratch {
	scratches.Lock()
	defer scratches.Unlock()
	if n := len(scratches.free); n > 0 {
		s := scratches.free[n-1]
		scratches.free = scratches.free[:n-1]
		return s
	}
	return new(scratch)
}

func putScratch(s *scratch) {
	scratches.Lock()
	scratches.free = append(scratches.free, s)
	scratches.Unlock()
}

func (s *scratch) size(kern *ukernel) {
	na := roundUp(kern.mc, kern.mr) * kern.kc
	nb := roundUp(kern.nc, kern.nr) * kern.kc
	if len(s.a) < na {
		s.a = make([]float32, na)
	}
	if len(s.b) < nb {
		s.b = make([]float32, nb)
	}
	if kern.pack != nil && len(s.row) < imRows*max(kern.mc, kern.nc) {
		s.row = make([]float32, imRows*max(kern.mc, kern.nc))
	}
	if n := max(kern.mc*kern.nr, kern.mr*kern.nc); kern.block != nil && len(s.edge) < n {
		s.edge = make([]float32, n)
	}
	if len(s.tile) < kern.mr*kern.nr {
		s.tile = make([]float32, kern.mr*kern.nr)
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// run computes part `part` of `parts`: the work is split along n (whole
// tiles of columns) or m (whole tiles of rows), whichever duplicates less
// packing (each part packs all of the other operand).
func (p *gemmPlan) run(s *scratch, part, parts int) {
	kern := p.kern
	s.size(kern)
	m0, m1, n0, n1 := 0, p.m, 0, p.n
	if parts > 1 {
		if p.splitN(parts) {
			n0, n1 = splitRange(p.n, kern.nr, part, parts)
		} else {
			m0, m1 = splitRange(p.m, kern.mr, part, parts)
		}
	}
	if m0 >= m1 || n0 >= n1 {
		return
	}
	if p.csc != 1 {
		// C is stored transposed (or strided): compute this part's block
		// into a row-major buffer with the fast stores, then add it to C
		// once, instead of scattering every tile after every kc block.
		bm, bn := m1-m0, n1-n0
		if len(s.ct) < bm*bn {
			s.ct = make([]float32, bm*bn)
		}
		ct := s.ct[:bm*bn]
		clear(ct)
		sub := *p
		sub.c, sub.rsc, sub.csc = ct, bn, 1
		sub.m, sub.n = bm, bn
		sub.a.shift(m0)
		sub.b.shift(n0)
		sub.block(s, 0, bm, 0, bn)
		for i := 0; i < bm; i++ {
			row := ct[i*bn : (i+1)*bn]
			cc := p.c[(m0+i)*p.rsc+n0*p.csc:]
			for j, v := range row {
				cc[j*p.csc] += v
			}
		}
		return
	}
	p.block(s, m0, m1, n0, n1)
}

// block computes rows [m0, m1) and columns [n0, n1) of C.
//
// B is always packed (the micro-kernel loads nr contiguous values per step).
// A is read in place when it is a dense matrix and alpha is 1: the kernel
// only broadcasts mr scalars per step, which it can fetch through two
// strides as well as from a packed panel, so the weights of a convolution
// are never copied. Only a last panel with fewer than mr rows is packed
// (zero-padded), so that the kernel never reads past the matrix.
func (p *gemmPlan) block(s *scratch, m0, m1, n0, n1 int) {
	kern := p.kern
	mr, nr := kern.mr, kern.nr
	direct := p.a.kind == dense && p.alpha == 1 && !kern.packedA && kern.block == nil
	const f32 = 4
	for jc := n0; jc < n1; jc += kern.nc {
		nc := min(kern.nc, n1-jc)
		for pc := 0; pc < p.k; pc += kern.kc {
			kc := min(kern.kc, p.k-pc)
			packPanels(s.b, s.row, &p.b, pc, kc, jc, nc, nr, 1, kern.pack)
			for ic := m0; ic < m1; ic += kern.mc {
				mc := min(kern.mc, m1-ic)
				full := mc / mr * mr // rows in whole panels
				if !direct {
					packPanels(s.a, s.row, &p.a, pc, kc, ic, mc, mr, p.alpha, kern.pack)
				} else if full < mc {
					packPanels(s.a, s.row, &p.a, pc, kc, ic+full, mc-full, mr, 1, kern.pack)
				}
				mDone, nDone := 0, 0 // what p.blockCall did: all but the corner tile
				if kern.block != nil && p.csc == 1 {
					mDone, nDone = p.blockCall(s, kc, ic, jc, mc, nc)
				}
				for jr := 0; jr < nc; jr += nr {
					bp := unsafe.Pointer(&s.b[jr*kc])
					w := min(nr, nc-jr)
					for ir := 0; ir < mc; ir += mr {
						if ir < mDone || jr < nDone {
							continue
						}
						var ap unsafe.Pointer
						aps, ajs := uintptr(mr*f32), uintptr(f32)
						switch {
						case !direct:
							ap = unsafe.Pointer(&s.a[ir*kc])
						case ir < full:
							ap = unsafe.Pointer(&p.a.data[pc*p.a.ps+(ic+ir)*p.a.js])
							aps, ajs = uintptr(p.a.ps*f32), uintptr(p.a.js*f32)
						default:
							ap = unsafe.Pointer(&s.a[0])
						}
						h := min(mr, mc-ir)
						i, j := ic+ir, jc+jr
						if h == mr && w == nr && p.csc == 1 {
							kern.fn(kc, ap, aps, ajs, bp, unsafe.Pointer(&p.c[i*p.rsc+j]), p.rsc)
							continue
						}
						// Edge or transposed tile: compute into a small
						// buffer, then add what belongs to C.
						t := s.tile[:mr*nr]
						clear(t)
						kern.fn(kc, ap, aps, ajs, bp, unsafe.Pointer(&t[0]), nr)
						for ii := 0; ii < h; ii++ {
							row := p.c[(i+ii)*p.rsc+j*p.csc:]
							for jj := 0; jj < w; jj++ {
								row[jj*p.csc] += t[ii*nr+jj]
							}
						}
					}
				}
			}
		}
	}
}

// blockCall runs the kernel's block hook on the packed block at (ic, jc):
// the whole tiles in place, then the right edge (the last, partial B
// panel against all whole A panels) and the bottom edge (the last A panel
// against all whole B panels) as whole tiles into s.edge, of which it
// adds what belongs to C. That leaves at most the corner tile to fn: the
// edges run at the block kernel's speed, in one call each. It returns the
// rows and columns done (all but the corner: ir < mDone or jr < nDone).
func (p *gemmPlan) blockCall(s *scratch, kc, ic, jc, mc, nc int) (mDone, nDone int) {
	kern := p.kern
	mr, nr := kern.mr, kern.nr
	mDone, nDone = mc/mr*mr, nc/nr*nr
	if mDone > 0 && nDone > 0 {
		kern.block(kc, mDone, nDone, unsafe.Pointer(&s.a[0]), unsafe.Pointer(&s.b[0]), unsafe.Pointer(&p.c[ic*p.rsc+jc]), p.rsc)
	}
	if w := nc - nDone; w > 0 && mDone > 0 {
		t := s.edge[:mDone*nr]
		clear(t)
		kern.block(kc, mDone, nr, unsafe.Pointer(&s.a[0]), unsafe.Pointer(&s.b[nDone*kc]), unsafe.Pointer(&t[0]), nr)
		for i := 0; i < mDone; i++ {
			row := p.c[(ic+i)*p.rsc+jc+nDone : (ic+i)*p.rsc+jc+nc]
			for j, v := range t[i*nr : i*nr+w] {
				row[j] += v
			}
		}
	}
	if h := mc - mDone; h > 0 && nDone > 0 {
		t := s.edge[:mr*nDone]
		clear(t)
		kern.block(kc, mr, nDone, unsafe.Pointer(&s.a[mDone*kc]), unsafe.Pointer(&s.b[0]), unsafe.Pointer(&t[0]), nDone)
		for i := 0; i < h; i++ {
			row := p.c[(ic+mDone+i)*p.rsc+jc : (ic+mDone+i)*p.rsc+jc+nDone]
			for j, v := range t[i*nDone : (i+1)*nDone] {
				row[j] += v
			}
		}
	}
	// With mDone or nDone 0, the one edge that ran covers the rest too.
	return mDone, nDone
}

// splitN decides the split direction: along n when there are enough
// column tiles and A (duplicated per part) is the smaller operand.
func (p *gemmPlan) splitN(parts int) bool {
	tn := (p.n + p.kern.nr - 1) / p.kern.nr
	tm := (p.m + p.kern.mr - 1) / p.kern.mr
	if tn < parts {
		return false
	}
	if tm < parts {
		return true
	}
	return p.m <= p.n
}

// splitRange returns part of [0, d) in whole tiles of t, balanced.
func splitRange(d, t, part, parts int) (int, int) {
	tiles := (d + t - 1) / t
	lo := tiles * part / parts * t
	hi := tiles * (part + 1) / parts * t
	return min(lo, d), min(hi, d)
}
