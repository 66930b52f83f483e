import type * as tf from '@tensorflow/tfjs';
import type { GraphNode, ModelGraph, WeightedNode } from '../model/graph.js';
import { isWeighted, outputChannelIndexer } from '../model/graph.js';
import type { AffineParams, Range } from './activation-quantizer.js';
import { affineParams, fakeQuantize } from './activation-quantizer.js';
import type { QuantizationPlan } from './quantization-plan.js';
import { type ChannelQuantized, quantizeSymmetricPerChannel } from './weight-quantizer.js';

export interface LayerQuantization {
  name: string;
  op: GraphNode['op'];
  weightBits: number | null;
  weightScaleMin: number | null;
  weightScaleMax: number | null;
  weightMaxAbsError: number | null;
  activationBits: number | null;
  range: Range | null;
  activationScale: number | null;
  zeroPoint: number | null;
}

export interface QuantizedModel {
  /** The folded graph with every kernel replaced by its dequantized integer grid values. */
  graph: ModelGraph;
  weights: Map<string, ChannelQuantized>;
  activations: Map<string, AffineParams>;
  layers: LayerQuantization[];
}

/** Weights and biases a trained quantizer chose, in place of round-to-nearest's, and any activation grids it learned. */
export interface LearnedWeights {
  weights: ReadonlyMap<string, ChannelQuantized>;
  biases: ReadonlyMap<string, Float32Array>;
  /** Activation grids whose step was learned (block reconstruction), in place of calibration's. */
  activations?: ReadonlyMap<string, AffineParams>;
}

/**
 * Quantization of a BN-folded graph: symmetric per-channel weights (round-to-nearest unless
 * `learned` supplies them) and asymmetric per-tensor activations with ranges from calibration.
 * Biases stay float here (they become int32 at export, where their scale is s_in * s_w).
 */
export function quantizeModel(
  folded: ModelGraph,
  plan: QuantizationPlan,
  ranges: Map<string, Range>,
  learned?: LearnedWeights,
): QuantizedModel {
  const weights = new Map<string, ChannelQuantized>();
  const activations = new Map<string, AffineParams>();
  const layers: LayerQuantization[] = [];
  const nodes = folded.nodes.map((node): GraphNode => {
    let result: GraphNode = node;
    let wq: ChannelQuantized | undefined;
    const bits = plan.weightBits.get(node.name);
    if (isWeighted(node) && bits !== undefined) {
      const { channels, of } = outputChannelIndexer(node);
      wq = learned?.weights.get(node.name) ?? quantizeSymmetricPerChannel(node.kernel, bits, channels, of);
      weights.set(node.name, wq);
      const bias = learned?.biases.get(node.name);
      result = {
        ...node,
        kernel: { shape: node.kernel.shape, data: wq.dequantized },
        ...(bias ? { bias: { shape: [bias.length], data: bias } } : {}),
      } as WeightedNode;
    }
    const aBits = plan.activationBits.get(node.name);
    let ap: AffineParams | undefined;
    let range: Range | undefined;
    if (aBits !== undefined) {
      const learnedGrid = learned?.activations?.get(node.name);
      range = learnedGrid ? gridRange(learnedGrid) : ranges.get(node.name);
      if (!range) throw new Error(`no calibrated range for ${node.name}`);
      ap = learnedGrid ?? affineParams(range, aBits);
      activations.set(node.name, ap);
    }
    if (wq || ap) {
      layers.push({
        name: node.name,
        op: node.op,
        weightBits: wq?.bits ?? null,
        weightScaleMin: wq ? Math.min(...wq.scales) : null,
        weightScaleMax: wq ? Math.max(...wq.scales) : null,
        weightMaxAbsError: wq?.maxAbsError ?? null,
        activationBits: ap?.bits ?? null,
        range: range ?? null,
        activationScale: ap?.scale ?? null,
        zeroPoint: ap?.zeroPoint ?? null,
      });
    }
    return result;
  });
  return { graph: { ...folded, nodes }, weights, activations, layers };
}

/** The range an affine grid covers. */
export function gridRange(p: AffineParams): Range {
  return { min: -p.zeroPoint * p.scale, max: (2 ** p.bits - 1 - p.zeroPoint) * p.scale };
}

/** The GraphRunner transform that fake-quantizes activations of a quantized model. */
export function activationFakeQuant(model: QuantizedModel): (node: GraphNode, out: tf.Tensor) => tf.Tensor {
  return (node, out) => {
    const p = model.activations.get(node.name);
    return p ? fakeQuantize(out, p) : out;
  };
}

/**
 * Bytes to store the quantized weights: packed integer kernels, float32 per-channel scales, int32
 * biases; float32 kernels for layers kept in float.
 */
export function quantizedByteSize(model: QuantizedModel): number {
  let bits = 0;
  for (const node of model.graph.nodes) {
    if (!isWeighted(node)) continue;
    const wq = model.weights.get(node.name);
    const bias = node.bias ? node.bias.data.length * 32 : 0;
    bits += wq ? wq.q.length * wq.bits + wq.scales.length * 32 + bias : node.kernel.data.length * 32 + bias;
  }
  return Math.ceil(bits / 8);
}
