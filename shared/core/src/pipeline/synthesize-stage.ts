import { homedir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend/select-backend.js';
import { FASHION_MNIST_CLASSES, type LabelledImages, loadFashionMnist } from '../data/fashion-mnist.js';
import { normalizedBatch } from '../data/normalize.js';
import { encodeNpy } from '../data/npy.js';
import { saveClassContactSheet } from '../images/class-contact-sheet.js';
import { saveImages } from '../images/save-images.js';
import type { ModelGraph } from '../model/graph.js';
import { GraphRunner } from '../model/graph-runner.js';
import { loadModel } from '../model/load-model.js';
import { noiseImages, realImages } from '../synthesis/baseline-images.js';
import { DIRECT_PRESET, synthesizeDirect, ZEROQ_PRESET } from '../synthesis/direct-synthesis.js';
import { GENERATIVE_TRAINING, synthesizeGenerative } from '../synthesis/generative-synthesis.js';
import { generatorKey, loadGenerator, saveGenerator } from '../synthesis/generator-cache.js';
import { classCount } from '../synthesis/labels.js';
import { bnLossPerLayer, predictWithFeatures, withinClassDiversity } from '../synthesis/quality.js';
import type { SynthesisResult } from '../synthesis/synthesis-result.js';
import { modelOptions } from './model-options.js';
import type { RunConfig } from './run-config.js';
import { peakRssBytes, type StageEnv, type SynthesisOutput, secondsSince, stageKey } from './stage-env.js';

const REAL_DIVERSITY_SAMPLE = 1000;

/** Adam's step for generator weights (--lr sets the pixel step of direct synthesis, a different scale). */
const GENERATOR_LEARNING_RATE = 0.01;

export function generatorCacheDir(config: RunConfig): string {
  return config.cacheDir ?? process.env.DFQ_CACHE_DIR ?? join(homedir(), '.cache', 'dfq', 'generators');
}

function classNames(graph: ModelGraph): string[] {
  const n = classCount(graph);
  const named = graph.metadata.classNames;
  if (Array.isArray(named) && named.length === n) return named.map(String);
  if (graph.metadata.dataset === 'fashion-mnist' && n === 10) return FASHION_MNIST_CLASSES;
  return Array.from({ length: n }, (_, i) => `class ${i}`);
}

/** Diversity of real test images, as the yardstick for synthetic diversity (evaluation data only). */
function realDiversity(runner: GraphRunner, test: LabelledImages, graph: ModelGraph): number {
  const n = Math.min(REAL_DIVERSITY_SAMPLE, test.count);
  const images = normalizedBatch(test, 0, n, graph.normalization);
  try {
    return withinClassDiversity(predictWithFeatures(runner, images).features, test.labels.subarray(0, n));
  } finally {
    images.dispose();
  }
}

async function makeImages(
  config: RunConfig,
  graph: ModelGraph,
  env: StageEnv,
): Promise<{ result: SynthesisResult; generator: SynthesisOutput['summary']['generator'] }> {
  const onProgress = (
    progress: Parameters<NonNullable<Parameters<typeof synthesizeDirect>[1]['onProgress']>>[0],
  ) => env.onEvent({ kind: 'synthesis', progress });
  switch (config.synth) {
    case 'generative': {
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
      if (cached)
        env.onEvent({
          kind: 'stage',
          stage: 'synthesis',
          message: `reusing the generator trained earlier for this model (${key})`,
        });
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
    }
    case 'direct':
    case 'zeroq':
      return {
        result: await synthesizeDirect(graph, {
          images: config.images,
          iterations: config.iterations,
          seed: config.seed,
          batchSize: config.synthBatchSize,
          learningRate: config.learningRate,
          ...(config.synth === 'zeroq' ? ZEROQ_PRESET : DIRECT_PRESET),
          onProgress,
        }),
        generator: null,
      };
    case 'noise':
      return { result: noiseImages(graph, config.images, config.seed), generator: null };
    case 'real':
      if (!config.evalDir)
        throw new Error(
          "--synth real needs --eval <dir>: the real images come from that directory's training split",
        );
      return {
        result: realImages(
          graph,
          await loadFashionMnist(config.evalDir, 'train'),
          config.images,
          config.seed,
        ),
        generator: null,
      };
  }
}

/** Stage 1: model -> calibration images (images.npy in normalized input space, PNGs) and their quality. */
export async function synthesizeStage(config: RunConfig, env: StageEnv): Promise<SynthesisOutput> {
  const backend = await selectBackend(config.backend);
  const failed = backend.attempts.filter((a) => !a.ok).map((a) => `${a.backend}: ${a.reason}`);
  env.onEvent({
    kind: 'stage',
    stage: 'backend',
    message: `tensor backend: ${backend.name}${failed.length ? ` (${failed.join('; ')})` : ''}`,
  });
  const { graph } = await loadModel(config.modelPath, modelOptions(config));
  const optimized = ['generative', 'direct', 'zeroq'].includes(config.synth);
  env.onEvent({
    kind: 'stage',
    stage: 'synthesis',
    message: `${config.synth}: ${config.images} images${optimized ? `, ${config.iterations} iterations` : ''}`,
  });
  const start = performance.now();
  const { result, generator } = await makeImages(config, graph, env);
  const seconds = secondsSince(start);
  const runner = new GraphRunner(graph);
  try {
    env.onEvent({ kind: 'stage', stage: 'synthesis', message: 'measuring image quality' });
    const predictions = predictWithFeatures(runner, result.images);
    const labels = result.labels ?? null;
    const targetAgreement = labels
      ? labels.filter((l, i) => predictions.classes[i] === l).length / labels.length
      : null;
    const test = config.evalDir ? await loadFashionMnist(config.evalDir, 'test') : null;
    const images = await env.store.put(
      stageKey(env, 'images/images.npy'),
      encodeNpy({ shape: result.images.shape, data: result.images.dataSync() as Float32Array }),
    );
    let pngDir: string | null = null;
    let contactSheet: SynthesisOutput['contactSheet'] = null;
    if (config.saveImages) {
      pngDir = stageKey(env, 'images');
      await saveImages(result.images, graph.normalization, env.store.path(pngDir));
      if (labels) {
        const entries = labels.map((label, index) => ({
          index,
          label,
          predicted: predictions.classes[index] as number,
          confidence: predictions.confidence[index] as number,
        }));
        await saveClassContactSheet(
          result.images,
          entries,
          graph.normalization,
          classNames(graph),
          env.store.path(stageKey(env, 'images/contact-sheet.png')),
        );
      }
      contactSheet = await env.store.ref(stageKey(env, 'images/contact-sheet.png'));
    }
    return {
      backend: { name: backend.name, attempts: backend.attempts },
      images,
      pngDir,
      contactSheet,
      summary: {
        method: config.synth,
        images: result.images.shape[0],
        iterations: result.iterations,
        seconds,
        lossInitial: result.lossInitial,
        lossFinal: result.lossFinal,
        imagesPerSecond: result.images.shape[0] / Math.max(seconds, 1e-9),
        targetAgreement,
        diversity: withinClassDiversity(predictions.features, labels ?? predictions.classes),
        realDiversity: test ? realDiversity(runner, test, graph) : null,
        bnLossPerLayer: bnLossPerLayer(runner, result.images),
        generator,
      },
      peakRssBytes: peakRssBytes(),
    };
  } finally {
    runner.dispose();
    tf.dispose(result.images);
  }
}
