#!/usr/bin/env node
// Step 7's yardstick: BN-statistics synthesis (the zeroq preset: forward, per-channel batch mean and
// std of every BatchNorm input, distance to the running statistics, backward to the pixels, Adam)
// on dfq's backend and on PyTorch's CPU (Debian's python3-torch, installed here when missing), same
// model, image count, iterations and thread count, in one run. Then where dfq's time goes: per
// kernel (tf.profile), and the share spent outside kernels. Prints one JSON object.
//   node scripts/bench-engine.mjs [images 64] [iterations 20] [backend native] [model.json]
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { inputNode, loadModel, selectBackend, synthesizeDirect, ZEROQ_PRESET } from '@dfq/core';
import * as tf from '@tensorflow/tfjs';
import { ensureTorch } from './peer/ensure-torch.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const [
  images = '64',
  iterations = '20',
  backend = 'native',
  MODEL = join(ROOT, 'examples/resnet-fmnist-a/model.json'),
] = process.argv.slice(2);
const THREADS = Number(process.env.OMP_NUM_THREADS ?? 2);

const used = await selectBackend(backend);
const { graph } = await loadModel(MODEL);
const settings = { images: Number(images), batchSize: Number(images), seed: 1, ...ZEROQ_PRESET };
// Warm-up (kernel primitives, allocations), then the timed run.
tf.dispose((await synthesizeDirect(graph, { ...settings, iterations: 2 })).images);
const start = performance.now();
const timed = await synthesizeDirect(graph, { ...settings, iterations: Number(iterations) });
const seconds = (performance.now() - start) / 1000;
tf.dispose(timed.images);

// One profiled pass of 3 iterations: kernel time by kernel, and what is left for JS and dispatch.
const profiledStart = performance.now();
const profile = await tf.profile(async () => {
  tf.dispose((await synthesizeDirect(graph, { ...settings, iterations: 3 })).images);
});
const profiledMs = performance.now() - profiledStart;
const byKernel = new Map();
for (const k of profile.kernels) {
  const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
  entry.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  entry.calls++;
  byKernel.set(k.name, entry);
}
const kernelMs = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);
const dfq = {
  engine: `dfq ${used.name}`,
  images: Number(images),
  iterations: Number(iterations),
  secondsPerIteration: seconds / Number(iterations),
  msPerImageIteration: (1000 * seconds) / Number(iterations) / Number(images),
  lossFinal: timed.lossFinal,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  profile: {
    iterations: 3,
    wallMs: profiledMs,
    kernelMs,
    kernelCalls: profile.kernels.length,
    outsideKernelsShare: 1 - kernelMs / profiledMs,
    topKernels: [...byKernel]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 15)
      .map(([kernel, { ms, calls }]) => ({ kernel, ms: Number(ms.toFixed(1)), calls })),
  },
};

ensureTorch();
const peer = JSON.parse(
  execFileSync(
    '/usr/bin/python3',
    [join(ROOT, 'scripts/peer/bn-synthesis.py'), MODEL, images, iterations, String(THREADS)],
    { encoding: 'utf8' },
  ),
);
process.stdout.write(
  `${JSON.stringify({ model: `${graph.name} (${inputNode(graph).shape.join('x')})`, threads: THREADS, dfq, peer, dfqOverPeer: dfq.msPerImageIteration / peer.msPerImageIteration, memoryRatio: dfq.peakRssBytes / peer.peakRssBytes }, null, 2)}\n`,
);
