//go:build goexperiment.simd && js && wasm

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func init() { watSetupErr = func() error { return watGemm.err } }

// TestWATSmallCalls runs the hand-written kernel's packing and im2col
// routines on every size (normally the small ones are left to Go) over
// the odd GEMM shapes and the convolutions.
func TestWATSmallCalls(t *testing.T) {
	k := kernelByName("f32_gemm_4x8__wasmsimd_wat")
	if !k.usable() {
		t.Skipf("not usable: %v", watGemm.err)
	}
	saved, savedMin := active, watPackMin
	active, watPackMin = k, 1
	defer func() { active, watPackMin = saved, savedMin }()
	r := rand.New(rand.NewPCG(9, 9))
	for _, m := range []int{1, 5, 33} {
		for _, n := range []int{1, 9, 49} {
			for _, kk := range []int{1, 6, 70} {
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					checkSgemm(t, r, tr[0], tr[1], m, n, kk, 1, 1, 0)
				}
			}
		}
	}
	for _, s := range convTestShapes {
		for _, oc := range []int{1, 9} {
			t.Run(fmt.Sprintf("%dx%dx%d_k%dx%d_s%d_oc%d", s.C, s.H, s.W, s.KH, s.KW, s.Stride, oc), func(t *testing.T) {
				checkConv(t, r, s, oc)
			})
		}
	}
}
