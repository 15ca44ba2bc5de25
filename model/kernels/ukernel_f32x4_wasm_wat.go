//go:build goexperiment.simd && js && wasm

package kernels

import (
	_ "embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"syscall/js"
	"unsafe"

	"github.com/goresnet/goresnet/model/kernels/internal/wat"
)

// f32_gemm_4x8__wasmsimd_wat: the 4x8 tile in hand-written WebAssembly
// SIMD (wasm/f32_gemm_4x8.wat, which says why and what else was tried),
// 1.3-1.7x the archsimd kernel on BenchmarkSgemm (37-45 GFLOP/s). It
// runs whole packed blocks per call (the ukernel's block hook; edges as
// whole tiles into a buffer), and packs B, A and im2col rows with its own
// SIMD routines (packHooks). The fallback, and the odd corner tile, is
// the archsimd kernel f32_gemm_4x8__wasmsimd, with the same packing.
//
// How it is wired: the WAT text is embedded here and assembled when the
// program starts (internal/wat, ~0.3 ms), so no generated .wasm exists
// anywhere. It needs the Go instance's WebAssembly.Memory, which only the
// JS loader has: assets/web/gemm_hook.js publishes it as
// globalThis.goresnetWasmMemory (wasm/go_js_wasm_exec preloads it for
// tests; a browser worker loads it before instantiating, see the hook).
// Then the kernel module is instantiated on that memory and called
// through syscall/js with its parameters in Go memory: ~0.3 us and no
// allocation per call, against ~0.06 us for a //go:wasmimport call, but
// a wasmimport would make every js/wasm binary that links this package
// fail to instantiate (LinkError) under any loader that does not provide
// the import (Go's own test runner, go-app's loader), while this falls
// back to the archsimd kernel. At one call per block or packing job the
// calls are ~0.5% of a ResNet-50 forward (node's profiler).
func init() {
	registerKernel(&ukernel{
		name: "f32_gemm_4x8__wasmsimd_wat", priority: 20, mr: 4, nr: 8, kc: 256, mc: 256, nc: 4096,
		usable: watGemmUsable, fn: packed(gemm4x8WasmSIMD), packedA: true, block: watGemmBlock,
		pack: &packHooks{rows: watPackRows, cols: watPackCols, im2col: watIm2col},
	})
}

//go:embed wasm/f32_gemm_4x8.wat
var f32Gemm4x8WAT string

var watGemm struct {
	params [16]int32 // read by the kernel module at each call (kc, mc, nc, a, b, c, ldc for the block)
	fn     js.Value  // the kernel module's f32_gemm_4x8_block
	// its packing routines (B rows into panels of 8, A by 4x4
	// transposes, im2col rows)
	packRows, packCols, im2col js.Value
	done                       bool
	err                        error // why the kernel is not usable (nil if it is)
}

// errNoWasmMemory: the loader did not publish the Go memory (no hook).
var errNoWasmMemory = errors.New("globalThis.goresnetWasmMemory is not set (load assets/web/gemm_hook.js before instantiating)")

func watGemmUsable() bool {
	if !watGemm.done {
		watGemm.done = true
		watGemm.err = watGemmSetup()
	}
	return watGemm.err == nil
}

