import { CALIBRATION_CHOICES, DEFAULT_CONFIG, type RunConfig } from '@dfq/core';
import { z } from 'zod';

/**
 * The options a client may set for a queued run (the CLI's `dfq run` flags, minus paths: the
 * model comes from an upload and evaluation uses the server's dataset directory).
 */
export const runOptionsSchema = z
  .object({
    weightBits: z.number().int().min(1).max(16).default(DEFAULT_CONFIG.weightBits),
    activationBits: z.number().int().min(2).max(16).default(DEFAULT_CONFIG.activationBits),
    firstLastBits: z.number().int().min(1).max(16).nullable().default(DEFAULT_CONFIG.firstLastBits),
    synth: z.enum(['generative', 'direct', 'zeroq', 'noise', 'real']).default(DEFAULT_CONFIG.synth),
    images: z.number().int().min(1).max(4096).default(DEFAULT_CONFIG.images),
    iterations: z.number().int().min(1).max(100_000).default(DEFAULT_CONFIG.iterations),
    synthBatchSize: z.number().int().min(1).max(1024).default(DEFAULT_CONFIG.synthBatchSize),
    learningRate: z.number().positive().default(DEFAULT_CONFIG.learningRate),
    calibration: z.enum(CALIBRATION_CHOICES as [string, ...string[]]).default(DEFAULT_CONFIG.calibration),
    quantizer: z.enum(['rtn', 'pmf', 'pgd']).default(DEFAULT_CONFIG.quantizer),
    quantizerSteps: z.number().int().min(1).max(100_000).default(DEFAULT_CONFIG.quantizerSteps),
    accumulatorBits: z.union([z.literal(16), z.literal(32)]).default(DEFAULT_CONFIG.accumulatorBits),
    evaluate: z.boolean().default(false),
    evalLimit: z.number().int().min(1).nullable().default(null),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(DEFAULT_CONFIG.seed),
    backend: z
      .enum(['auto', 'tfjs-node-gpu', 'tfjs-node', 'native', 'wasm', 'cpu'])
      .default(DEFAULT_CONFIG.backend),
    inputMean: z.array(z.number()).min(1).nullable().default(null),
    inputStd: z.array(z.number().positive()).min(1).nullable().default(null),
    saveImages: z.boolean().default(true),
  })
  .strict();

export type RunOptions = z.infer<typeof runOptionsSchema>;

/** Turns validated options into the library's RunConfig for a model and output inside the store. */
export function toRunConfig(
  options: RunOptions,
  paths: { modelPath: string; outDir: string; evalDir: string | null },
): RunConfig {
  const { evaluate, ...rest } = options;
  return {
    ...DEFAULT_CONFIG,
    ...rest,
    modelPath: paths.modelPath,
    outDir: paths.outDir,
    evalDir: evaluate ? paths.evalDir : null,
  };
}

/** The data every stage job of a run carries: references, never tensors or images. */
export interface StageJobData {
  runId: string;
  tenant: string;
  /** Store key prefix of the run's artifacts: `<tenant>/runs/<runId>`. */
  prefix: string;
  /** Store key of the uploaded model.json. */
  modelKey: string;
  options: RunOptions;
  createdAt: string;
}
