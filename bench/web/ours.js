// ours.js (bench page): starts k of our Web Workers (the app's own
// bootstrap, /web/worker.js, and worker.wasm with its GEMM hook) and
// times rounds of the bench-step request: each round sends one step to
// every worker at once and ends when all have answered (k images per
// round at batch 1; no gradient exchange between the workers).
"use strict";

function startWorker() {
  return new Promise((resolve, reject) => {
    const w = new Worker("/web/worker.js");
    const pending = new Map();
    let nextId = 1;
    w.onmessage = (e) => {
      const m = e.data;
      if (m.type === "ready") {
        w.kernel = m.kernel;
        resolve(w);
        return;
      }
      const p = pending.get(m.id);
      if (p) {
        pending.delete(m.id);
        if (m.type === "error") {
          p.reject(new Error(m.message));
        } else {
          p.resolve(m);
        }
      } else if (m.type === "error") {
        reject(new Error(m.message));
      }
    };
    w.onerror = (e) => reject(new Error(e.message || "worker error"));
    w.request = (type, body) => new Promise((res, rej) => {
      const id = nextId++;
      pending.set(id, { resolve: res, reject: rej });
      w.postMessage({ type, id, body });
    });
  });
}

// benchWorkers times each mode in turn ("forward", "train") on the same
// k workers (each builds its network once, in the first warm-up round)
// and returns JSON: {kernel, setupMs, modes: {MODE: {roundMs: [...],
// goMs: [[...] per worker]}}}.
async function benchWorkers(k, modes, warmup, reps) {
  const workers = await Promise.all(Array.from({ length: k }, startWorker));
  try {
    const out = { kernel: workers[0].kernel, setupMs: 0, actMiB: 0, modes: {} };
    for (const mode of modes) {
      const goMs = workers.map(() => []);
      const step = async () => {
        const replies = await Promise.all(workers.map((w) => w.request("bench-step", { mode, batch: 1, size: 224 })));
        replies.forEach((r, i) => {
          goMs[i].push(r.body.ms);
          out.setupMs = Math.max(out.setupMs, r.body.setup);
          out.actMiB = r.body.actMiB;
        });
      };
      const roundMs = await timeRuns(step, warmup, reps);
      out.modes[mode] = { roundMs, goMs: goMs.map((g) => g.slice(warmup)) };
    }
    return JSON.stringify(out);
  } finally {
    workers.forEach((w) => w.terminate());
  }
}
