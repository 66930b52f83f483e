import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend/select-backend.js';
import type { CalibrationProfile } from '../calibration/calibrate.js';
import { decodeNpy } from '../data/npy.js';
import { runIntegerOnNormalized } from '../integer/evaluate-integer.js';
import { saveIntegerModel } from '../integer/integer-export.js';
import { toIntegerModel } from '../integer/integer-model.js';
import { foldBatchNorm } from '../model/fold-batchnorm.js';
import { countParams } from '../model/graph.js';
import { loadModel } from '../model/load-model.js';
import { saveLayersModel } from '../model/save-layers-model.js';
import { buildQuantizedModel } from '../quantization/build-quantized-model.js';
import { planQuantization } from '../quantization/quantization-plan.js';
import { quantizedByteSize } from '../quantization/quantize-model.js';
import { writeQuantizationCard } from '../report/quantization-card.js';
import { DFQ_VERSION } from '../version.js';
import { bitPolicy } from './calibrate-stage.js';
import { cardInput } from './card-input.js';
import { modelOptions } from './model-options.js';
import { evaluateModels } from './quantize-evaluation.js';
import type { RunConfig } from './run-config.js';
import type { LayerReport, RunReport } from './run-report.js';
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

/**
 * Stage 3: calibration profile -> quantized weights (round-to-nearest or distilled on the
 * synthetic images), accumulator fit, exports (fake-quantized, integer-only, stock-TF.js uint8),
 * evaluation, report.json and the quantization card.
 */
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
  const synthetic = decodeNpy(await env.store.get(input.synthesis.images), input.synthesis.images.key);
  const syntheticCount = synthetic.shape[0] as number;

  env.onEvent({
    kind: 'stage',
    stage: 'quantization',
    message: `${config.quantizer} W${config.weightBits}A${config.activationBits}, first/last layers at ${config.firstLastBits ?? 'the same'} bits, ${config.accumulatorBits}-bit accumulators`,
  });
  const quantStart = performance.now();
  const folding = foldBatchNorm(graph);
  const plan = planQuantization(folding.graph, bitPolicy(config));
  const ranges = new Map(Object.entries(profile.ranges));
  const images =
    config.quantizer === 'rtn'
      ? null
      : tf.tensor4d(synthetic.data, synthetic.shape as [number, number, number, number]);
  const built = await buildQuantizedModel(folding.graph, plan, ranges, images, {
    quantizer: config.quantizer,
    steps: config.quantizerSteps,
    accumulatorBits: config.accumulatorBits,
    seed: config.seed,
    onProgress: (progress) => env.onEvent({ kind: 'quantizer', progress }),
  }).finally(() => images?.dispose());
  const quantized = built.model;
  const integer = toIntegerModel(
    quantized,
    new Map(built.accumulators.map((a) => [a.layer, a.accumulatorBits])),
  );
  const modelDir = stageKey(env, 'quantized-model');
  const integerDir = stageKey(env, 'integer-model');
  const uint8Dir = stageKey(env, 'tfjs-uint8-model');
  await saveLayersModel(quantized.graph, env.store.path(modelDir), {
    dfq: {
      note: 'Weights hold dequantized integer-grid values; apply activationQuantization to reproduce the quantized model.',
      weightBits: Object.fromEntries(plan.weightBits),
      activationQuantization: Object.fromEntries(quantized.activations),
    },
  });
  await saveIntegerModel(integer, env.store.path(integerDir));
  // TF.js's own format: per-tensor uint8 weights of the folded model, dequantized at load.
  await saveLayersModel(folding.graph, env.store.path(uint8Dir), {}, { weightDtype: 'uint8' });
  const quantSeconds = secondsSince(quantStart);

  env.onEvent({
    kind: 'stage',
    stage: 'overflow check',
    message: `integer model on ${syntheticCount} synthetic images`,
  });
  const onSynthetic = await runIntegerOnNormalized(integer, synthetic.data, syntheticCount);
  const evaluation = config.evalDir
    ? await evaluateModels(config, graph, quantized, integer, env.store.path(uint8Dir), env)
    : null;

  const observed = (layer: string) =>
    Math.max(
      onSynthetic.maxAbsAccumulator.get(layer) ?? 0,
      evaluation?.integerRun.maxAbsAccumulator.get(layer) ?? 0,
    );
  const overflowsOf = (layer: string) =>
    (onSynthetic.overflows.get(layer) ?? 0) + (evaluation?.integerRun.overflows.get(layer) ?? 0);
  const accumulators = new Map(built.accumulators.map((a) => [a.layer, a]));
  const layers: LayerReport[] = quantized.layers.map((layer) => {
    const acc = accumulators.get(layer.name);
    return {
      ...layer,
      calibrationSqnrDb: profile.tensors[layer.name]?.sqnrDb ?? null,
      accumulator: acc
        ? {
            ...acc,
            observed: observed(layer.name),
            observedHeadroomBits: Math.log2(acc.limit / Math.max(1, observed(layer.name))),
            overflows: overflowsOf(layer.name),
          }
        : null,
    };
  });
  const overflows = layers.reduce((sum, l) => sum + (l.accumulator?.overflows ?? 0), 0);

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
      method: config.quantizer,
      weightBits: config.weightBits,
      activationBits: config.activationBits,
      firstLastBits: config.firstLastBits,
      accumulatorBits: config.accumulatorBits,
      granularity: { weights: 'per-channel symmetric', activations: 'per-tensor asymmetric' },
      foldedBatchNorm: folding.folded,
      fusedActivations: folding.fusedActivations,
      training: built.training,
      overflows,
      overflowsChecked: { syntheticImages: syntheticCount, testImages: evaluation?.samples ?? 0 },
      seconds: quantSeconds,
      bytesFp32: params * 4,
      bytesQuantized: quantizedByteSize(quantized),
      layers,
    },
    evaluation: evaluation
      ? (({ integerRun, ...figures }) => ({
          ...figures,
          integerImagesPerSecond: figures.samples / integerRun.seconds,
        }))(evaluation)
      : null,
    artifacts: {
      quantizedModel: `${modelDir}/model.json`,
      integerModel: `${integerDir}/integer-model.json`,
      tfjsUint8Model: `${uint8Dir}/model.json`,
      card: stageKey(env, 'card.md'),
      images: synthesis.pngDir,
      contactSheet: synthesis.contactSheet?.key ?? null,
    },
    peakRssBytes: Math.max(synthesis.peakRssBytes, calibration.peakRssBytes, peakRssBytes()),
    tensorsAtEnd: tf.memory().numTensors,
    totalSeconds: (Date.now() - input.startedAtMs) / 1000,
  };
  const card = writeQuantizationCard(cardInput(report, folding, plan));
  await env.store.put(stageKey(env, 'card.md'), card.markdown);
  await env.store.put(stageKey(env, 'card.json'), `${JSON.stringify(card.json, null, 2)}\n`);
  await env.store.put(stageKey(env, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}
