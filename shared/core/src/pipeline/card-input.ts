import { WEIGHT_QUANTIZER_METHODS } from '@dfq/contract';
import type { FoldResult } from '../model/fold-batchnorm.js';
import { gridSourceResolver, type QuantizationPlan } from '../quantization/quantization-plan.js';
import type { CardInput } from '../report/quantization-card.js';
import type { RunReport } from './run-report.js';

const BUDGET_SOURCE = {
  option: '--memory-budget',
  worker: "the shared worker's limit for one run",
  auto: 'auto: half of the memory available at the start',
} as const;

/** The quantization card's facts, read off a finished run's report and its plan. */
const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

export function cardInput(report: RunReport, folding: FoldResult, plan: QuantizationPlan): CardInput {
  const q = report.quantization;
  const gridSource = gridSourceResolver(folding.graph);
  const byName = new Map(folding.graph.nodes.map((n) => [n.name, n]));
  const edge = (name: string) => {
    const input = byName.get(name)?.inputs[0];
    return {
      name,
      weightBits: plan.weightBits.get(name) ?? null,
      inputBits: (input && plan.activationBits.get(gridSource(input))) || 32,
    };
  };
  const t = q.training;
  const e = report.evaluation;
  return {
    run: {
      id: null,
      dfqVersion: report.dfqVersion,
      startedAt: report.startedAt,
      backend: report.backend,
      seed: report.config.seed,
    },
    model: {
      name: report.model.name,
      params: report.model.params,
      bytesFp32: q.bytesFp32,
      layers: report.model.layers,
    },
    scheme: {
      weights: { granularity: 'per-channel', symmetric: true, bits: q.weightBits },
      activations: { granularity: 'per-tensor', symmetric: false, bits: q.activationBits },
      firstLayer: edge(plan.firstLayer),
      lastLayer: edge(plan.lastLayer),
      keptFloat: [...plan.keptFloat],
      residualInputs: { bits: q.residualBits, tensors: [...plan.residualInputs] },
      layerBits: { ...report.config.layerBits },
      foldedBatchNorm: q.foldedBatchNorm,
      unfoldedBatchNorm: folding.graph.nodes.filter((n) => n.op === 'batchNorm').map((n) => n.name),
      fusedActivations: q.fusedActivations,
    },
    weightQuantizer: {
      method: q.method,
      rounding: WEIGHT_QUANTIZER_METHODS[q.method].rounding,
      training: t
        ? {
            projection: t.projection,
            steps: t.steps,
            batchSize: t.batchSize,
            images: t.images,
            learningRate: t.learningRate,
            beta: { start: t.betaStart, end: t.betaEnd },
            distillationLoss: t.objective,
            lossInitial: t.lossInitial,
            lossFinal: t.lossFinal,
            changedFromNearest: t.changedFromNearest,
            blocks:
              t.blocks?.map((b) => ({
                output: b.output,
                layers: b.layers,
                nearestError: b.nearestError,
                error: b.hardError,
                seconds: b.seconds,
              })) ?? null,
          }
        : null,
    },
    mixedPrecision: report.quantization.mixedPrecision,
    calibration: {
      synthesis: report.synthesis.method,
      synthesisFrom: report.config.synth === 'auto' ? 'auto' : 'option',
      images: report.synthesis.images,
      iterations: report.synthesis.iterations,
      realData: report.synthesis.method === 'real',
      rangeEstimator: report.calibration.method,
      sizing:
        report.synthesis.sizing.imagesFrom === 'option' && report.synthesis.sizing.iterationsFrom === 'option'
          ? 'images and iterations as asked'
          : `${report.synthesis.sizing.rule}; ran ${report.synthesis.iterations} iterations`,
      memory: `batches of ${report.synthesis.batchSize}, estimated synthesis peak ${mib(report.synthesis.memory.estimatedPeakBytes)} of a ${mib(report.synthesis.memory.budgetBytes)} budget (${BUDGET_SOURCE[report.synthesis.memory.budgetSource]}), measured run peak ${mib(report.peakRssBytes)}`,
    },
    fineTuning: t
      ? {
          kind: 'distillation',
          images: t.images,
          steps: t.steps,
          loss: t.blocks
            ? 'block outputs matched to the FP32 model'
            : 'KL on logits + feature MSE to the FP32 model',
          learningRate: t.learningRate,
        }
      : { kind: 'none' },
    layers: q.layers.map((l) => ({
      name: l.name,
      op: l.op,
      weightBits: l.weightBits,
      activationBits: l.activationBits,
      activationRange: l.range,
      weightMaxAbsError: l.weightMaxAbsError,
      activationSqnrDb: l.calibrationSqnrDb,
      activationHistogram: report.calibration.tensors[l.name]?.histogram ?? null,
      accumulator: l.accumulator
        ? {
            requestedBits: q.accumulatorBits,
            bits: l.accumulator.accumulatorBits,
            reason: l.accumulator.reason,
            worstCase: l.accumulator.worstCase,
            observed: l.accumulator.observed,
            overflows: l.accumulator.overflows,
            maxLevel: l.accumulator.maxLevel,
            requestedMaxLevel: l.accumulator.requestedMaxLevel,
            clippedChannels: l.accumulator.clippedChannels,
          }
        : null,
    })),
    evaluation: e ? { dataset: e.dataset, samples: e.samples } : null,
    results: {
      fp32Accuracy: e?.fp32Accuracy ?? null,
      fakeQuantAccuracy: e?.quantizedAccuracy ?? null,
      integerAccuracy: e?.integerAccuracy ?? null,
      integerAgreement: e?.integerAgreement ?? null,
      tfjsUint8Accuracy: e?.tfjsUint8Accuracy ?? null,
      onnxRuntimeAccuracy: e?.onnxRuntimeAccuracy ?? null,
      onnxRuntimeAgreement: e?.onnxRuntimeAgreement ?? null,
      onnxRuntimeMsPerImage: e?.onnxRuntimeMsPerImage ?? null,
      quantizedBytes: q.bytesQuantized,
      tfjsUint8Bytes: report.model.params,
    },
    timings: [
      { stage: 'synthesis', seconds: report.synthesis.seconds },
      { stage: 'calibration', seconds: report.calibration.seconds },
      { stage: 'quantization', seconds: q.seconds },
      { stage: 'evaluation', seconds: e?.seconds ?? null },
      { stage: 'total', seconds: report.totalSeconds },
    ],
    peakRssBytes: report.peakRssBytes,
  };
}
