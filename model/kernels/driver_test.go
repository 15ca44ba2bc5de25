package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
)

// forEachKernel runs f with every micro-kernel this build has and this CPU
// can run (the scalar one always), each made the active one in turn.
func forEachKernel(t *testing.T, f func(t *testing.T)) {
	saved := active
	defer func() { active = saved }()
	for _, k := range gemmKernels {
		if k.usable != nil && !k.usable() {
			t.Logf("%s: not usable on this CPU, skipped", k.name)
			continue
		}
		active = k
		t.Run(k.name, f)
	}
}

// TestSgemmEveryKernelAndThreadCount checks each kernel on the odd shapes
// (with the transposed forms, accumulation and 255, which is large enough
// to be split across threads), with 1 and 3 threads.
func TestSgemmEveryKernelAndThreadCount(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		for _, threads := range []int{1, 3} {
			prev := SetThreads(threads)
			r := rand.New(rand.NewPCG(5, uint64(threads)))
			dims := []int{1, 7, 49, 65, 255}
			if testing.Short() {
				dims = []int{1, 7, 65}
			}
			for _, m := range dims {
				for _, n := range dims {
					for _, k := range []int{1, 17, 255} {
						for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
							checkSgemm(t, r, tr[0], tr[1], m, n, k, 1, 1, 0)
						}
					}
				}
			}
			checkSgemm(t, r, false, false, 255, 255, 255, 0.5, -1, 3)
			SetThreads(prev)
		}
	})
}

// convTestShapes are the convolutions the im2col packing is checked on.
var convTestShapes = []ConvShape{
	NewConvShape(3, 7, 5, 3, 3, 1, 1, 1),
	NewConvShape(2, 9, 9, 7, 7, 2, 3, 3),
	NewConvShape(5, 17, 13, 3, 3, 2, 1, 1),
	NewConvShape(4, 3, 3, 3, 3, 1, 1, 1),
	NewConvShape(3, 50, 47, 3, 3, 1, 1, 1), // wide rows: runs across several panels
	NewConvShape(2, 8, 7, 2, 3, 3, 0, 1),
	NewConvShape(3, 30, 31, 7, 7, 2, 3, 3), // the stem's geometry
	NewConvShape(4, 14, 13, 1, 1, 2, 0, 0), // a strided 1x1 (downsample)
}

func TestConvForwardGemmMatchesIm2Col(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	forEachKernel(t, func(t *testing.T) {
		for _, s := range convTestShapes {
			for _, oc := range []int{1, 3, 33} {
				t.Run(fmt.Sprintf("%dx%dx%d_k%dx%d_s%d_oc%d", s.C, s.H, s.W, s.KH, s.KW, s.Stride, oc), func(t *testing.T) {
					checkConv(t, r, s, oc)
				})
			}
		}
	})
}

// TestConvBackwardGemms checks the fused backward paths of a convolution
// against the materialised im2col and the reference GEMM: the weight
// gradient through the transposed im2col view, and the input gradient of
// stride-1 'same' convolutions as a transposed convolution.
func TestConvBackwardGemms(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	shapes := []ConvShape{
		NewConvShape(3, 7, 5, 3, 3, 1, 1, 1),
		NewConvShape(5, 17, 13, 3, 3, 1, 1, 1),
		NewConvShape(2, 9, 9, 5, 5, 1, 2, 2),
		NewConvShape(4, 3, 3, 3, 3, 1, 1, 1),
		NewConvShape(3, 40, 37, 3, 3, 1, 1, 1),
		NewConvShape(2, 9, 9, 7, 7, 2, 3, 3), // filter only: stride 2
		NewConvShape(3, 8, 7, 1, 1, 2, 0, 0),
	}
	forEachKernel(t, func(t *testing.T) {
		for _, s := range shapes {
			for _, oc := range []int{1, 3, 33} {
				k, hw := s.ColRows(), s.ColCols()
				x, dy, w := randSlice(r, s.C*s.H*s.W), randSlice(r, oc*hw), randSlice(r, oc*k)
				col := make([]float32, k*hw)
				Im2Col(s, x, col)
				want := randSlice(r, oc*k)
				got := append([]float32(nil), want...)
				SgemmRef(false, true, oc, k, hw, 1, dy, hw, col, hw, 1, want, k)
				ConvBackwardFilterGemm(s, oc, dy, x, got)
				if e := maxRelErr(got, want); e > 1e-5 {
					t.Fatalf("filter %+v oc %d: relative error %.3g", s, oc, e)
				}
				if !TransposedConvOK(s) {
					continue
				}
				dcol := make([]float32, k*hw)
				SgemmRef(true, false, k, hw, oc, 1, w, k, dy, hw, 0, dcol, hw)
				wantDX := randSlice(r, s.C*s.H*s.W)
				gotDX := append([]float32(nil), wantDX...)
				Col2Im(s, dcol, wantDX) // accumulates onto the random start
				ConvBackwardDataGemm(s, oc, w, dy, 1, gotDX)
				if e := maxRelErr(gotDX, wantDX); e > 1e-5 {
					t.Fatalf("data %+v oc %d: relative error %.3g", s, oc, e)
				}
			}
		}
	})
}

