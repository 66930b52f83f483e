#!/usr/bin/env node
// Step 5: the weight quantizers on one synthetic image set. Synthesizes once, then for every
// setting calibrates, quantizes (rtn, pmf, pgd or recon; 32- or 16-bit accumulators) and evaluates on the
// full test split: fake-quantized, integer-only executor and stock-TF.js uint8 accuracy.
// Prints one JSON object; run by scripts/bench.mjs (section "quantizer"). BENCH_QUANTIZER_SEED sets the
// synthesis seed (the image set), default the run default.
//   node scripts/bench-quantizer.mjs <synth method> <images> <out dir> [setting name ...]
import { join, resolve } from 'node:path';
import {
  ArtifactStore,
  calibrateStage,
  DEFAULT_CONFIG,
  DEFAULT_FASHION_MNIST_DIR,
  quantizeStage,
  reportStage,
  resolveRunConfig,
  synthesizeStage,
} from '@dfq/core';

const [method, images, outDir, ...only] = process.argv.slice(2);
const ROOT = resolve(import.meta.dirname, '..');
const STEPS = Number(process.env.BENCH_QUANTIZER_STEPS ?? DEFAULT_CONFIG.quantizerSteps);
const SETTINGS = [
  { name: 'w4a8-rtn', weightBits: 4, activationBits: 8, quantizer: 'rtn' },
  { name: 'w4a8-pmf', weightBits: 4, activationBits: 8, quantizer: 'pmf' },
  { name: 'w4a4-rtn', weightBits: 4, activationBits: 4, quantizer: 'rtn' },
  { name: 'w4a4-pmf', weightBits: 4, activationBits: 4, quantizer: 'pmf' },
  { name: 'w4a4-pgd', weightBits: 4, activationBits: 4, quantizer: 'pgd' },
  { name: 'w4a4-pmf-acc16', weightBits: 4, activationBits: 4, quantizer: 'pmf', accumulatorBits: 16 },
  { name: 'w2a8-rtn', weightBits: 2, activationBits: 8, quantizer: 'rtn' },
  { name: 'w2a8-pmf', weightBits: 2, activationBits: 8, quantizer: 'pmf' },
  { name: 'w1a8-rtn', weightBits: 1, activationBits: 8, quantizer: 'rtn' },
  { name: 'w1a8-pmf', weightBits: 1, activationBits: 8, quantizer: 'pmf' },
  { name: 'w4a4-recon', weightBits: 4, activationBits: 4, quantizer: 'recon' },
  { name: 'w4a4-recon-acc16', weightBits: 4, activationBits: 4, quantizer: 'recon', accumulatorBits: 16 },
  { name: 'w3a3-rtn', weightBits: 3, activationBits: 3, quantizer: 'rtn' },
  { name: 'w3a3-pmf', weightBits: 3, activationBits: 3, quantizer: 'pmf' },
  { name: 'w3a3-recon', weightBits: 3, activationBits: 3, quantizer: 'recon' },
  { name: 'w2a8-recon', weightBits: 2, activationBits: 8, quantizer: 'recon' },
  { name: 'w1a8-recon', weightBits: 1, activationBits: 8, quantizer: 'recon' },
  // dfq's default convention with residual-add inputs at the activation bits: what --residual-bits 8 is worth.
  ...[
    [4, 4],
    [3, 3],
  ].flatMap(([weightBits, activationBits]) =>
    ['rtn', 'pmf', 'recon'].map((quantizer) => ({
      name: `w${weightBits}a${activationBits}-${quantizer}-residual-same`,
      weightBits,
      activationBits,
      quantizer,
      residualBits: null,
    })),
  ),
  // The other convention of published results: first and last layers at the same bits as the rest
  // (and, stricter than those results, residual-add inputs too).
  ...[
    [4, 4],
    [3, 3],
    [2, 8],
    [1, 8],
  ].flatMap(([weightBits, activationBits]) =>
    ['rtn', 'pmf', 'recon'].map((quantizer) => ({
      name: `w${weightBits}a${activationBits}-${quantizer}-same`,
      weightBits,
      activationBits,
      quantizer,
      firstLastBits: null,
      residualBits: null,
    })),
  ),
];
const calibration = process.env.BENCH_QUANTIZER_CALIB ?? 'mse';
const seed = Number(process.env.BENCH_QUANTIZER_SEED ?? DEFAULT_CONFIG.seed);
const store = new ArtifactStore(outDir);
const base = resolveRunConfig({
  ...DEFAULT_CONFIG,
  modelPath: join(ROOT, 'examples/resnet-fmnist-a/model.json'),
  outDir,
  synth: method,
  images: Number(images),
  seed,
  calibration,
  quantizerSteps: STEPS,
  evalDir: process.env.DFQ_FASHION_MNIST_DIR ?? DEFAULT_FASHION_MNIST_DIR,
  saveImages: false,
  cacheDir: join(outDir, 'generators'),
});
const started = Date.now();
const synthesis = await synthesizeStage(base, { store, prefix: '', onEvent: () => {} });
const rows = [];
for (const setting of SETTINGS) {
  if (only.length > 0 && !only.includes(setting.name)) continue;
  const { name, ...overrides } = setting;
  const config = resolveRunConfig({ ...base, ...overrides });
  const env = { store, prefix: name, onEvent: () => {} };
  const calib = await calibrateStage(config, synthesis, env);
  const startedAtMs = Date.now();
  const quantization = await quantizeStage(config, { synthesis, calibration: calib }, env);
  const report = await reportStage(
    config,
    { synthesis, calibration: calib, quantization, startedAt: '', startedAtMs },
    env,
  );
  const q = report.quantization;
  const e = report.evaluation;
  rows.push({
    name,
    ...overrides,
    accumulatorBits: q.accumulatorBits,
    calibration,
    fp32: e.fp32Accuracy,
    accuracy: e.quantizedAccuracy,
    integerAccuracy: e.integerAccuracy,
    integerAgreement: e.integerAgreement,
    integerImagesPerSecond: e.integerImagesPerSecond,
    tfjsUint8Accuracy: e.tfjsUint8Accuracy,
    overflows: q.overflows,
    overflowsChecked: q.overflowsChecked,
    layers16: q.layers.filter((l) => l.accumulator?.accumulatorBits === 16).map((l) => l.name),
    layers32: q.layers.filter((l) => l.accumulator?.accumulatorBits === 32).map((l) => l.name),
    bytesQuantized: q.bytesQuantized,
    quantizerSeconds: q.seconds,
    training: q.training && {
      steps: q.training.steps,
      lossInitial: q.training.lossInitial,
      lossFinal: q.training.lossFinal,
      changedFromNearest: q.training.changedFromNearest,
      seconds: q.training.seconds,
    },
    peakRssBytes: report.peakRssBytes,
  });
  console.error(
    `bench-quantizer: ${name}: ${(100 * e.quantizedAccuracy).toFixed(2)}% (integer ${(100 * e.integerAccuracy).toFixed(2)}%)`,
  );
}
process.stdout.write(
  `${JSON.stringify({ method, images: Number(images), seed, backend: synthesis.backend.name, synthesisSeconds: synthesis.summary.seconds, totalSeconds: (Date.now() - started) / 1000, rows })}\n`,
);
