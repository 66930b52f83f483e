#!/usr/bin/env node
// Step 7's second yardstick: one step of mean-field (pmf) weight distillation, on dfq's backend and on
// PyTorch's CPU (scripts/peer/mean-field-step.py, Debian's python3-torch), same folded model, level
// scores, scales, activation quantizers, images, batch and thread count, in one run. A step: teacher
// forward with taps, each weight's expected value under softmax(beta * scores), student forward with
// fake-quantized activations (straight-through gradient), KL + per-layer feature loss, backward to
// scores, scales and biases, two Adam updates. Images are seeded noise (timing only). Prints JSON.
//   node scripts/bench-meanfield.mjs [steps 20] [batch 64] [w bits 4] [a bits 4] [model.json]
// The first and last layers stay at 8 bits (dfq's default), except on a 1000-class model, where 256
// level scores for each of the classifier's 1.3 M weights would dominate: there all layers take the
// asked widths.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as core from '@dfq/core';
import * as tf from '@tensorflow/tfjs';
import { ensureTorch } from './peer/ensure-torch.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const [
  steps = '20',
  batch = '64',
  wBits = '4',
  aBits = '4',
  MODEL = join(ROOT, 'examples/resnet-fmnist-a/model.json'),
] = process.argv.slice(2);
const THREADS = Number(process.env.OMP_NUM_THREADS ?? 2);

const used = await core.selectBackend('native');
const { graph: unfolded } = await core.loadModel(MODEL);
const config = core.resolveRunConfig({
  ...core.DEFAULT_CONFIG,
  modelPath: MODEL,
  outDir: tmpdir(),
  weightBits: Number(wBits),
  activationBits: Number(aBits),
  ...(core.classCount(unfolded) > 100 ? { firstLastBits: null } : {}),
});
const { folding, plan } = await core.prepareModel(config);
const graph = folding.graph;
const shape = core.inputNode(graph).shape;
const images = tf.tidy(() =>
  tf.randomNormal([Number(batch), ...shape], 0, 1, 'float32', 5).clipByValue(-2, 2),
);
const profile = core.calibrate(
  new core.GraphRunner(graph),
  images,
  plan.activationBits.keys(),
  (n) => ({ bits: plan.activationBits.get(n) }),
  { method: 'minmax' },
);
const init = core.quantizeModel(graph, plan, new Map(Object.entries(profile.ranges)));
// The peer keeps calibrated activation steps, so the timed work does too.
const options = {
  ...core.DEFAULT_MEAN_FIELD,
  projection: 'softmax',
  batchSize: Number(batch),
  learnActivationSteps: false,
  seed: 1,
};

// Warm-up (primitives, allocations), then the timed steps: from the end of the first step to the end of
// the last, as the peer times them (state setup and the final argmax are outside).
await core.trainMeanField(graph, init, images, { ...options, steps: 2 });
const stepEnds = [];
const trained = await core.trainMeanField(graph, init, images, {
  ...options,
  steps: Number(steps) + 1,
  onProgress: () => stepEnds.push(performance.now()),
});
const seconds = ((stepEnds.at(-1) ?? 0) - (stepEnds[0] ?? 0)) / 1000;
const dfq = {
  engine: `dfq ${used.name}`,
  steps: Number(steps),
  batch: Number(batch),
  msPerStep: (1000 * seconds) / Number(steps),
  lossInitial: trained.lossInitial,
  lossFinal: trained.lossFinal,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
};

// Everything the peer needs to do the same work: folded graph, initial quantizers, images.
const dir = mkdtempSync(join(tmpdir(), 'dfq-meanfield-'));
const nodes = graph.nodes.map((n) => {
  const { kernel, bias, ...rest } = n;
  return {
    ...rest,
    ...(kernel ? { kernel: { shape: kernel.shape, data: Array.from(kernel.data) } } : {}),
    ...(bias ? { bias: Array.from(bias.data) } : {}),
  };
});
const weights = Object.fromEntries(
  [...init.weights].map(([name, w]) => [
    name,
    {
      bits: w.bits,
      maxLevel: w.maxLevel,
      scales: Array.from(w.scales),
      levels: core.weightLevels(w.bits, w.maxLevel),
    },
  ]),
);
const activations = Object.fromEntries([...init.activations].map(([name, p]) => [name, p]));
writeFileSync(join(dir, 'images.f32'), Buffer.from((await images.data()).buffer));
writeFileSync(
  join(dir, 'problem.json'),
  JSON.stringify({
    nodes,
    output: graph.outputName,
    weights,
    activations,
    imageShape: images.shape,
    options,
  }),
);
ensureTorch();
const peer = JSON.parse(
  execFileSync(
    '/usr/bin/python3',
    [join(ROOT, 'scripts/peer/mean-field-step.py'), dir, steps, String(THREADS)],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  ),
);
console.log(
  JSON.stringify({
    model: `${graph.name} (${shape.join('x')}), W${wBits}A${aBits}`,
    threads: THREADS,
    dfq,
    peer,
    dfqOverPeer: dfq.msPerStep / peer.msPerStep,
    memoryRatio: dfq.peakRssBytes / peer.peakRssBytes,
  }),
);