func watGemmSetup() (err error) {
	mem := js.Global().Get("goresnetWasmMemory")
	if mem.IsUndefined() || mem.IsNull() {
		return errNoWasmMemory
	}
	defer func() {
		// syscall/js turns a JS exception (say, a browser without wasm
		// SIMD) into a panic.
		if r := recover(); r != nil {
			err = fmt.Errorf("instantiating the wasm kernel: %v", r)
		}
	}()
	bin, err := wat.Assemble(f32Gemm4x8WAT)
	if err != nil {
		return err
	}
	buf := js.Global().Get("Uint8Array").New(len(bin))
	js.CopyBytesToJS(buf, bin)
	wa := js.Global().Get("WebAssembly")
	mod := wa.Get("Module").New(buf)
	inst := wa.Get("Instance").New(mod, map[string]any{"env": map[string]any{"mem": mem}})
	x := inst.Get("exports")
	// The kernel echoes the word at the parameter address: a random word
	// proves that it sees this program's memory.
	magic := int32(rand.Uint32() | 1)
	watGemm.params[0] = magic
	if got := x.Call("init", uintptr(unsafe.Pointer(&watGemm.params[0]))).Int(); int32(got) != magic {
		return errors.New("the published memory is not this program's (another Go instance in the same JS scope?)")
	}
	watGemm.fn = x.Get("f32_gemm_4x8_block")
	watGemm.packRows = x.Get("pack_rows_8")
	watGemm.packCols = x.Get("pack_cols_4")
	watGemm.im2col = x.Get("im2col_rows")
	return nil
}

// watPackMin: below this many values the Go packing is as fast as a call.
// (A variable for TestWATSmallCalls.)
var watPackMin = 2048

// watPackRows is packRows for panels of 8 (B).
func watPackRows(d, s unsafe.Pointer, rows, panels, nr, panelStride, rowStride int) bool {
	if nr != 8 || rows*panels*nr < watPackMin {
		return false
	}
	p := &watGemm.params
	p[0], p[1], p[2], p[3] = int32(rows), int32(panels), int32(uintptr(s)), int32(4*rowStride)
	p[4], p[5] = int32(uintptr(d)), int32(4*panelStride)
	watGemm.packRows.Invoke()
	return true
}

// watPackCols is packColPanels for panels of 4 (A as stored) and of 8
// (B^T, as the weight gradients read it): groups of 4 columns by 4x4
// transposes, a call per half of the panels of 8.
func watPackCols(d, s unsafe.Pointer, kc, panels, nr, js int) bool {
	if (nr != 4 && nr != 8) || kc*panels*nr < watPackMin {
		return false
	}
	for h := 0; h < nr/4; h++ {
		p := &watGemm.params
		p[0], p[1], p[2], p[3] = int32(kc), int32(panels), int32(uintptr(s)+uintptr(16*h*js)), int32(4*js)
		p[4], p[5], p[6], p[7] = int32(4*nr*js), int32(uintptr(d)+uintptr(16*h)), int32(4*nr), int32(4*kc*nr)
		watGemm.packCols.Invoke()
	}
	return true
}

// watGemmBlock is the block hook: whole tiles of a packed block.
func watGemmBlock(kc, mc, nc int, a, b, c unsafe.Pointer, ldc int) {
	p := &watGemm.params
	p[0], p[1], p[2] = int32(kc), int32(mc), int32(nc)
	p[3], p[4], p[5] = int32(uintptr(a)), int32(uintptr(b)), int32(uintptr(c))
	p[6] = int32(ldc)
	watGemm.fn.Invoke()
}

// watIm2col is the im2col hook (the kernel module's im2col_rows).
func watIm2col(v view, p0, rows, j0, w int, out []float32) bool {
	s := &v.conv
	if rows*w < watPackMin/2 || len(out) < rows*w || len(v.data) < s.C*s.H*s.W ||
		p0 < 0 || p0+rows > s.ColRows() || j0 < 0 || j0+w > s.ColCols() {
		return false
	}
	p := &watGemm.params
	p[0], p[1], p[2], p[3], p[4] = int32(uintptr(unsafe.Pointer(&v.data[0]))), int32(s.H), int32(s.W), int32(s.KH), int32(s.KW)
	p[5], p[6], p[7], p[8] = int32(s.Stride), int32(s.PadH), int32(s.PadW), int32(s.OW)
	p[9], p[10], p[11], p[12], p[13] = int32(p0), int32(rows), int32(j0), int32(w), int32(uintptr(unsafe.Pointer(&out[0])))
	watGemm.im2col.Invoke()
	return true
}
