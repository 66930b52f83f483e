import { AUTO_CALIBRATION, type ResolvedRunConfig, wantsMixedPrecision } from '@dfq/contract';
import * as tf from '@tensorflow/tfjs';
import { calibrationImages } from '../analysis/mixed-precision.js';
import { selectBackend } from '../backend/select-backend.js';
import { calibrate } from '../calibration/calibrate.js';
import { decodeNpy } from '../data/npy.js';
import { GraphRunner } from '../model/graph-runner.js';
import { bnPriors, prepareModel } from './prepare-model.js';
import {
  type CalibrationOutput,
  peakRssBytes,
  type StageEnv,
  type SynthesisOutput,
  secondsSince,
  stageKey,
} from './stage-env.js';

/** Stage 2: calibration images -> calibration profile (a range for every quantized activation). */
export async function calibrateStage(
  config: ResolvedRunConfig,
  synthesis: SynthesisOutput,
  env: StageEnv,
): Promise<CalibrationOutput> {
  const backend = await selectBackend(config.backend);
  const prepared = await prepareModel(config);
  const method = config.resolved.rangeEstimator;
  const start = performance.now();
  // A mixed-precision run keeps some images back to judge its bit choice on (mixed-precision.ts).
  const array = calibrationImages(
    decodeNpy(await env.store.get(synthesis.images), synthesis.images.key),
    wantsMixedPrecision(config),
  );
  env.onEvent({
    kind: 'phase',
    phase: 'calibration',
    message: `${method} ranges over ${array.shape[0]} images${config.calibration === AUTO_CALIBRATION ? ` (auto, ${config.activationBits}-bit activations)` : ''}`,
  });
  const { plan } = prepared;
  const priors = bnPriors(prepared);
  const runner = new GraphRunner(prepared.folding.graph);
  const images = tf.tensor4d(array.data, array.shape as [number, number, number, number]);
  try {
    const profile = calibrate(
      runner,
      images,
      plan.activationBits.keys(),
      (n) => {
        const prior = priors.get(n);
        return {
          bits: plan.activationBits.get(n) ?? 8,
          percentile: config.calibPercentile,
          ...(prior ? { prior } : {}),
        };
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
