// gemm_hook.js makes the Go module's memory reachable for the hand-written
// WebAssembly GEMM kernel of model/kernels (f32_gemm_4x8__wasmsimd_wat,
// see ../ukernel_f32x4_wasm_wat.go): when it is loaded before a Go js/wasm
// program is instantiated, it wraps WebAssembly.instantiate and
// instantiateStreaming so that the Go instance's memory is published as
// globalThis.goresnetWasmMemory before go.run starts the program. The Go
// side then assembles the kernel, instantiates it on that memory, checks
// that it is its own memory, and calls it once per packed block.
//
// Without this hook (e.g. under Go's own go_js_wasm_exec) nothing breaks:
// the Go program uses the archsimd kernel, f32_gemm_4x8__wasmsimd.
//
// Use: node --require gemm_hook.js wasm_exec_node.js prog.wasm (what
// go_js_wasm_exec beside this file does); in a Web Worker (assets/web/worker.js lists it in HOOK_SCRIPTS),
// importScripts("wasm_exec.js", "gemm_hook.js") before instantiating. One
// Go instance per JS global scope (a worker has one): a second instance
// would replace the first's memory here, and its kernel check would fail
// over to the archsimd kernel.
"use strict";
(() => {
  const wa = globalThis.WebAssembly;
  if (!wa || wa.__goresnetHooked) {
    return;
  }
  wa.__goresnetHooked = true;
  const publish = (result) => {
    const inst = result instanceof wa.Instance ? result : result && result.instance;
    const x = inst && inst.exports;
    // A Go js/wasm module exports run, resume, getsp and its memory mem.
    if (x && x.mem instanceof wa.Memory && typeof x.run === "function" && typeof x.resume === "function") {
      globalThis.goresnetWasmMemory = x.mem;
    }
    return result;
  };
  const instantiate = wa.instantiate;
  wa.instantiate = function (...args) {
    return instantiate.apply(this, args).then(publish);
  };
  if (typeof wa.instantiateStreaming === "function") {
    const streaming = wa.instantiateStreaming;
    wa.instantiateStreaming = function (...args) {
      return streaming.apply(this, args).then(publish);
    };
  }
})();
