#!/usr/bin/env node
// Times one training step (forward and backward, BatchNorm in training mode) of the example ResNet-8
// at batch 64 per backend, and lists where the time goes by kernel. Prints JSON. Run after the build.
//   node bench/resnet-step.mjs [--batch 64] [--backends native] [--steps 3]
// (cpu takes about a minute per step here; wasm has no Conv2DBackpropFilter, so it can't train.)
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { registerNativeBackend } from '../dist/index.js';

const { values: options } = parseArgs({
  options: {
    batch: { type: 'string', default: '64' },
    backends: { type: 'string', default: 'native' },
    steps: { type: 'string', default: '3' },
  },
});
const batch = Number(options.batch);
const steps = Number(options.steps);
const modelDir = new URL('../../../examples/resnet-fmnist-a/', import.meta.url);
const modelJson = JSON.parse(readFileSync(new URL('model.json', modelDir), 'utf8'));
const weights = readFileSync(new URL('group1-shard1of1.bin', modelDir));

tf.enableProdMode();
registerNativeBackend();
const report = { batch, backends: {} };

for (const backend of options.backends.split(',')) {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to initialise`);
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest[0].weights,
      weightData: new Uint8Array(weights).buffer,
    }),
  );
  const x = tf.randomNormal([batch, 28, 28, 1]);
  const step = () =>
    tf.tidy(() => tf.variableGrads(() => tf.mean(tf.square(model.apply(x, { training: true })))).value);
  tf.dispose(step()); // warm-up: primitive creation, allocations
  const start = performance.now();
  for (let i = 0; i < steps; i++) tf.dispose(step());
  const stepMs = (performance.now() - start) / steps;

  const profile = await tf.profile(() => tf.dispose(step()));
  const byKernel = new Map();
  for (const k of profile.kernels) {
    const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += k.kernelTimeMs;
    entry.calls++;
    byKernel.set(k.name, entry);
  }
  const top = [...byKernel]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, 12)
    .map(([kernel, { ms, calls }]) => ({ kernel, ms: Number(ms.toFixed(2)), calls }));
  report.backends[backend] = { stepMs: Number(stepMs.toFixed(1)), topKernels: top };
  tf.dispose(x);
  model.dispose();
}

console.log(JSON.stringify(report, null, 2));
