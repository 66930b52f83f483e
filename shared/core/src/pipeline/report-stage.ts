import { resolve } from 'node:path';
import type { ResolvedRunConfig } from '@dfq/contract';
import * as tf from '@tensorflow/tfjs';
import { runIntegerOnNormalized } from '../integer/evaluate-integer.js';
import { countParams } from '../model/graph.js';
import { GraphRunner } from '../model/graph-runner.js';
import {
  activationFakeQuant,
  type QuantizedModel,
  quantizedByteSize,
} from '../quantization/quantize-model.js';
import { cardCharts } from '../report/card-charts.js';
import { writeQuantizationCard } from '../report/quantization-card.js';
import { DFQ_VERSION } from '../version.js';
import { cardInput } from './card-input.js';
import { evaluateModels } from './quantize-evaluation.js';
import type { QuantizeOutput } from './quantize-stage.js';
import type { LayerReport, RunReport } from './run-report.js';
import {
  type CalibrationOutput,
  peakRssBytes,
  type StageEnv,
  type SynthesisOutput,
  stageKey,
} from './stage-env.js';

export interface ReportStageInput {
  synthesis: SynthesisOutput;
  calibration: CalibrationOutput;
  quantization: QuantizeOutput;
  /** When the run began (ISO time) and its wall-clock start, for the report's totals. */
  startedAt: string;
  startedAtMs: number;
}

/**
 * Top-1 classes of the fake-quantized model on normalized NHWC images, a few at a time: what the
 * integer model must reproduce (its agreement on the synthetic images is checked without any data).
 */
function predictedClasses(model: QuantizedModel, data: Float32Array, shape: readonly number[]): Int32Array {
  const [n = 0, ...image] = shape;
  const size = image.reduce((a, b) => a * b, 1);
  const classes = new Int32Array(n);
  const runner = new GraphRunner(model.graph);
  const transform = activationFakeQuant(model);
  try {
    for (let start = 0; start < n; start += 16) {
      const end = Math.min(n, start + 16);
      const picks = tf.tidy(() =>
        runner
          .predict(tf.tensor(data.subarray(start * size, end * size), [end - start, ...image]), transform)
          .argMax(-1),
      );
      classes.set(picks.dataSync() as Int32Array, start);
      picks.dispose();
    }
  } finally {
    runner.dispose();
  }
  return classes;
}

/**
 * Stage 4: the quantized model -> the integer model's overflow check on the synthetic images,
 * evaluation on the test split (when asked), report.json and the quantization card.
 */
