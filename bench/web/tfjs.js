// tfjs.js (bench page): TensorFlow.js 4.22 with @tensorflow/tfjs-backend-wasm
// (XNNPACK; SIMD, and threads when the page is cross-origin isolated).
// The network is ResNet-50 built with tf.layers (channels last, random
// weights, nothing downloaded), in torchvision's v1.5 layout (stride on
// the 3x3 convolution), 25,557,032 parameters like ours.
"use strict";

function resnet50() {
  const L = tf.layers;
  const input = tf.input({ shape: [224, 224, 3] });
  const bn = () => L.batchNormalization({ axis: 3, epsilon: 1e-5, momentum: 0.9 });
  const conv = (filters, size, strides, x) =>
    L.conv2d({ filters, kernelSize: size, strides, padding: size === 1 ? "valid" : "same", useBias: false }).apply(x);
  let x = L.zeroPadding2d({ padding: 3 }).apply(input);
  x = L.conv2d({ filters: 64, kernelSize: 7, strides: 2, useBias: false }).apply(x);
  x = L.reLU().apply(bn().apply(x));
  x = L.zeroPadding2d({ padding: 1 }).apply(x);
  x = L.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x);
  const stages = [[64, 3, 1], [128, 4, 2], [256, 6, 2], [512, 3, 2]];
  for (const [width, blocks, stride] of stages) {
    for (let b = 0; b < blocks; b++) {
      const s = b === 0 ? stride : 1;
      let y = L.reLU().apply(bn().apply(conv(width, 1, 1, x)));
      y = L.reLU().apply(bn().apply(conv(width, 3, s, y)));
      y = bn().apply(conv(width * 4, 1, 1, y));
      const shortcut = b === 0 ? bn().apply(conv(width * 4, 1, s, x)) : x;
      x = L.reLU().apply(L.add().apply([y, shortcut]));
    }
  }
  x = L.globalAveragePooling2d({}).apply(x);
  const logits = L.dense({ units: 1000 }).apply(x);
  return tf.model({ inputs: input, outputs: logits });
}

// benchTfjs returns JSON: {backend, threads, simd, multithread, params,
// version, forwardMs: [...], trainError | trainMs}.
async function benchTfjs(threads, warmup, reps, tryTrain) {
  tf.wasm.setWasmPaths("/bench/js/@tensorflow/tfjs-backend-wasm/dist/");
  if (threads > 0) {
    tf.wasm.setThreadsCount(threads);
  }
  if (!(await tf.setBackend("wasm"))) {
    throw new Error("the wasm backend did not initialise");
  }
  await tf.ready();
  const out = {
    backend: tf.getBackend(),
    version: tf.version.tfjs,
    simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"),
    multithread: await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"),
    threads: tf.wasm.getThreadsCount(),
    isolated: self.crossOriginIsolated === true,
  };
  const model = resnet50();
  out.params = model.countParams();
  const x = tf.randomNormal([1, 224, 224, 3]);
  out.forwardMs = await timeRuns(() => {
    const y = model.predict(x);
    y.dataSync();
    y.dispose();
  }, warmup, reps);

  if (!tryTrain) {
    return JSON.stringify(out);
  }
  // The training step: forward, softmax cross-entropy, gradients of
  // every trainable weight (what model.fit does, without the update).
  const labels = tf.oneHot(tf.tensor1d([0], "int32"), 1000);
  const trainStep = () => {
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true })));
    value.dispose();
    for (const g of Object.values(grads)) {
      g.dataSync();
      g.dispose();
    }
  };
  try {
    out.trainMs = await timeRuns(trainStep, warmup, reps);
  } catch (err) {
    out.trainError = errorText(err);
  }
  return JSON.stringify(out);
}
