#!/usr/bin/env node
// GFLOP/s of conv2d forward, backprop-input and backprop-filter at batch 64 on the layer shapes of
// examples/resnet-fmnist-a, for the 'native', 'wasm' and 'cpu' backends in one run. Prints JSON.
// Run after `npm run build` (uses dist/). A kernel a backend lacks is recorded as null.
//   node bench/kernels.mjs [--batch 64] [--backends native,wasm,cpu]
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { nativeBackendInfo, registerNativeBackend } from '../dist/index.js';

const { values: options } = parseArgs({
  options: {
    batch: { type: 'string', default: '64' },
    backends: { type: 'string', default: 'native,wasm,cpu' },
  },
});
const batch = Number(options.batch);
const backends = options.backends.split(',');

// [name, input height/width, in channels, out channels, filter size, stride, pad]
const layers = [
  ['stem 3x3 1->16', 28, 1, 16, 3, 1, 'same'],
  ['layer1 3x3 16->16', 28, 16, 16, 3, 1, 'same'],
  ['layer2 entry 3x3/2 16->32 (padded 30x30)', 30, 16, 32, 3, 2, 'valid'],
  ['layer2 shortcut 1x1/2 16->32', 28, 16, 32, 1, 2, 'valid'],
  ['layer2 3x3 32->32', 14, 32, 32, 3, 1, 'same'],
  ['layer3 entry 3x3/2 32->64 (padded 16x16)', 16, 32, 64, 3, 2, 'valid'],
  ['layer3 shortcut 1x1/2 32->64', 14, 32, 64, 1, 2, 'valid'],
  ['layer3 3x3 64->64', 7, 64, 64, 3, 1, 'same'],
];

// Time budget and repetitions per measurement. The cpu backend needs 0.2 s per call here, and 10 s for
// a filter gradient, so it gets a single call and no warm-up.
const limits = {
  native: { budgetMs: 400, maxReps: 50, warmUp: true },
  wasm: { budgetMs: 600, maxReps: 20, warmUp: true },
  cpu: { budgetMs: 0, maxReps: 1, warmUp: false },
};

/** Median milliseconds per call of `run` (which returns a tensor). */
function time(run, { budgetMs, maxReps, warmUp }) {
  if (warmUp) tf.dispose(run());
  const samples = [];
  const start = performance.now();
  while (samples.length < maxReps && (samples.length === 0 || performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    const out = run();
    out.dataSync(); // every backend here is synchronous, but be explicit about completion
    samples.push(performance.now() - t0);
    tf.dispose(out);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

function measureLayer(backend, [, size, inC, outC, k, stride, pad]) {
  const xShape = [batch, size, size, inC];
  const filterShape = [k, k, inC, outC];
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, stride, 1, pad);
  const flops = 2 * batch * info.outHeight * info.outWidth * outC * inC * k * k;
  const gflops = (ms) => (ms === null ? null : Number((flops / ms / 1e6).toFixed(2)));
  const has = (kernel) => tf.getKernel(kernel, backend) !== undefined;
  const attrs = { strides: stride, pad, dataFormat: 'NHWC', dimRoundingMode: undefined };

  const x = tf.randomUniform(xShape, -1, 1);
  const filter = tf.randomUniform(filterShape, -1, 1);
  const dy = tf.randomUniform(info.outShape, -1, 1);
  const limit = limits[backend] ?? limits.native;
  const result = {
    forward: gflops(has('Conv2D') ? time(() => tf.conv2d(x, filter, stride, pad), limit) : null),
    backpropInput: gflops(
      has('Conv2DBackpropInput')
        ? time(
            () =>
              tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: xShape }),
            limit,
          )
        : null,
    ),
    backpropFilter: gflops(
      has('Conv2DBackpropFilter')
        ? time(
            () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape }),
            limit,
          )
        : null,
    ),
  };
  tf.dispose([x, filter, dy]);
  return result;
}

tf.enableProdMode();
const registration = registerNativeBackend();
const report = {
  batch,
  native: registration.ok ? null : registration,
  layers: layers.map(([name, size, inC, outC, k, stride, pad]) => ({
    name,
    input: [batch, size, size, inC],
    filter: [k, k, inC, outC],
    stride,
    pad,
    gflops: {},
  })),
  seconds: {},
};

for (const backend of backends) {
  if (backend === 'native' && !registration.ok) continue;
  const start = performance.now();
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to initialise`);
  await tf.ready();
  layers.forEach((layer, i) => {
    report.layers[i].gflops[backend] = measureLayer(backend, layer);
  });
  report.seconds[backend] = Number(((performance.now() - start) / 1000).toFixed(1));
}

// After the run, so that the thread count shown is the one the load led to.
if (registration.ok) report.native = nativeBackendInfo();
console.log(JSON.stringify(report, null, 2));
