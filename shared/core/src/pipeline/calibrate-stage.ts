import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend/select-backend.js';
import { CALIBRATION_METHODS, calibrate } from '../calibration/calibrate.js';
import type { BnPrior } from '../calibration/range-estimator.js';
import { decodeNpy } from '../data/npy.js';
import { type FoldResult, foldBatchNorm } from '../model/fold-batchnorm.js';
import type { ModelGraph } from '../model/graph.js';
import { GraphRunner } from '../model/graph-runner.js';
import { loadModel } from '../model/load-model.js';
import { planQuantization } from '../quantization/quantization-plan.js';
import { modelOptions } from './model-options.js';
import type { RunConfig } from './run-config.js';
import {
  type CalibrationOutput,
  peakRssBytes,
  type StageEnv,
  type SynthesisOutput,
  secondsSince,
  stageKey,
} from './stage-env.js';

/** For each layer a BatchNorm was folded into: that BatchNorm's β and |γ|, and the fused activation. */
export function bnPriors(graph: ModelGraph, folding: FoldResult): Map<string, BnPrior> {
  const priors = new Map<string, BnPrior>();
  const folded = new Map(folding.graph.nodes.map((n) => [n.name, n]));
  for (const node of graph.nodes) {
    const into = folding.folded[node.name];
    const layer = into ? folded.get(into) : undefined;
    if (node.op !== 'batchNorm' || !layer || !('activation' in layer)) continue;
    priors.set(layer.name, {
      mean: node.beta.data,
      std: node.gamma.data.map(Math.abs),
      activation: layer.activation,
    });
  }
  return priors;
}

export function bitPolicy(config: RunConfig) {
  return {
    weightBits: config.weightBits,
    activationBits: config.activationBits,
    firstLastBits: config.firstLastBits,
  };
}

/** `--calib auto`, the default: resolved per run by calibrationMethod. */
export const AUTO_CALIBRATION = 'auto';
export const CALIBRATION_CHOICES = [AUTO_CALIBRATION, ...CALIBRATION_METHODS];

/**
 * The range estimator a run uses. `auto` takes MSE-optimal ranges below 8 activation bits, where
 * min-max ranges stretched by a few outliers cost most (direct images at W4A4 on the example
 * model: min-max 87.27%, mse 90.78%, docs/benchmarks.md Step 4), and min-max at 8 bits and above.
 */
export function calibrationMethod(config: Pick<RunConfig, 'calibration' | 'activationBits'>): string {
  if (config.calibration !== AUTO_CALIBRATION) return config.calibration;
  return config.activationBits < 8 ? 'mse' : 'minmax';
}

/** Stage 2: calibration images -> calibration profile (a range for every quantized activation). */
export async function calibrateStage(
  config: RunConfig,
  synthesis: SynthesisOutput,
  env: StageEnv,
): Promise<CalibrationOutput> {
  const backend = await selectBackend(config.backend);
  const { graph } = await loadModel(config.modelPath, modelOptions(config));
  const method = calibrationMethod(config);
  env.onEvent({
    kind: 'stage',
    stage: 'calibration',
    message: `${method} ranges over ${synthesis.summary.images} images${config.calibration === AUTO_CALIBRATION ? ` (auto, ${config.activationBits}-bit activations)` : ''}`,
  });
  const start = performance.now();
  const array = decodeNpy(await env.store.get(synthesis.images), synthesis.images.key);
  const folding = foldBatchNorm(graph);
  const folded = folding.graph;
  const plan = planQuantization(folded, bitPolicy(config));
  const priors = bnPriors(graph, folding);
  const runner = new GraphRunner(folded);
  const images = tf.tensor4d(array.data, array.shape as [number, number, number, number]);
  try {
    const profile = calibrate(
      runner,
      images,
      plan.activationBits.keys(),
      (n) => {
        const prior = priors.get(n);
        return { bits: plan.activationBits.get(n) ?? 8, ...(prior ? { prior } : {}) };
      },
      { method },
    );
    const ref = await env.store.put(
      stageKey(env, 'calibration/profile.json'),
      `${JSON.stringify(profile, null, 2)}\n`,
    );
    return {
      backend: { name: backend.name, attempts: backend.attempts },
      profile: ref,
      summary: {
        method: profile.method,
        images: profile.images,
        seconds: secondsSince(start),
        tensors: profile.tensors,
      },
      peakRssBytes: peakRssBytes(),
    };
  } finally {
    images.dispose();
    runner.dispose();
  }
}
