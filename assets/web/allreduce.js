// allreduce.js: the summing loop of the training workers' all-reduce
// (worker/allreduce). Each worker sums its chunk of the K workers'
// gradient slots, which live in one SharedArrayBuffer, into the result
// region; Go calls this once per all-reduce (one call, not one per
// element: a syscall/js call costs about a microsecond). Numbers are
// float64 in JavaScript, so each element is summed in float64 in slot
// order and rounded to float32 once: the same bits on every worker,
// and the same as the Go reference (worker/allreduce.Memory).
//
// Loaded by worker.js (HOOK_SCRIPTS) before worker.wasm starts; the js/wasm
// tests load it with require.
"use strict";
(() => {
  const api = {
    // views makes the typed arrays once per buffer: k slots of capacity
    // float32s from byte offset slot0, and the result at byte offset result.
    views(sab, slot0, capacity, k, result) {
      const slots = [];
      for (let i = 0; i < k; i++) {
        slots.push(new Float32Array(sab, slot0 + i * capacity * 4, capacity));
      }
      return { slots, out: new Float32Array(sab, result, capacity) };
    },
    // sum sets out[lo:hi] to the sum of the slots' [lo:hi].
    sum(v, lo, hi) {
      const s = v.slots;
      const out = v.out;
      switch (s.length) {
        case 1:
          out.set(s[0].subarray(lo, hi), lo);
          return;
        case 2: {
          const a = s[0], b = s[1];
          for (let i = lo; i < hi; i++) out[i] = a[i] + b[i];
          return;
        }
        case 3: {
          const a = s[0], b = s[1], c = s[2];
          for (let i = lo; i < hi; i++) out[i] = a[i] + b[i] + c[i];
          return;
        }
        case 4: {
          const a = s[0], b = s[1], c = s[2], d = s[3];
          for (let i = lo; i < hi; i++) out[i] = a[i] + b[i] + c[i] + d[i];
          return;
        }
        default:
          for (let i = lo; i < hi; i++) {
            let x = s[0][i];
            for (let k = 1; k < s.length; k++) x += s[k][i];
            out[i] = x;
          }
      }
    },
  };
  globalThis.goresnetAllReduce = api;
  if (typeof module !== "undefined" && module.exports) {
    module.exports = api;
  }
})();
