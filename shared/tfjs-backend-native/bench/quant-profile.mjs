#!/usr/bin/env node
// Profiles, per kernel, one fake-quantized forward pass of the example ResNet-8 at batch 250 (the
// evaluation path) and one BN-statistics synthesis step at batch 64 (the synthesis path), and reports
// which kernels the addon served and which went to the cpu fallback. Needs @dfq/core built.
//   node bench/quant-profile.mjs [--backend native] [--reps 3]
import { parseArgs } from 'node:util';
import {
  activationFakeQuant,
  bnStatisticsLoss,
  bnTargets,
  foldBatchNorm,
  GraphRunner,
  inputStatisticsLoss,
  loadModel,
  planQuantization,
  quantizeModel,
  selectBackend,
} from '@dfq/core';
import * as tf from '@tensorflow/tfjs';
import { nativeKernelNames, nativeKernelStats, resetNativeKernelStats } from '../dist/index.js';

const { values: options } = parseArgs({
  options: { backend: { type: 'string', default: 'native' }, reps: { type: 'string', default: '3' } },
});
const reps = Number(options.reps);
tf.enableProdMode();
await selectBackend(options.backend);
const modelUrl = new URL('../../../examples/resnet-fmnist-a/model.json', import.meta.url);
const { graph } = await loadModel(modelUrl.pathname);

async function profile(label, fn) {
  fn(); // warm-up
  const start = performance.now();
  for (let i = 0; i < reps; i++) fn();
  const wallMs = (performance.now() - start) / reps;
  resetNativeKernelStats();
  const p = await tf.profile(fn);
  const stats = nativeKernelStats();
  const byKernel = new Map();
  for (const k of p.kernels) {
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += await k.kernelTimeMs;
    e.calls++;
    byKernel.set(k.name, e);
  }
  const kernels = [...byKernel]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([kernel, { ms, calls }]) => {
      const s = stats[kernel];
      const path = !nativeKernelNames.includes(kernel)
        ? 'cpu'
        : s && s.cpu > 0
          ? `native ${s.native}/cpu ${s.cpu}`
          : 'native';
      return { kernel, ms: Number(ms.toFixed(2)), calls, path };
    });
  const kernelMs = kernels.reduce((a, k) => a + k.ms, 0);
  return { label, wallMs: Number(wallMs.toFixed(1)), kernelMs: Number(kernelMs.toFixed(1)), kernels };
}

// Evaluation: folded, weight-quantized graph with fake-quantized activations, batch 250.
const folded = foldBatchNorm(graph).graph;
const plan = planQuantization(folded, { weightBits: 8, activationBits: 8, firstLastBits: 8 });
const ranges = new Map([...plan.activationBits.keys()].map((name) => [name, { min: 0, max: 4 }]));
const quantized = quantizeModel(folded, plan, ranges);
const qRunner = new GraphRunner(quantized.graph);
const transform = activationFakeQuant(quantized);
const xEval = tf.randomNormal([250, 28, 28, 1]);
const evalPass = () =>
  tf.tidy(() => {
    const argmax = qRunner.predict(xEval, transform).argMax(-1);
    argmax.dataSync();
    return argmax;
  });

// Synthesis: gradient of the BN-statistics loss with respect to a batch of 64 images.
const runner = new GraphRunner(graph);
const targets = bnTargets(graph);
const taps = new Set(targets.map((t) => t.tap));
const loss = (x) => {
  const { taps: seen } = runner.run(x, { taps });
  let l = inputStatisticsLoss(x);
  for (const t of targets) l = l.add(bnStatisticsLoss(seen.get(t.tap), t));
  return l;
};
const vg = tf.valueAndGrad(loss);
const xSyn = tf.randomNormal([64, 28, 28, 1]);
const synStep = () => {
  const r = vg(xSyn);
  r.grad.dataSync();
  r.value.dispose();
  return r.grad;
};

const results = [
  await profile('eval batch 250 (fake-quant)', () => tf.dispose(evalPass())),
  await profile('synthesis step batch 64', () => tf.dispose(synStep())),
];
console.log(JSON.stringify({ backend: options.backend, results }, null, 1));
