import * as tf from '@tensorflow/tfjs';
import { packedByteLength } from '../integer/weight-packing.js';
import type { ModelGraph, WeightedNode } from '../model/graph.js';
import { isWeighted, outputChannelIndexer } from '../model/graph.js';
import { GraphRunner } from '../model/graph-runner.js';
import { affineParams, fakeQuantize, type Range } from '../quantization/activation-quantizer.js';
import { quantizeSymmetricPerChannel } from '../quantization/weight-quantizer.js';
import { yieldToEventLoop } from '../util/yield.js';
import { hessianTraces } from './hessian-trace.js';

/** What quantizing one tensor alone does to the model's output on held-out synthetic images. */
export interface OutputEffect {
  /** Mean KL(FP32 softmax || quantized softmax) per image. */
  kl: number;
  /** Share of images whose top-1 class is FP32's. */
  agreement: number;
}

export interface WeightCandidate extends OutputEffect {
  bits: number;
  /** Weight SQNR in dB: 10 log10(|W|² / |W - Q(W)|²). */
  sqnr: number;
  /** HAWQ-V2's second-order estimate: mean Hessian trace per weight × |W - Q(W)|² (null: no probes). */
  hessianEstimate: number | null;
  /** Bytes of the layer's weights at these bits as the integer export packs them (scales and biases not counted). */
  bytes: number;
}

export interface LayerSensitivity {
  layer: string;
  op: WeightedNode['op'];
  parameters: number;
  /** Hutchinson estimate of tr(H) / parameters for the loss against FP32's own top-1 (null: no probes). */
  hessianTracePerWeight: number | null;
  candidates: WeightCandidate[];
}

export interface ActivationSensitivity {
  tensor: string;
  candidates: (OutputEffect & { bits: number })[];
}

export interface SensitivityReport {
  weightBits: number[];
  activationBits: number[];
  images: number;
  probes: number;
  layers: LayerSensitivity[];
  activations: ActivationSensitivity[];
  seconds: number;
}

export interface SensitivityOptions {
  /** Candidate weight bit widths, each measured on every layer alone. */
  weightBits: number[];
  /** Candidate activation bit widths, each measured on every quantized tensor alone. */
  activationBits: number[];
  /** Rademacher probes of the Hessian trace estimate (0: not estimated; each costs two backward passes). */
  probes: number;
  seed: number;
  /** Images per forward pass (bounds memory). */
  batchSize?: number;
  onProgress?: (done: number, total: number, what: string) => void;
}

/**
 * Images per forward pass: 64 at the size of Fashion-MNIST or CIFAR, 8 at ImageNet size, where one
 * image's activations through a MobileNetV2 take tens of MB (the gradient passes keep them all).
 */
export function sensitivityBatch(images: tf.Tensor4D): number {
  const [, height, width, channels] = images.shape;
  return height * width * channels > 64 * 64 * 3 ? 8 : 64;
}

/**
 * The candidates measured and allocated: every weight width from 2 to 8 bits, since each packs at its
 * exact width (a 6-bit layer costs 6 bits a weight, integer/weight-packing.ts); activations at 4 or 8.
 */
export const DEFAULT_SENSITIVITY = {
  weightBits: [2, 3, 4, 5, 6, 7, 8],
  activationBits: [4, 8],
  probes: 8,
} as const;

/** The weight candidates as the CLI and card say them: W2/W3/.../W8. */
export const WEIGHT_CANDIDATES_TEXT = DEFAULT_SENSITIVITY.weightBits.map((b) => `W${b}`).join('/');

/** The model's logits on the images, batch by batch, as [images, classes]. */
export function logitsOf(
  runner: GraphRunner,
  images: tf.Tensor4D,
  batchSize: number,
  options: Parameters<GraphRunner['run']>[1] = {},
): tf.Tensor2D {
  const n = images.shape[0];
  const parts: tf.Tensor[] = [];
  for (let start = 0; start < n; start += batchSize) {
    parts.push(
      tf.tidy(() => {
        const x = images.slice([start, 0, 0, 0], [Math.min(batchSize, n - start), -1, -1, -1]);
        return runner.run(x, { ...options, releaseEarly: true }).output.reshape([x.shape[0], -1]);
      }),
    );
  }
  const logits = tf.concat(parts) as tf.Tensor2D;
  tf.dispose(parts);
  return logits;
}

