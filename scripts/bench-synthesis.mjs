#!/usr/bin/env node
// One calibration-image method, many quantization settings: synthesizes once, then calibrates,
// quantizes and evaluates (full test split) for every bit width and range estimator given.
// Prints one JSON object; run by scripts/bench.mjs (section "synthesis").
//   node scripts/bench-synthesis.mjs <method> <images> <iterations> <out dir>
import { join, resolve } from 'node:path';
import {
  ArtifactStore,
  calibrateStage,
  DEFAULT_CONFIG,
  DEFAULT_FASHION_MNIST_DIR,
  quantizeStage,
  synthesizeStage,
} from '@dfq/core';

const [method, images, iterations, outDir] = process.argv.slice(2);
const ROOT = resolve(import.meta.dirname, '..');
const store = new ArtifactStore(outDir);
const base = {
  ...DEFAULT_CONFIG,
  modelPath: join(ROOT, 'examples/resnet-fmnist-a/model.json'),
  outDir,
  synth: method,
  images: Number(images),
  iterations: Number(iterations),
  evalDir: process.env.DFQ_FASHION_MNIST_DIR ?? DEFAULT_FASHION_MNIST_DIR,
  saveImages: true,
  cacheDir: join(outDir, 'generators'),
};
const quiet = { store, prefix: '', onEvent: () => {} };
const started = Date.now();
const synthesis = await synthesizeStage(base, quiet);
const rows = [];
for (const [w, a] of [
  [8, 8],
  [4, 8],
  [4, 4],
]) {
  for (const calibration of ['minmax', 'percentile', 'mse', 'kl', 'bn']) {
    const config = { ...base, weightBits: w, activationBits: a, calibration };
    const env = { store, prefix: `w${w}a${a}-${calibration}`, onEvent: () => {} };
    const calib = await calibrateStage(config, synthesis, env);
    const report = await quantizeStage(
      config,
      { synthesis, calibration: calib, startedAt: '', startedAtMs: started },
      env,
    );
    rows.push({
      weightBits: w,
      activationBits: a,
      calibration,
      accuracy: report.evaluation.quantizedAccuracy,
      fp32: report.evaluation.fp32Accuracy,
    });
    console.error(
      `bench-synthesis: ${method} W${w}A${a} ${calibration}: ${(100 * report.evaluation.quantizedAccuracy).toFixed(2)}%`,
    );
  }
}
process.stdout.write(
  `${JSON.stringify({ method, backend: synthesis.backend.name, synthesis: synthesis.summary, peakRssBytes: synthesis.peakRssBytes, rows })}\n`,
);
