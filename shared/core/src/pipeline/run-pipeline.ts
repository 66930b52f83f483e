import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend/select-backend.js';
import { calibrate } from '../calibration/calibrate.js';
import { evaluateTop1 } from '../data/evaluate.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { saveImages } from '../images/save-images.js';
import { foldBatchNorm } from '../model/fold-batchnorm.js';
import { countParams } from '../model/graph.js';
import { GraphRunner } from '../model/graph-runner.js';
import { loadModel } from '../model/load-model.js';
import { saveLayersModel } from '../model/save-layers-model.js';
import { planQuantization } from '../quantization/quantization-plan.js';
import { activationFakeQuant, quantizedByteSize, quantizeModel } from '../quantization/quantize-model.js';
import { noiseImages, realImages } from '../synthesis/baseline-images.js';
import { synthesizeDirect } from '../synthesis/direct-synthesis.js';
import type { SynthesisProgress, SynthesisResult } from '../synthesis/synthesis-result.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { DFQ_VERSION } from '../version.js';
import type { RunConfig } from './run-config.js';
import type { RunReport } from './run-report.js';

export type RunEvent =
  | { kind: 'stage'; stage: string; message: string }
  | { kind: 'synthesis'; progress: SynthesisProgress }
  | { kind: 'evaluation'; model: 'fp32' | 'quantized'; done: number; total: number };

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * The whole data-free path in one process: model -> synthetic images -> calibration profile ->
 * quantized model -> report. Writes report.json, the quantized TF.js model and the images under
 * config.outDir and returns the report.
 */
export async function runPipeline(
  config: RunConfig,
  onEvent: (e: RunEvent) => void = () => {},
): Promise<RunReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const stage = (name: string, message: string) => onEvent({ kind: 'stage', stage: name, message });
  const outDir = resolve(config.outDir);

  const backend = await selectBackend(config.backend);
  stage(
    'backend',
    `tensor backend: ${backend.name}${
      backend.attempts.length > 1
        ? ` (${backend.attempts
            .filter((a) => !a.ok)
            .map((a) => `${a.backend}: ${a.reason}`)
            .join('; ')})`
        : ''
    }`,
  );

  const { graph, normalizationSource } = await loadModel(config.modelPath, {
    ...(config.inputMean ? { inputMean: config.inputMean } : {}),
    ...(config.inputStd ? { inputStd: config.inputStd } : {}),
    requireBatchNorm: config.synth === 'direct',
  });
  stage('model', `${graph.name}: ${graph.nodes.length} layers, ${countParams(graph)} parameters`);

  // Real data is read only when asked for: as the evaluation set, or as the 'real' baseline.
  const testSet = config.evalDir ? await loadFashionMnist(config.evalDir, 'test') : null;

  stage(
    'synthesis',
    `${config.synth}: ${config.images} images${config.synth === 'direct' ? `, ${config.iterations} iterations` : ''}`,
  );
  const synthStart = performance.now();
  let synthesis: SynthesisResult;
  if (config.synth === 'direct') {
    synthesis = synthesizeDirect(graph, {
      images: config.images,
      iterations: config.iterations,
      seed: config.seed,
      batchSize: config.synthBatchSize,
      learningRate: config.learningRate,
      onProgress: (progress) => onEvent({ kind: 'synthesis', progress }),
    });
  } else if (config.synth === 'noise') {
    synthesis = noiseImages(graph, config.images, config.seed);
  } else {
    if (!config.evalDir)
      throw new Error(
        "--synth real needs --eval <dir>: the real images come from that directory's training split",
      );
    synthesis = realImages(
      graph,
      await loadFashionMnist(config.evalDir, 'train'),
      config.images,
      config.seed,
    );
  }
  const synthSeconds = seconds(synthStart);

  try {
    stage('calibration', `${config.calibration} ranges over ${config.images} images`);
    const calibStart = performance.now();
    const folding = foldBatchNorm(graph);
    const plan = planQuantization(folding.graph, {
      weightBits: config.weightBits,
      activationBits: config.activationBits,
      firstLastBits: config.firstLastBits,
    });
    const floatRunner = new GraphRunner(folding.graph);
    const profile = calibrate(
      floatRunner,
      synthesis.images,
      plan.activationBits.keys(),
      (n) => plan.activationBits.get(n) ?? 8,
      {
        method: config.calibration,
      },
    );
    floatRunner.dispose();
    const calibSeconds = seconds(calibStart);

    stage(
      'quantization',
      `W${config.weightBits}A${config.activationBits}, first/last layers at ${config.firstLastBits ?? 'the same'} bits`,
    );
    const quantStart = performance.now();
    const quantized = quantizeModel(folding.graph, plan, new Map(Object.entries(profile.ranges)));
    const quantizedModel = await saveLayersModel(quantized.graph, join(outDir, 'quantized-model'), {
      dfq: {
        note: 'Weights hold dequantized integer-grid values; apply activationQuantization to reproduce the quantized model.',
        weightBits: Object.fromEntries(plan.weightBits),
        activationQuantization: Object.fromEntries(quantized.activations),
      },
    });
    const quantSeconds = seconds(quantStart);

    let artifacts: RunReport['artifacts'] = { quantizedModel, images: null, contactSheet: null };
    if (config.saveImages) {
      const saved = await saveImages(synthesis.images, graph.normalization, join(outDir, 'images'));
      artifacts = { quantizedModel, images: join(outDir, 'images'), contactSheet: saved.contactSheet };
    }

    let evaluation: RunReport['evaluation'] = null;
    if (testSet) {
      stage('evaluation', `top-1 on ${config.evalLimit ?? testSet.count} Fashion-MNIST test images`);
      const evalStart = performance.now();
      const limit = config.evalLimit ?? undefined;
      const fp32Runner = new GraphRunner(graph);
      const fp32 = await evaluateTop1((x) => fp32Runner.predict(x), testSet, graph.normalization, {
        ...(limit ? { limit } : {}),
        onBatch: (done, total) => onEvent({ kind: 'evaluation', model: 'fp32', done, total }),
      });
      fp32Runner.dispose();
      const qRunner = new GraphRunner(quantized.graph);
      const fakeQuant = activationFakeQuant(quantized);
      const q = await evaluateTop1((x) => qRunner.predict(x, fakeQuant), testSet, graph.normalization, {
        ...(limit ? { limit } : {}),
        onBatch: (done, total) => onEvent({ kind: 'evaluation', model: 'quantized', done, total }),
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
        seconds: seconds(evalStart),
      };
    }

    const params = countParams(graph);
    const report: RunReport = {
      dfqVersion: DFQ_VERSION,
      startedAt,
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
      synthesis: {
        method: synthesis.method,
        images: synthesis.images.shape[0],
        iterations: synthesis.iterations,
        seconds: synthSeconds,
        lossInitial: synthesis.lossInitial,
        lossFinal: synthesis.lossFinal,
      },
      calibration: { method: profile.method, images: profile.images, seconds: calibSeconds },
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
      artifacts,
      peakRssBytes: peakRssBytes(),
      tensorsAtEnd: 0,
      totalSeconds: 0,
    };
    synthesis.images.dispose();
    report.tensorsAtEnd = tf.memory().numTensors;
    report.totalSeconds = seconds(started);
    await writeFileAtomic(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    if (!synthesis.images.isDisposed) synthesis.images.dispose();
  }
}
