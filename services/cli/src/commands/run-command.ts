import {
  BACKEND_CHOICES,
  backendFromEnv,
  CALIBRATION_METHODS,
  DEFAULT_CONFIG,
  type RunConfig,
  runPipeline,
} from '@dfq/core';
import { type Command, Option } from 'commander';
import { intOption, numberList, positiveNumber } from '../options.js';
import { progressPrinter } from '../progress-printer.js';

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(
      'quantize a TF.js Layers model in this process: synthesize -> calibrate -> quantize -> report',
    )
    .requiredOption('--model <model.json>', 'TF.js Layers model.json (or its directory)')
    .requiredOption('--out <dir>', 'output directory for report.json, the quantized model and images')
    .option('--w-bits <n>', 'weight bits', intOption(2, 16), DEFAULT_CONFIG.weightBits)
    .option('--a-bits <n>', 'activation bits', intOption(2, 16), DEFAULT_CONFIG.activationBits)
    .option(
      '--first-last-bits <n>',
      "bits of the first and last layers ('same' keeps --w-bits/--a-bits)",
      (v) => (v === 'same' ? null : intOption(2, 16)(v)),
      DEFAULT_CONFIG.firstLastBits,
    )
    .addOption(
      new Option('--synth <method>', 'calibration images')
        .choices(['direct', 'noise', 'real'])
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
      new Option('--calib <method>', 'activation range estimator')
        .choices(Object.keys(CALIBRATION_METHODS))
        .default(DEFAULT_CONFIG.calibration),
    )
    .option(
      '--eval <dir>',
      'Fashion-MNIST IDX directory: evaluate FP32 and quantized top-1 on its test split',
    )
    .option('--eval-limit <n>', 'evaluate on the first N test images only', intOption(1, 10_000_000))
    .option('--seed <n>', 'random seed', intOption(0, 2 ** 31 - 1), DEFAULT_CONFIG.seed)
    .addOption(
      new Option('--backend <name>', 'tensor backend (env DFQ_BACKEND)').choices([...BACKEND_CHOICES]),
    )
    .option('--input-mean <list>', 'input normalization mean(s), overriding model metadata', numberList)
    .option('--input-std <list>', 'input normalization std(s), overriding model metadata', numberList)
    .option('--no-save-images', 'do not write PNG images')
    .action(async (opts) => {
      const config: RunConfig = {
        ...DEFAULT_CONFIG,
        modelPath: opts.model,
        outDir: opts.out,
        weightBits: opts.wBits,
        activationBits: opts.aBits,
        firstLastBits: opts.firstLastBits,
        synth: opts.synth,
        images: opts.images,
        iterations: opts.iterations,
        synthBatchSize: opts.synthBatch,
        learningRate: opts.lr,
        calibration: opts.calib,
        evalDir: opts.eval ?? null,
        evalLimit: opts.evalLimit ?? null,
        seed: opts.seed,
        backend: opts.backend ?? backendFromEnv() ?? 'auto',
        inputMean: opts.inputMean ?? null,
        inputStd: opts.inputStd ?? null,
        saveImages: opts.saveImages !== false,
      };
      const report = await runPipeline(config, progressPrinter());
      const e = report.evaluation;
      const lines = [
        `backend            ${report.backend}`,
        `model              ${report.model.name} (${report.model.params} params)`,
        `synthesis          ${report.synthesis.method}, ${report.synthesis.images} images, ${report.synthesis.seconds.toFixed(1)} s`,
        `size               ${report.quantization.bytesFp32} -> ${report.quantization.bytesQuantized} bytes`,
        e
          ? `accuracy           FP32 ${pct(e.fp32Accuracy)}  W${config.weightBits}A${config.activationBits} ${pct(e.quantizedAccuracy)}  (${e.samples} test images)`
          : 'accuracy           not evaluated (pass --eval <dir>)',
        `peak memory        ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
        `total              ${report.totalSeconds.toFixed(1)} s`,
        `report             ${config.outDir}/report.json`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
