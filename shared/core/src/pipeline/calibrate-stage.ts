import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend/select-backend.js';
import { calibrate } from '../calibration/calibrate.js';
import { decodeNpy } from '../data/npy.js';
import { foldBatchNorm } from '../model/fold-batchnorm.js';
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

export function bitPolicy(config: RunConfig) {
  return {
    weightBits: config.weightBits,
    activationBits: config.activationBits,
    firstLastBits: config.firstLastBits,
  };
}

/** Stage 2: calibration images -> calibration profile (a range for every quantized activation). */
export async function calibrateStage(
  config: RunConfig,
  synthesis: SynthesisOutput,
  env: StageEnv,
): Promise<CalibrationOutput> {
  const backend = await selectBackend(config.backend);
  const { graph } = await loadModel(config.modelPath, modelOptions(config));
  env.onEvent({
    kind: 'stage',
    stage: 'calibration',
    message: `${config.calibration} ranges over ${synthesis.summary.images} images`,
  });
  const start = performance.now();
  const array = decodeNpy(await env.store.get(synthesis.images), synthesis.images.key);
  const folded = foldBatchNorm(graph).graph;
  const plan = planQuantization(folded, bitPolicy(config));
  const runner = new GraphRunner(folded);
  const images = tf.tensor4d(array.data, array.shape as [number, number, number, number]);
  try {
    const profile = calibrate(
      runner,
      images,
      plan.activationBits.keys(),
      (n) => plan.activationBits.get(n) ?? 8,
      {
        method: config.calibration,
      },
    );
    const ref = await env.store.put(
      stageKey(env, 'calibration/profile.json'),
      `${JSON.stringify(profile, null, 2)}\n`,
    );
    return {
      backend: { name: backend.name, attempts: backend.attempts },
      profile: ref,
      summary: { method: profile.method, images: profile.images, seconds: secondsSince(start) },
      peakRssBytes: peakRssBytes(),
    };
  } finally {
    images.dispose();
    runner.dispose();
  }
}
