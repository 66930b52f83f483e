#!/usr/bin/env node
// Peak memory of direct synthesis (64 images, labels and jitter) on the example ResNet-8: the part of a
// W8A8 run where native and cpu peak. Prints the tensors' peak bytes as TF.js counts them and the
// process's peak RSS. With --gc-ms N (run node with --expose-gc) garbage is collected every N ms, which
// shows how much of the peak is dead arrays waiting for V8. Needs @dfq/core built.
//   node [--expose-gc] bench/synthesis-memory.mjs [--backend native] [--iterations 5] [--gc-ms 20]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DIRECT_PRESET, loadModel, selectBackend, synthesizeDirect } from '@dfq/core';
import * as tf from '@tensorflow/tfjs';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'native' },
    iterations: { type: 'string', default: '5' },
    'gc-ms': { type: 'string' },
  },
});
if (values['gc-ms']) {
  if (typeof globalThis.gc !== 'function') throw new Error('--gc-ms needs node --expose-gc');
  setInterval(globalThis.gc, Number(values['gc-ms'])).unref();
}
await selectBackend(values.backend);
const model = fileURLToPath(new URL('../../../examples/resnet-fmnist-a/model.json', import.meta.url));
const { graph } = await loadModel(model);
const rssBefore = process.memoryUsage().rss;
const profile = await tf.profile(async () => {
  const result = await synthesizeDirect(graph, {
    images: 64,
    iterations: Number(values.iterations),
    seed: 1,
    ...DIRECT_PRESET,
  });
  result.images.dispose();
});
const mib = (bytes) => Math.round(bytes / 2 ** 20);
console.log(
  JSON.stringify({
    backend: values.backend,
    iterations: Number(values.iterations),
    gcEveryMs: values['gc-ms'] ? Number(values['gc-ms']) : null,
    tensorPeakMiB: mib(profile.peakBytes),
    rssBeforeMiB: mib(rssBefore),
    peakRssMiB: mib(process.resourceUsage().maxRSS * 1024),
  }),
);