func checkConv(t *testing.T, r *rand.Rand, s ConvShape, oc int) {
	t.Helper()
	x := randSlice(r, s.C*s.H*s.W)
	w := randSlice(r, oc*s.ColRows())
	col := make([]float32, s.ColRows()*s.ColCols())
	Im2Col(s, x, col)
	want := make([]float32, oc*s.ColCols())
	SgemmRef(false, false, oc, s.ColCols(), s.ColRows(), 1, w, s.ColRows(), col, s.ColCols(), 0, want, s.ColCols())
	got := randSlice(r, len(want))
	for i := range got {
		got[i] = float32(math.NaN()) // beta 0 must not read y
	}
	ConvForwardGemm(s, oc, w, x, 0, got)
	if e := maxRelErr(got, want); e > 1e-5 {
		t.Fatalf("relative error %.3g", e)
	}
}

// watSetupErr reports why the hand-written wasm kernel is not usable (set
// in the builds that have it).
var watSetupErr func() error

func kernelByName(name string) *ukernel {
	for _, k := range gemmKernels {
		if k.name == name {
			return k
		}
	}
	return nil
}

// TestActiveKernel names the kernel each build runs and checks the
// choice: the AVX2 kernel on amd64 CPUs with AVX2 and FMA, in js/wasm the
// hand-written wasm kernel when the loader published the Go memory
// (assets/web/gemm_hook.js; GORESNET_WAT=required makes its absence an error,
// as `make test` does) and the archsimd one otherwise, and the scalar
// kernel without GOEXPERIMENT=simd.
func TestActiveKernel(t *testing.T) {
	name := KernelName()
	t.Logf("%s/%s, simd experiment %v: active kernel %s", runtime.GOOS, runtime.GOARCH, simdBuild, name)
	want := "f32_gemm_4x4__scalar"
	if k := kernelByName("f32_gemm_2xV4__simd"); k != nil && runtime.GOARCH != "amd64" && runtime.GOARCH != "wasm" {
		want = k.name // the portable simd package's kernel (arm64 ...)
	}
	if k := kernelByName("f32_gemm_2x32__avx2_fma"); simdBuild && runtime.GOARCH == "amd64" && k.usable() {
		want = k.name
	}
	if k := kernelByName("f32_gemm_4x32__avx512f"); simdBuild && runtime.GOARCH == "amd64" && k.usable() {
		want = k.name
	}
	if env := os.Getenv("GORESNET_KERNEL"); env != "" {
		want = env
	}
	if simdBuild && runtime.GOARCH == "wasm" {
		want = "f32_gemm_4x8__wasmsimd"
		if k := kernelByName("f32_gemm_4x8__wasmsimd_wat"); k != nil {
			if k.usable() {
				want = k.name
			} else {
				t.Logf("%s not usable: %v", k.name, watSetupErr())
				if os.Getenv("GORESNET_WAT") == "required" {
					t.Fatalf("GORESNET_WAT=required, but %s is not usable: %v", k.name, watSetupErr())
				}
			}
		}
	}
	if name != want {
		t.Errorf("active kernel %s, want %s", name, want)
	}
}