export async function reportStage(
  config: ResolvedRunConfig,
  input: ReportStageInput,
  env: StageEnv,
): Promise<RunReport> {
  const { prepared, built, integer, synthetic, artifacts } = input.quantization;
  const { graph, normalizationSource, folding, plan } = prepared;
  const quantized = built.model;
  const syntheticCount = synthetic.shape[0] as number;
  let onSynthetic: Awaited<ReturnType<typeof runIntegerOnNormalized>> | null = null;
  let same = 0;
  if (integer) {
    env.onEvent({
      kind: 'phase',
      phase: 'overflow check',
      message: `integer model on ${syntheticCount} synthetic images`,
    });
    onSynthetic = await runIntegerOnNormalized(integer, synthetic.data, syntheticCount);
    const fakeQuantClasses = predictedClasses(quantized, synthetic.data, synthetic.shape);
    onSynthetic.predictions.forEach((p, i) => {
      if (p === fakeQuantClasses[i]) same++;
    });
  }
  const evaluation = config.evalDir
    ? await evaluateModels(
        config,
        graph,
        quantized,
        integer,
        {
          tfjsUint8Model: env.store.path(artifacts.tfjsUint8Model),
          onnxModel: env.store.path(artifacts.onnxModel),
          onnxFloatModel: env.store.path(artifacts.onnxFloatModel),
        },
        env,
      )
    : null;

  const observed = (layer: string) =>
    Math.max(
      onSynthetic?.maxAbsAccumulator.get(layer) ?? 0,
      evaluation?.integerRun?.maxAbsAccumulator.get(layer) ?? 0,
    );
  const overflowsOf = (layer: string) =>
    (onSynthetic?.overflows.get(layer) ?? 0) + (evaluation?.integerRun?.overflows.get(layer) ?? 0);
  const accumulators = new Map(built.accumulators.map((a) => [a.layer, a]));
  const layers: LayerReport[] = quantized.layers.map((layer) => {
    const acc = accumulators.get(layer.name);
    return {
      ...layer,
      calibrationSqnrDb: input.calibration.summary.tensors[layer.name]?.sqnrDb ?? null,
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
  const shown = env.shownPath ?? ((path: string) => path);
  const report: RunReport = {
    dfqVersion: DFQ_VERSION,
    startedAt: input.startedAt,
    backend: input.quantization.backend.name,
    backendAttempts: input.quantization.backend.attempts,
    model: {
      path: shown(resolve(config.modelPath)),
      name: graph.name,
      params,
      layers: graph.nodes.length,
      normalization: { ...graph.normalization, source: normalizationSource },
    },
    config: {
      ...config,
      modelPath: shown(config.modelPath),
      outDir: shown(config.outDir),
      evalDir: config.evalDir === null ? null : shown(config.evalDir),
      cacheDir: config.cacheDir === null ? null : shown(config.cacheDir),
    },
    synthesis: synthesis.summary,
    calibration: calibration.summary,
    quantization: {
      method: config.quantizer,
      weightBits: config.weightBits,
      activationBits: config.activationBits,
      firstLastBits: config.firstLastBits,
      residualBits: config.residualBits,
      accumulatorBits: config.accumulatorBits,
      granularity: { weights: 'per-channel symmetric', activations: 'per-tensor asymmetric' },
      foldedBatchNorm: folding.folded,
      fusedActivations: folding.fusedActivations,
      training: built.training,
      overflows,
      overflowsChecked: integer
        ? { syntheticImages: syntheticCount, testImages: evaluation?.samples ?? 0 }
        : { syntheticImages: 0, testImages: 0 },
      integerAgreementSynthetic: integer && syntheticCount ? same / syntheticCount : null,
      keptFloat: plan.keptFloat,
      mixedPrecision: input.quantization.mixedPrecision,
      seconds: input.quantization.seconds,
      bytesFp32: params * 4,
      bytesQuantized: quantizedByteSize(quantized),
      layers,
    },
    evaluation: evaluation
      ? (({ integerRun, ...figures }) => ({
          ...figures,
          integerImagesPerSecond: integerRun ? figures.samples / integerRun.seconds : null,
        }))(evaluation)
      : null,
    artifacts: {
      ...artifacts,
      card: stageKey(env, 'card.md'),
      images: synthesis.pngDir,
      contactSheet: synthesis.contactSheet?.key ?? null,
    },
    peakRssBytes: Math.max(
      synthesis.peakRssBytes,
      calibration.peakRssBytes,
      input.quantization.peakRssBytes,
      peakRssBytes(),
    ),
    tensorsAtEnd: tf.memory().numTensors,
    totalSeconds: (Date.now() - input.startedAtMs) / 1000,
  };
  const inputs = cardInput(report, folding, plan);
  const charts: NonNullable<typeof inputs.charts> = [];
  for (const [name, { title, chart }] of Object.entries(cardCharts(inputs.layers, inputs.mixedPrecision))) {
    await env.store.put(stageKey(env, `card/${name}.svg`), chart.svg);
    await env.store.put(stageKey(env, `card/${name}.png`), chart.png);
    charts.push({ title, png: `card/${name}.png`, svg: `card/${name}.svg` });
  }
  const card = writeQuantizationCard({ ...inputs, charts });
  await env.store.put(stageKey(env, 'card.md'), card.markdown);
  await env.store.put(stageKey(env, 'card.json'), `${JSON.stringify(card.json, null, 2)}\n`);
  await env.store.put(stageKey(env, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}
