import {
  BACKEND_CHOICES,
  CALIBRATION_CHOICES,
  DEFAULT_CONFIG,
  DEFAULT_FASHION_MNIST_DIR,
  type RunConfig,
  WEIGHT_QUANTIZERS,
} from '@dfq/core';
import { type Command, Option } from 'commander';
import { intOption, numberList, positiveNumber } from './options.js';

/** The quantization options `dfq run` and `dfq submit` share, so both accept the same flags. */
export function addRunOptions(command: Command): Command {
  return command
    .requiredOption('--model <model.json>', 'TF.js Layers model.json (or its directory)')
    .option(
      '--w-bits <n>',
      'weight bits (1 = binary, 2 = ternary)',
      intOption(1, 16),
      DEFAULT_CONFIG.weightBits,
    )
    .option('--a-bits <n>', 'activation bits', intOption(2, 16), DEFAULT_CONFIG.activationBits)
    .option(
      '--first-last-bits <n>',
      "bits of the first and last layers ('same' keeps --w-bits/--a-bits)",
      (v) => (v === 'same' ? null : intOption(1, 16)(v)),
      DEFAULT_CONFIG.firstLastBits,
    )
    .addOption(
      new Option('--synth <method>', 'calibration images')
        .choices(['generative', 'direct', 'zeroq', 'noise', 'real'])
        .default(DEFAULT_CONFIG.synth),
    )
    .option('--images <n>', 'number of calibration images', intOption(1, 100_000), DEFAULT_CONFIG.images)
    .option(
      '--iterations <n>',
      'optimization steps per batch (direct synthesis)',
      intOption(1, 1_000_000),
      DEFAULT_CONFIG.iterations,
    )
    .option(
      '--synth-batch <n>',
      'images optimized together (direct synthesis)',
      intOption(1, 4096),
      DEFAULT_CONFIG.synthBatchSize,
    )
    .option(
      '--lr <x>',
      'Adam learning rate for direct synthesis',
      positiveNumber,
      DEFAULT_CONFIG.learningRate,
    )
    .addOption(
      new Option(
        '--calib <method>',
        'activation range estimator (auto: mse below 8 activation bits, else minmax)',
      )
        .choices(CALIBRATION_CHOICES)
        .default(DEFAULT_CONFIG.calibration),
    )
    .addOption(
      new Option(
        '--quantizer <method>',
        'weight quantizer: round-to-nearest, proximal mean-field, projected gradient',
      )
        .choices([...WEIGHT_QUANTIZERS])
        .default(DEFAULT_CONFIG.quantizer),
    )
    .option(
      '--quantizer-steps <n>',
      'distillation steps on the synthetic images (pmf, pgd)',
      intOption(1, 1_000_000),
      DEFAULT_CONFIG.quantizerSteps,
    )
    .addOption(
      new Option('--acc-bits <n>', 'integer accumulator width that must never overflow')
        .choices(['16', '32'])
        .default(String(DEFAULT_CONFIG.accumulatorBits)),
    )
    .option(
      '--eval [dir]',
      `evaluate FP32 and quantized top-1 on Fashion-MNIST's test split (IDX directory, default ${DEFAULT_FASHION_MNIST_DIR}; queued runs use the server's)`,
    )
    .option('--eval-limit <n>', 'evaluate on the first N test images only', intOption(1, 10_000_000))
    .option('--seed <n>', 'random seed', intOption(0, 2 ** 31 - 1), DEFAULT_CONFIG.seed)
    .addOption(
      new Option('--backend <name>', 'tensor backend (env DFQ_BACKEND)').choices([...BACKEND_CHOICES]),
    )
    .option('--input-mean <list>', 'input normalization mean(s), overriding model metadata', numberList)
    .option('--input-std <list>', 'input normalization std(s), overriding model metadata', numberList)
    .option('--no-save-images', 'do not write PNG images')
    .option(
      '--cache-dir <dir>',
      'where trained generators are kept for reuse (env DFQ_CACHE_DIR, default ~/.cache/dfq/generators)',
    );
}

/** The parsed flags as the library's config, minus where the model and output live. */
// biome-ignore lint/suspicious/noExplicitAny: commander hands parsed flags over untyped
export function runSettings(opts: Record<string, any>): Omit<RunConfig, 'modelPath' | 'outDir'> {
  return {
    ...DEFAULT_CONFIG,
    weightBits: opts.wBits,
    activationBits: opts.aBits,
    firstLastBits: opts.firstLastBits,
    synth: opts.synth,
    images: opts.images,
    iterations: opts.iterations,
    synthBatchSize: opts.synthBatch,
    learningRate: opts.lr,
    calibration: opts.calib,
    quantizer: opts.quantizer,
    quantizerSteps: opts.quantizerSteps,
    accumulatorBits: Number(opts.accBits) as 16 | 32,
    evalDir: opts.eval === undefined ? null : opts.eval === true ? DEFAULT_FASHION_MNIST_DIR : opts.eval,
    evalLimit: opts.evalLimit ?? null,
    seed: opts.seed,
    backend: opts.backend ?? 'auto',
    inputMean: opts.inputMean ?? null,
    inputStd: opts.inputStd ?? null,
    saveImages: opts.saveImages !== false,
    cacheDir: opts.cacheDir ?? null,
  };
}
