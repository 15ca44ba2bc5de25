// Runs an ONNX model on one float32 input with onnxruntime (CPU) and writes
// the first output's values, for cli/export_test.go.
//
//   node run.js MODEL.onnx INPUT.bin N,C,H,W OUTPUT.bin
//
// INPUT.bin and OUTPUT.bin hold raw little-endian float32 values. The
// model's input and output names and the output's shape are printed as JSON.
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, input, dims, output] = process.argv.slice(2);
  if (!output) {
    throw new Error('usage: node run.js MODEL.onnx INPUT.bin N,C,H,W OUTPUT.bin');
  }
  const shape = dims.split(',').map(Number);
  const buf = fs.readFileSync(input);
  const x = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    graphOptimizationLevel: 'disabled',
  });
  const feeds = {};
  feeds[session.inputNames[0]] = new ort.Tensor('float32', x, shape);
  const results = await session.run(feeds);
  const y = results[session.outputNames[0]];
  fs.writeFileSync(output, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
  console.log(JSON.stringify({
    inputs: session.inputNames,
    outputs: session.outputNames,
    shape: y.dims,
    ort: ort.env.versions,
  }));
}

main().catch((e) => {
  console.error(String(e && e.stack || e));
  process.exit(1);
});
