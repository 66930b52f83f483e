#!/usr/bin/env node
// One calibration-image method, many quantization settings: synthesizes once, then calibrates,
// quantizes (round-to-nearest weights) and evaluates the fake-quantized model on the full test split
// for every bit width and range estimator given. The integer and uint8 exports a run also evaluates
// are left to the Step 5 bench: they do not depend on the images, and would triple the time here.
// Prints one JSON object; run by scripts/bench.mjs (section "synthesis").
//   node scripts/bench-synthesis.mjs <method> <images> <iterations> <out dir> [seed] [bits, e.g. 8/8,4/4]
import { join, resolve } from 'node:path';
import {
  ArtifactStore,
  activationFakeQuant,
  buildQuantizedModel,
  calibrateStage,
  DEFAULT_CONFIG,
  DEFAULT_FASHION_MNIST_DIR,
  evaluateGraphTop1,
  loadFashionMnist,
  prepareModel,
  RANGE_ESTIMATOR_METHODS,
  resolveRunConfig,
  synthesizeStage,
} from '@dfq/core';

const [method, images, iterations, outDir, seed = '1', bits = '8/8,4/8,4/4'] = process.argv.slice(2);
const ROOT = resolve(import.meta.dirname, '..');
const store = new ArtifactStore(outDir);
const base = resolveRunConfig({
  ...DEFAULT_CONFIG,
  modelPath: join(ROOT, 'examples/resnet-fmnist-a/model.json'),
  outDir,
  synth: method,
  images: Number(images),
  iterations: Number(iterations),
  seed: Number(seed),
  // Real test images give the diversity reference (and the real training images for 'real').
  evalDir: process.env.DFQ_FASHION_MNIST_DIR ?? DEFAULT_FASHION_MNIST_DIR,
  saveImages: true,
  cacheDir: join(outDir, 'generators'),
});
const quiet = { store, prefix: '', onEvent: () => {} };
const synthesis = await synthesizeStage(base, quiet);

const testSet = await loadFashionMnist(base.evalDir, 'test');

/** Top-1 of the fake-quantized model, built exactly as the quantize stage builds it (rtn weights). */
async function quantizedAccuracy(config, calibration) {
  const profile = JSON.parse((await store.get(calibration.profile)).toString('utf8'));
  const { folding, plan } = await prepareModel(config);
  const built = await buildQuantizedModel(
    folding.graph,
    plan,
    new Map(Object.entries(profile.ranges)),
    null,
    {
      quantizer: 'rtn',
      accumulatorBits: config.accumulatorBits,
      seed: config.seed,
    },
  );
  const result = await evaluateGraphTop1(
    built.model.graph,
    testSet,
    graph.normalization,
    {},
    activationFakeQuant(built.model),
  );
  return result.accuracy;
}

const { graph } = await prepareModel(base);
const fp32 = (await evaluateGraphTop1(graph, testSet, graph.normalization)).accuracy;

const rows = [];
for (const [w, a] of bits.split(',').map((b) => b.split('/').map(Number))) {
  for (const calibration of Object.keys(RANGE_ESTIMATOR_METHODS)) {
    const config = resolveRunConfig({ ...base, weightBits: w, activationBits: a, calibration });
    const calib = await calibrateStage(config, synthesis, {
      store,
      prefix: `w${w}a${a}-${calibration}`,
      onEvent: () => {},
    });
    const accuracy = await quantizedAccuracy(config, calib);
    rows.push({ weightBits: w, activationBits: a, calibration, accuracy, fp32 });
    console.error(
      `bench-synthesis: ${method} seed ${seed} W${w}A${a} ${calibration}: ${(100 * accuracy).toFixed(2)}%`,
    );
  }
}
process.stdout.write(
  `${JSON.stringify({ method, seed: Number(seed), backend: synthesis.backend.name, synthesis: synthesis.summary, peakRssBytes: synthesis.peakRssBytes, rows })}\n`,
);
