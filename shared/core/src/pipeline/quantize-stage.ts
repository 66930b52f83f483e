import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend/select-backend.js';
import type { CalibrationProfile } from '../calibration/calibrate.js';
import { evaluateTop1 } from '../data/evaluate.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { foldBatchNorm } from '../model/fold-batchnorm.js';
import { countParams } from '../model/graph.js';
import { GraphRunner } from '../model/graph-runner.js';
import { loadModel } from '../model/load-model.js';
import { saveLayersModel } from '../model/save-layers-model.js';
import { planQuantization } from '../quantization/quantization-plan.js';
import { activationFakeQuant, quantizedByteSize, quantizeModel } from '../quantization/quantize-model.js';
import { DFQ_VERSION } from '../version.js';
import { bitPolicy } from './calibrate-stage.js';
import { modelOptions } from './model-options.js';
import type { RunConfig } from './run-config.js';
import type { RunReport } from './run-report.js';
import {
  type CalibrationOutput,
  peakRssBytes,
  type StageEnv,
  type SynthesisOutput,
  secondsSince,
  stageKey,
} from './stage-env.js';

export interface QuantizeStageInput {
  synthesis: SynthesisOutput;
  calibration: CalibrationOutput;
  /** When the run began (ISO time) and its wall-clock start, for the report's totals. */
  startedAt: string;
  startedAtMs: number;
}

/** Stage 3: calibration profile -> quantized model, evaluation and report.json. */
export async function quantizeStage(
  config: RunConfig,
  input: QuantizeStageInput,
  env: StageEnv,
): Promise<RunReport> {
  const backend = await selectBackend(config.backend);
  const { graph, normalizationSource } = await loadModel(config.modelPath, modelOptions(config));
  const profile = JSON.parse(
    (await env.store.get(input.calibration.profile)).toString('utf8'),
  ) as CalibrationProfile;

  env.onEvent({
    kind: 'stage',
    stage: 'quantization',
    message: `W${config.weightBits}A${config.activationBits}, first/last layers at ${config.firstLastBits ?? 'the same'} bits`,
  });
  const quantStart = performance.now();
  const folding = foldBatchNorm(graph);
  const plan = planQuantization(folding.graph, bitPolicy(config));
  const quantized = quantizeModel(folding.graph, plan, new Map(Object.entries(profile.ranges)));
  const modelDir = stageKey(env, 'quantized-model');
  await saveLayersModel(quantized.graph, env.store.path(modelDir), {
    dfq: {
      note: 'Weights hold dequantized integer-grid values; apply activationQuantization to reproduce the quantized model.',
      weightBits: Object.fromEntries(plan.weightBits),
      activationQuantization: Object.fromEntries(quantized.activations),
    },
  });
  const quantSeconds = secondsSince(quantStart);

  let evaluation: RunReport['evaluation'] = null;
  if (config.evalDir) {
    const testSet = await loadFashionMnist(config.evalDir, 'test');
    env.onEvent({
      kind: 'stage',
      stage: 'evaluation',
      message: `top-1 on ${config.evalLimit ?? testSet.count} Fashion-MNIST test images`,
    });
    const evalStart = performance.now();
    const limit = config.evalLimit ? { limit: config.evalLimit } : {};
    const fp32Runner = new GraphRunner(graph);
    const fp32 = await evaluateTop1((x) => fp32Runner.predict(x), testSet, graph.normalization, {
      ...limit,
      onBatch: (done, total) => env.onEvent({ kind: 'evaluation', model: 'fp32', done, total }),
    });
    fp32Runner.dispose();
    const qRunner = new GraphRunner(quantized.graph);
    const fakeQuant = activationFakeQuant(quantized);
    const q = await evaluateTop1((x) => qRunner.predict(x, fakeQuant), testSet, graph.normalization, {
      ...limit,
      onBatch: (done, total) => env.onEvent({ kind: 'evaluation', model: 'quantized', done, total }),
    });
    qRunner.dispose();
    let agree = 0;
    for (let i = 0; i < q.samples; i++) if (q.predictions[i] === fp32.predictions[i]) agree++;
    evaluation = {
      dataset: 'fashion-mnist/t10k',
      samples: q.samples,
      fp32Accuracy: fp32.accuracy,
      quantizedAccuracy: q.accuracy,
      agreement: agree / q.samples,
      seconds: secondsSince(evalStart),
    };
  }

  const params = countParams(graph);
  const { synthesis, calibration } = input;
  const report: RunReport = {
    dfqVersion: DFQ_VERSION,
    startedAt: input.startedAt,
    backend: backend.name,
    backendAttempts: backend.attempts,
    model: {
      path: resolve(config.modelPath),
      name: graph.name,
      params,
      layers: graph.nodes.length,
      normalization: { ...graph.normalization, source: normalizationSource },
    },
    config,
    synthesis: synthesis.summary,
    calibration: calibration.summary,
    quantization: {
      weightBits: config.weightBits,
      activationBits: config.activationBits,
      firstLastBits: config.firstLastBits,
      granularity: { weights: 'per-channel symmetric', activations: 'per-tensor asymmetric' },
      foldedBatchNorm: folding.folded,
      fusedActivations: folding.fusedActivations,
      seconds: quantSeconds,
      bytesFp32: params * 4,
      bytesQuantized: quantizedByteSize(quantized),
      layers: quantized.layers,
    },
    evaluation,
    artifacts: {
      quantizedModel: `${modelDir}/model.json`,
      images: synthesis.pngDir,
      contactSheet: synthesis.contactSheet?.key ?? null,
    },
    peakRssBytes: Math.max(synthesis.peakRssBytes, calibration.peakRssBytes, peakRssBytes()),
    tensorsAtEnd: tf.memory().numTensors,
    totalSeconds: (Date.now() - input.startedAtMs) / 1000,
  };
  await env.store.put(stageKey(env, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}