export function outputEffect(reference: tf.Tensor2D, logits: tf.Tensor2D): OutputEffect {
  return tf.tidy(() => {
    const p = tf.softmax(reference);
    const logP = tf.logSoftmax(reference);
    const logQ = tf.logSoftmax(logits);
    const kl = p.mul(logP.sub(logQ)).sum(1).mean().dataSync()[0] as number;
    const agreement = reference
      .argMax(1)
      .equal(logits.argMax(1))
      .cast('float32')
      .mean()
      .dataSync()[0] as number;
    return { kl: Math.max(0, kl), agreement };
  });
}

/**
 * Per-layer sensitivity of a BatchNorm-folded model, measured on synthetic images (no real data):
 * for every weighted layer and candidate weight bits, that layer alone is rounded to nearest on its
 * per-channel grid and the model's output is compared with FP32's (KL, top-1 agreement); likewise
 * every quantized activation alone at each candidate activation bits, on its calibrated range. Beside
 * the measurement, HAWQ-V2's estimate (Hessian trace × squared weight error) for each candidate.
 */
export async function measureSensitivity(
  graph: ModelGraph,
  images: tf.Tensor4D,
  ranges: ReadonlyMap<string, Range>,
  options: SensitivityOptions,
): Promise<SensitivityReport> {
  const started = performance.now();
  const batchSize = options.batchSize ?? sensitivityBatch(images);
  const weighted = graph.nodes.filter(isWeighted) as WeightedNode[];
  const tensors = [...ranges.keys()].filter((name) => graph.nodes.some((n) => n.name === name));
  const total =
    weighted.length * options.weightBits.length + tensors.length * options.activationBits.length + 1;
  let done = 0;
  const step = async (what: string) => {
    done++;
    options.onProgress?.(done, total, what);
    await yieldToEventLoop();
  };
  const runner = new GraphRunner(graph);
  const reference = logitsOf(runner, images, batchSize);
  try {
    const traces =
      options.probes > 0
        ? await hessianTraces(runner, weighted, images, reference, {
            probes: options.probes,
            seed: options.seed,
            batchSize,
            onProbe: (probe) => step(`Hessian trace probe ${probe}/${options.probes}`),
          })
        : null;
    const layers: LayerSensitivity[] = [];
    for (const node of weighted) {
      const { channels, of } = outputChannelIndexer(node);
      const parameters = node.kernel.data.length;
      const trace = traces?.get(node.name);
      const tracePerWeight = trace === undefined ? null : trace / parameters;
      const candidates: WeightCandidate[] = [];
      for (const bits of options.weightBits) {
        const q = quantizeSymmetricPerChannel(node.kernel, bits, channels, of);
        let signal = 0;
        let noise = 0;
        node.kernel.data.forEach((w, i) => {
          signal += w * w;
          noise += (w - (q.dequantized[i] as number)) ** 2;
        });
        const kernel = tf.tensor(q.dequantized, node.kernel.shape);
        const logits = logitsOf(runner, images, batchSize, { kernels: new Map([[node.name, kernel]]) });
        candidates.push({
          bits,
          ...outputEffect(reference, logits),
          sqnr: noise === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(signal / noise),
          hessianEstimate: tracePerWeight === null ? null : tracePerWeight * noise,
          bytes: packedByteLength(parameters, bits),
        });
        tf.dispose([kernel, logits]);
        await step(`${node.name} W${bits}`);
      }
      layers.push({
        layer: node.name,
        op: node.op,
        parameters,
        hessianTracePerWeight: tracePerWeight,
        candidates,
      });
    }
    const activations: ActivationSensitivity[] = [];
    for (const tensor of tensors) {
      const range = ranges.get(tensor) as Range;
      const candidates: ActivationSensitivity['candidates'] = [];
      for (const bits of options.activationBits) {
        const grid = affineParams(range, bits);
        const logits = logitsOf(runner, images, batchSize, {
          transform: (node, out) => (node.name === tensor ? fakeQuantize(out, grid) : out),
        });
        candidates.push({ bits, ...outputEffect(reference, logits) });
        logits.dispose();
        await step(`${tensor} A${bits}`);
      }
      activations.push({ tensor, candidates });
    }
    return {
      weightBits: [...options.weightBits],
      activationBits: [...options.activationBits],
      images: images.shape[0],
      probes: options.probes,
      layers,
      activations,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    reference.dispose();
    runner.dispose();
  }
}
