// ort.js (bench page): onnxruntime-web's wasm execution provider (SIMD,
// threads when the page is cross-origin isolated) on /bench/model.onnx,
// the file `goresnet export --format onnx` wrote for a freshly initialised
// ResNet-50 (batch norms folded into the convolutions).
"use strict";

// benchOrt returns JSON: {version, threads, isolated, forwardMs: [...], training}.
async function benchOrt(threads, warmup, reps) {
  ort.env.wasm.wasmPaths = "/bench/js/onnxruntime-web/dist/";
  ort.env.wasm.numThreads = threads;
  const model = await (await fetch("/bench/model.onnx")).arrayBuffer();
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const out = {
    version: ort.env.versions && ort.env.versions.web,
    threads: ort.env.wasm.numThreads,
    isolated: self.crossOriginIsolated === true,
    inputs: session.inputNames,
    training: typeof ort.TrainingSession,
  };
  const data = new Float32Array(3 * 224 * 224);
  for (let i = 0; i < data.length; i++) {
    data[i] = Math.random() * 2 - 1;
  }
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", data, [1, 3, 224, 224]) };
  out.forwardMs = await timeRuns(async () => {
    const r = await session.run(feeds);
    for (const t of Object.values(r)) {
      t.dispose && t.dispose();
    }
  }, warmup, reps);
  await session.release();
  return JSON.stringify(out);
}
