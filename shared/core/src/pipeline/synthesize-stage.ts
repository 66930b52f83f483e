import { type ResolvedRunConfig, SYNTHESIS_METHODS } from '@dfq/contract';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend/select-backend.js';
import { FASHION_MNIST_CLASSES, type LabelledImages, loadFashionMnist } from '../data/fashion-mnist.js';
import { normalizedBatch } from '../data/normalize.js';
import { encodeNpy } from '../data/npy.js';
import { saveClassContactSheet } from '../images/class-contact-sheet.js';
import { saveImages } from '../images/save-images.js';
import type { ModelGraph } from '../model/graph.js';
import { GraphRunner } from '../model/graph-runner.js';
import { classCount } from '../synthesis/labels.js';
import { bnLossPerLayer, predictWithFeatures, withinClassDiversity } from '../synthesis/quality.js';
import { checkRun } from './check-run.js';
import { planRun } from './plan-run.js';
import { peakRssBytes, type StageEnv, type SynthesisOutput, secondsSince, stageKey } from './stage-env.js';
import { SYNTHESIZERS } from './synthesizers.js';

const REAL_DIVERSITY_SAMPLE = 1000;

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

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

/** Stage 1: model -> calibration images (images.npy in normalized input space, PNGs) and their quality. */
export async function synthesizeStage(config: ResolvedRunConfig, env: StageEnv): Promise<SynthesisOutput> {
  const backend = await selectBackend(config.backend);
  checkRun(config);
  const failed = backend.attempts.filter((a) => !a.ok).map((a) => `${a.backend}: ${a.reason}`);
  env.onEvent({
    kind: 'phase',
    phase: 'backend',
    message: `tensor backend: ${backend.name}${failed.length ? ` (${failed.join('; ')})` : ''}`,
  });
  const { graph, footprint, sizing, memory } = await planRun(config, env.memoryCapMiB ?? null);
  const optimized = SYNTHESIS_METHODS[config.resolved.synthesis].optimized;
  const batch = memory.synthesisBatch;
  const shrunk = batch < Math.min(sizing.batch, sizing.images);
  if (sizing.imagesFrom === 'auto' || (optimized && sizing.iterationsFrom === 'auto')) {
    env.onEvent({ kind: 'phase', phase: 'synthesis', message: sizing.rule });
  }
  env.onEvent({
    kind: 'phase',
    phase: 'synthesis',
    message:
      `${config.resolved.synthesis}${config.synth === config.resolved.synthesis ? '' : ` (--synth ${config.synth}, for ${config.quantizer})`}: ${sizing.images} images${optimized ? `, ${sizing.stopOnPlateau ? 'at most ' : ''}${sizing.iterations} iterations` : ''}, ` +
      `batches of ${batch}${shrunk ? ` (not ${sizing.batch}: memory budget)` : ''}, ` +
      `estimated peak ${mib(memory.synthesisPeakBytes)} of a ${mib(memory.budgetBytes)} budget`,
  });
  const start = performance.now();
  const { result, generator } = await SYNTHESIZERS[config.resolved.synthesis]({
    config: {
      ...config,
      images: sizing.images,
      iterations: sizing.iterations,
      stopOnPlateau: sizing.stopOnPlateau,
      averageLayers: sizing.averageLayers,
      synthBatchSize: batch,
    },
    graph,
    onProgress: (progress) => env.onEvent({ kind: 'synthesis', progress }),
    note: (message) => env.onEvent({ kind: 'phase', phase: 'synthesis', message }),
  });
  const seconds = secondsSince(start);
  const runner = new GraphRunner(graph);
  try {
    env.onEvent({ kind: 'phase', phase: 'synthesis', message: 'measuring image quality' });
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
        method: config.resolved.synthesis,
        images: result.images.shape[0],
        iterations: result.iterations,
        seconds,
        lossInitial: result.lossInitial,
        lossFinal: result.lossFinal,
        imagesPerSecond: result.images.shape[0] / Math.max(seconds, 1e-9),
        batchSize: batch,
        sizing: {
          imagesFrom: sizing.imagesFrom,
          iterationsFrom: sizing.iterationsFrom,
          stopOnPlateau: sizing.stopOnPlateau,
          averageLayers: sizing.averageLayers,
          rule: sizing.rule,
        },
        memory: {
          budgetBytes: memory.budgetBytes,
          budgetSource: memory.budgetSource,
          estimatedPeakBytes: memory.synthesisPeakBytes,
          inputShape: footprint.input,
          activationValuesPerImage: footprint.activationFloats,
          forwardMacsPerImage: footprint.forwardMacs,
        },
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
