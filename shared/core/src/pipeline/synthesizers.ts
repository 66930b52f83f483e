import { homedir } from 'node:os';
import { join } from 'node:path';
import type { RunConfig, SynthesisMethod, SynthesisProgress } from '@dfq/contract';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import type { ModelGraph } from '../model/graph.js';
import { noiseImages, realImages } from '../synthesis/baseline-images.js';
import { DIRECT_PRESET, synthesizeDirect, ZEROQ_PRESET } from '../synthesis/direct-synthesis.js';
import { GENERATIVE_TRAINING, synthesizeGenerative } from '../synthesis/generative-synthesis.js';
import { generatorKey, loadGenerator, saveGenerator } from '../synthesis/generator-cache.js';
import type { SynthesisResult } from '../synthesis/synthesis-result.js';

/** A trained generator's cache entry, as the report states it. */
export interface GeneratorUse {
  key: string;
  reused: boolean;
  trainingSteps: number;
}

/** A run's config once sized: image and iteration counts decided (pipeline/run-sizing.ts). */
export type SizedRunConfig = Omit<RunConfig, 'images' | 'iterations' | 'synthBatchSize'> & {
  images: number;
  iterations: number;
  synthBatchSize: number;
  /** Stop a batch once its loss no longer falls (direct and zeroq). */
  stopOnPlateau: boolean;
  averageLayers: boolean;
};

export interface SynthesizerInput {
  config: SizedRunConfig;
  graph: ModelGraph;
  onProgress: (p: SynthesisProgress) => void;
  /** A one-line note for the run's log (e.g. a cached generator reused). */
  note: (message: string) => void;
}

/** Makes a run's calibration images (normalized NHWC; the caller disposes them). */
export type Synthesizer = (
  input: SynthesizerInput,
) => Promise<{ result: SynthesisResult; generator: GeneratorUse | null }>;

/** Adam's step for generator weights (--lr sets the pixel step of direct synthesis, a different scale). */
const GENERATOR_LEARNING_RATE = 0.01;

function generatorCacheDir(config: Pick<RunConfig, 'cacheDir'>): string {
  return config.cacheDir ?? process.env.DFQ_CACHE_DIR ?? join(homedir(), '.cache', 'dfq', 'generators');
}

const generative: Synthesizer = async ({ config, graph, onProgress, note }) => {
  const settings = {
    iterations: config.iterations,
    seed: config.seed,
    learningRate: GENERATOR_LEARNING_RATE,
    batch: config.synthBatchSize,
    ...GENERATIVE_TRAINING,
  };
  const key = generatorKey(graph, settings);
  const dir = generatorCacheDir(config);
  const cached = await loadGenerator(dir, key);
  if (cached) note(`reusing the generator trained earlier for this model (${key})`);
  const result = await synthesizeGenerative(graph, {
    images: config.images,
    iterations: config.iterations,
    seed: config.seed,
    batchSize: config.synthBatchSize,
    learningRate: GENERATOR_LEARNING_RATE,
    ...(cached ? { generator: cached } : {}),
    onProgress,
  });
  if (!cached) await saveGenerator(dir, key, result.generator);
  return { result, generator: { key, reused: cached !== null, trainingSteps: result.iterations } };
};

function direct(preset: typeof DIRECT_PRESET | typeof ZEROQ_PRESET): Synthesizer {
  return async ({ config, graph, onProgress }) => ({
    result: await synthesizeDirect(graph, {
      images: config.images,
      iterations: config.iterations,
      seed: config.seed,
      batchSize: config.synthBatchSize,
      learningRate: config.learningRate,
      stopOnPlateau: config.stopOnPlateau,
      averageLayers: config.averageLayers,
      ...preset,
      onProgress,
    }),
    generator: null,
  });
}

/**
 * The implementation of every synthesis method the contract's SYNTHESIS_METHODS registers
 * (capabilities and help live there; checkRun has already held the run to them).
 */
export const SYNTHESIZERS: Record<SynthesisMethod, Synthesizer> = {
  generative,
  direct: direct(DIRECT_PRESET),
  zeroq: direct(ZEROQ_PRESET),
  noise: async ({ config, graph }) => ({
    result: noiseImages(graph, config.images, config.seed),
    generator: null,
  }),
  real: async ({ config, graph }) => ({
    // checkRun has made sure an evaluation directory is set for this method.
    result: realImages(
      graph,
      await loadFashionMnist(config.evalDir as string, 'train'),
      config.images,
      config.seed,
    ),
    generator: null,
  }),
};
