// What one image costs a model, from its graph alone, before any tensor exists: the shape of every
// node's output (the same arithmetic as TF.js's own shape inference), their total, and the forward
// multiply-adds. Stages size their batches from it, and refuse clearly when not even one image fits.
import type { GraphNode, ModelGraph, Padding } from './graph.js';
import { inputNode, nodeWeights } from './graph.js';

export interface ModelFootprint {
  /** Input [height, width, channels]. */
  input: number[];
  /** Floats of all node outputs for one image: what a gradient pass keeps alive. */
  activationFloats: number;
  /** The largest single node output for one image. */
  largestActivationFloats: number;
  /** Multiply-adds of one image's forward pass. */
  forwardMacs: number;
  weightBytes: number;
  /** Every node's output shape without the batch dimension (NHWC). */
  shapes: ReadonlyMap<string, number[]>;
  /** Every node's multiply-adds for one image. */
  macs: ReadonlyMap<string, number>;
}

function outSize(size: number, window: number, stride: number, padding: Padding, dilation = 1): number {
  const effective = (window - 1) * dilation + 1;
  return padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - effective) / stride) + 1;
}

function outputShape(node: GraphNode, inputs: number[][]): { shape: number[]; macs: number } {
  const [h = 1, w = 1, c = 1] = inputs[0] ?? [];
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  switch (node.op) {
    case 'input':
      return { shape: node.shape, macs: 0 };
    case 'conv2d':
    case 'depthwiseConv2d': {
      const [kh, kw, , k3] = node.kernel.shape as [number, number, number, number];
      const oh = outSize(h, kh, node.strides[0], node.padding, node.dilations[0]);
      const ow = outSize(w, kw, node.strides[1], node.padding, node.dilations[1]);
      const channels = node.op === 'conv2d' ? k3 : c * k3;
      const perOutput = node.op === 'conv2d' ? kh * kw * c : kh * kw;
      return { shape: [oh, ow, channels], macs: oh * ow * channels * perOutput };
    }
    case 'dense': {
      const units = node.kernel.shape[1] as number;
      return { shape: [units], macs: size(inputs[0] ?? [1]) * units };
    }
    case 'zeroPad':
      return {
        shape: [h + node.padding[0][0] + node.padding[0][1], w + node.padding[1][0] + node.padding[1][1], c],
        macs: 0,
      };
    case 'maxPool':
    case 'avgPool':
      return {
        shape: [
          outSize(h, node.poolSize[0], node.strides[0], node.padding),
          outSize(w, node.poolSize[1], node.strides[1], node.padding),
          c,
        ],
        macs: 0,
      };
    case 'globalAvgPool': {
      const channels = (inputs[0] ?? [1]).at(-1) as number;
      return { shape: node.keepDims ? [1, 1, channels] : [channels], macs: 0 };
    }
    case 'concat': {
      const channels = inputs.reduce((sum, s) => sum + (s.at(-1) ?? 0), 0);
      return { shape: [...(inputs[0] ?? [1]).slice(0, -1), channels], macs: 0 };
    }
    case 'multiply':
      return { shape: inputs[0] ?? [1], macs: size(inputs[0] ?? [1]) };
    case 'reshape':
      return { shape: node.shape, macs: 0 };
    case 'globalMaxPool': {
      const channels = (inputs[0] ?? [1]).at(-1) as number;
      return { shape: node.keepDims ? [1, 1, channels] : [channels], macs: 0 };
    }
    case 'crop': {
      const [[t, b], [l, r]] = node.cropping;
      return { shape: [h - t - b, w - l - r, c], macs: 0 };
    }
    case 'upsample':
      return { shape: [h * node.size[0], w * node.size[1], c], macs: 0 };
    case 'flatten':
      return { shape: [size(inputs[0] ?? [1])], macs: 0 };
    default:
      return { shape: inputs[0] ?? [1], macs: 0 };
  }
}

export function modelFootprint(graph: ModelGraph): ModelFootprint {
  const shapes = new Map<string, number[]>();
  const nodeMacs = new Map<string, number>();
  let activationFloats = 0;
  let largest = 0;
  let macs = 0;
  let weightBytes = 0;
  for (const node of graph.nodes) {
    const { shape, macs: m } = outputShape(
      node,
      node.inputs.map((n) => shapes.get(n) ?? []),
    );
    shapes.set(node.name, shape);
    nodeMacs.set(node.name, m);
    const floats = shape.reduce((a, b) => a * b, 1);
    activationFloats += floats;
    largest = Math.max(largest, floats);
    macs += m;
    for (const w of nodeWeights(node)) weightBytes += 4 * w.data.length;
  }
  return {
    input: inputNode(graph).shape,
    activationFloats,
    largestActivationFloats: largest,
    forwardMacs: macs,
    weightBytes,
    shapes,
    macs: nodeMacs,
  };
}
