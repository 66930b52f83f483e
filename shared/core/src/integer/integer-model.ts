import type { Activation, GraphNode, InputNormalization, Padding, WeightedNode } from '../model/graph.js';
import { outputChannelIndexer } from '../model/graph.js';
import type { AffineParams } from '../quantization/activation-quantizer.js';
import type { QuantizedModel } from '../quantization/quantize-model.js';
import type { ChannelQuantized } from '../quantization/weight-quantizer.js';
import { roundHalfEven } from '../util/round.js';
import { type Dyadic, toDyadic, toDyadicShared } from './dyadic.js';

/**
 * A quantized model in the form an integer-only runtime executes (HAWQ-V3): integer weights and
 * biases, per-tensor zero points, dyadic requantization multipliers and integer clamp bounds.
 * Float scales are kept on each tensor's grid for reading values back, never for computing.
 */

/** The integer grid a tensor lives on: value ≈ (q - zeroPoint) · scale. */
export interface IntegerGrid {
  scale: number;
  zeroPoint: number;
  /** q in [0, 2^bits - 1]; null for the final logits, which stay signed int32. */
  bits: number | null;
}

interface IntegerNodeBase {
  name: string;
  inputs: string[];
  /** Output shape without the batch dimension (NHWC). */
  shape: number[];
  grid: IntegerGrid;
}

/** Requantization to the output grid, then clamping (which implements a fused ReLU/ReLU6). */
interface Requantized {
  /** Per output channel (weighted layers), per window size (avgPool) or one (globalAvgPool). */
  multipliers: number[];
  shifts: number[];
  outputZeroPoint: number;
  clampMin: number;
  clampMax: number;
}

export interface IntegerInput extends IntegerNodeBase {
  op: 'input';
}

interface IntegerWeightedBase extends IntegerNodeBase, Requantized {
  /** The float layer's kernel shape: HWIO, [kh, kw, in, multiplier] for depthwise, [in, out] for dense. */
  kernelShape: number[];
  weightBits: number;
  weights: Int32Array;
  /** int32, on the accumulator's scale s_in · s_w[c]. */
  bias: Int32Array;
  /**
   * Per channel, what rounding the bias to int32 left out (at most half an accumulator step), times
   * the channel's multiplier: an integer |r| ≤ 2^21 added to the product before the rounding shift.
   * At 4 bits one accumulator step is ~0.1 output step, so without it ~10% of outputs round the
   * other way from the float model's.
   */
  biasResidual: number[];
  inputZeroPoint: number;
  /** The conv/dense accumulator's width: an exact sum beyond it wraps (two's complement). */
  accumulatorBits: 16 | 32;
}

export interface IntegerConv extends IntegerWeightedBase {
  op: 'conv2d' | 'depthwiseConv2d';
  strides: [number, number];
  padding: Padding;
  dilations: [number, number];
}

export interface IntegerDense extends IntegerWeightedBase {
  op: 'dense';
}

export interface IntegerAdd extends IntegerNodeBase {
  op: 'add';
  inputZeroPoints: number[];
  /** One per input, all on `shift`, so the sum is rounded once. */
  multipliers: number[];
  shift: number;
  outputZeroPoint: number;
  clampMin: number;
  clampMax: number;
}

export interface IntegerAvgPool extends IntegerNodeBase, Requantized {
  /** multipliers[k - 1] divides a window of k valid elements ('same' windows at the border are smaller). */
  op: 'avgPool';
  poolSize: [number, number];
  strides: [number, number];
  padding: Padding;
  inputZeroPoint: number;
}

export interface IntegerGlobalAvgPool extends IntegerNodeBase, Requantized {
  op: 'globalAvgPool';
  inputZeroPoint: number;
}

/** Channel concatenation, each input rescaled onto the output's grid (one dyadic multiplier each). */
export interface IntegerConcat extends IntegerNodeBase {
  op: 'concat';
  /** Channels contributed by each input, in order. */
  channels: number[];
  inputZeroPoints: number[];
  multipliers: number[];
  shifts: number[];
  outputZeroPoint: number;
  clampMin: number;
  clampMax: number;
}

/**
 * Elementwise product (x_a - z_a)(x_b - z_b) rescaled by one dyadic multiplier onto the output grid.
 * `broadcast` names the input that is [1, 1, C] (a squeeze-excite gate) or null when shapes match.
 */
export interface IntegerMultiply extends IntegerNodeBase, Requantized {
  op: 'multiply';
  inputZeroPoints: [number, number];
  broadcast: 0 | 1 | null;
}

/** Ops that move values without changing them: the input's grid is the output's. */
export interface IntegerGlobalMaxPool extends IntegerNodeBase {
  op: 'globalMaxPool';
}

export interface IntegerCrop extends IntegerNodeBase {
  op: 'crop';
  cropping: [[number, number], [number, number]];
}

export interface IntegerUpsample extends IntegerNodeBase {
  op: 'upsample';
  size: [number, number];
}

export interface IntegerMaxPool extends IntegerNodeBase {
  op: 'maxPool';
  poolSize: [number, number];
  strides: [number, number];
  padding: Padding;
}

export interface IntegerZeroPad extends IntegerNodeBase {
  op: 'zeroPad';
  padding: [[number, number], [number, number]];
  /** The input's zero point: the integer that means 0. */
  padValue: number;
}

export interface IntegerReshape extends IntegerNodeBase {
  op: 'flatten' | 'identity';
}

/**
 * An elementwise map by table: q_out = table[c · inputLevels + q_in]. For activation layers and
 * BatchNorms that survived folding; the table is computed once at conversion.
 */
export interface IntegerLookup extends IntegerNodeBase {
  op: 'lookup';
  source: 'activation' | 'batchNorm';
  /** 1, or the channel count for a per-channel map. */
  channels: number;
  inputLevels: number;
  table: Int32Array;
}

export type IntegerNode =
  | IntegerInput
  | IntegerConv
  | IntegerDense
  | IntegerAdd
  | IntegerConcat
  | IntegerMultiply
  | IntegerGlobalMaxPool
  | IntegerCrop
  | IntegerUpsample
  | IntegerAvgPool
  | IntegerGlobalAvgPool
  | IntegerMaxPool
  | IntegerZeroPad
  | IntegerReshape
  | IntegerLookup;

export type IntegerWeighted = IntegerConv | IntegerDense;

export interface IntegerModel {
  name: string;
  inputName: string;
  outputName: string;
  /** How raw pixels become the model's float input, for `quantizePixels`. */
  normalization: InputNormalization;
  /** Topological order, input first. */
  nodes: IntegerNode[];
}

export class IntegerConversionError extends Error {
  override name = 'IntegerConversionError';
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export function isIntegerWeighted(node: IntegerNode): node is IntegerWeighted {
  return node.op === 'conv2d' || node.op === 'depthwiseConv2d' || node.op === 'dense';
}

export function integerInput(model: IntegerModel): IntegerInput {
  const node = model.nodes.find((n) => n.name === model.inputName);
  if (node?.op !== 'input')
    throw new IntegerConversionError(`${model.name} has no input node ${model.inputName}`);
  return node;
}

export function integerOutput(model: IntegerModel): IntegerNode {
  const node = model.nodes.find((n) => n.name === model.outputName);
  if (!node) throw new IntegerConversionError(`${model.name} has no output node ${model.outputName}`);
  return node;
}

/** TF's output size and leading padding along one spatial axis. */
export function convAxis(
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: Padding,
): { out: number; padBefore: number } {
  const span = (kernel - 1) * dilation + 1;
  if (padding === 'valid') return { out: Math.max(0, Math.ceil((size - span + 1) / stride)), padBefore: 0 };
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + span - size, 0);
  return { out, padBefore: Math.floor(total / 2) };
}

/** Integer bounds of q = round(act(y) / s) + z, given the activation fused before the quantizer. */
function clampFor(
  activation: Activation,
  grid: IntegerGrid,
  name: string,
): { clampMin: number; clampMax: number } {
  const signed = grid.bits === null;
  let clampMin = signed ? INT32_MIN : 0;
  let clampMax = signed ? INT32_MAX : 2 ** (grid.bits as number) - 1;
  const zero = grid.zeroPoint;
  switch (activation) {
    case 'linear':
      break;
    case 'relu':
      clampMin = Math.max(clampMin, zero);
      break;
    case 'relu6':
      clampMin = Math.max(clampMin, zero);
      clampMax = Math.min(clampMax, zero + roundHalfEven(6 / grid.scale));
      break;
    default:
      // Monotone maps leave the final layer's argmax alone; elsewhere they are not integer-only.
      if (!signed)
        throw new IntegerConversionError(
          `${name}: fused activation ${activation} has no integer-only form; only relu, relu6 and linear do`,
        );
  }
  return { clampMin, clampMax };
}

function affineGrid(p: AffineParams): IntegerGrid {
  return { scale: p.scale, zeroPoint: p.zeroPoint, bits: p.bits };
}

function elementwise(activation: Activation): ((x: number) => number) | null {
  switch (activation) {
    case 'linear':
      return (x) => x;
    case 'relu':
      return (x) => Math.max(0, x);
    case 'relu6':
      return (x) => Math.min(6, Math.max(0, x));
    case 'sigmoid':
      return (x) => 1 / (1 + Math.exp(-x));
    case 'tanh':
      return Math.tanh;
    case 'hard_sigmoid':
      return (x) => Math.min(1, Math.max(0, 0.2 * x + 0.5));
    case 'swish':
      return (x) => x / (1 + Math.exp(-x));
    case 'hard_swish':
      return (x) => (x * Math.min(6, Math.max(0, x + 3))) / 6;
    case 'gelu':
      return (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'softmax':
      return null;
  }
}

/** erf to ~1e-7 (Abramowitz and Stegun 7.1.26), enough for an 8-bit table. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const y = 1 - poly * Math.exp(-x * x);
  return x < 0 ? -y : y;
}

/** Table of q_out = quantize(f(c, dequantize(q_in))) for every input level and channel. */
function lookupTable(
  channels: number,
  input: IntegerGrid,
  output: IntegerGrid,
  f: (c: number, x: number) => number,
): Int32Array {
  const levels = 2 ** (input.bits as number);
  const max = 2 ** (output.bits as number) - 1;
  const table = new Int32Array(channels * levels);
  for (let c = 0; c < channels; c++) {
    for (let q = 0; q < levels; q++) {
      const y = f(c, (q - input.zeroPoint) * input.scale);
      table[c * levels + q] = Math.max(0, Math.min(max, roundHalfEven(y / output.scale) + output.zeroPoint));
    }
  }
  return table;
}

/**
 * Per-channel weight scales used for bias and requantization. A channel whose weights are all
 * zero takes the layer's largest scale instead of the quantizer's placeholder 1, so that its bias
 * keeps the same precision as the others' (its weights are 0 on any scale).
 */
function effectiveWeightScales(wq: ChannelQuantized, channels: number, of: (i: number) => number): number[] {
  const used = new Array<boolean>(channels).fill(false);
  wq.q.forEach((v, i) => {
    if (v !== 0) used[of(i)] = true;
  });
  const live = Array.from(wq.scales).filter((_, c) => used[c]);
  const fallback = live.length > 0 ? Math.max(...live) : 1;
  return Array.from(wq.scales, (s, c) => (used[c] ? s : fallback));
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

interface Context {
  model: QuantizedModel;
  grids: Map<string, IntegerGrid | null>;
  shapes: Map<string, number[]>;
  outputName: string;
  accumulatorBits: ReadonlyMap<string, 16 | 32>;
}

function inputGrid(ctx: Context, node: GraphNode, index = 0): IntegerGrid {
  const source = node.inputs[index] as string;
  const grid = ctx.grids.get(source);
  if (!grid || grid.bits === null)
    throw new IntegerConversionError(`${node.name} reads ${source}, which has no activation quantizer`);
  return grid;
}

function inputShape(ctx: Context, node: GraphNode, index = 0): number[] {
  const shape = ctx.shapes.get(node.inputs[index] as string);
  if (!shape)
    throw new IntegerConversionError(`${node.name} reads ${node.inputs[index]} before it is computed`);
  return shape;
}

/** The node's own output quantizer, or null for the final output (which has none). */
function outputGrid(ctx: Context, node: GraphNode): IntegerGrid | null {
  const p = ctx.model.activations.get(node.name);
  if (p) return affineGrid(p);
  if (node.name === ctx.outputName) return null;
  throw new IntegerConversionError(`${node.name} (${node.op}) has no activation quantizer`);
}

function requireOutputGrid(ctx: Context, node: GraphNode): IntegerGrid {
  const grid = outputGrid(ctx, node);
  if (!grid)
    throw new IntegerConversionError(
      `${node.name}: a final ${node.op} without an output quantizer is not supported; only a final conv/dense layer keeps accumulator precision`,
    );
  return grid;
}

function dyadicLists(ds: Dyadic[]): { multipliers: number[]; shifts: number[] } {
  return { multipliers: ds.map((d) => d.multiplier), shifts: ds.map((d) => d.shift) };
}

function weightedShape(node: WeightedNode, input: number[]): number[] {
  const k = node.kernel.shape;
  if (node.op === 'dense') {
    if (input[input.length - 1] !== k[0])
      throw new IntegerConversionError(
        `${node.name}: input has ${input[input.length - 1]} features, kernel ${k[0]}`,
      );
    return [...input.slice(0, -1), k[1] as number];
  }
  const [h, w, c] = input as [number, number, number];
  const [kh, kw, ki, ko] = k as [number, number, number, number];
  if (c !== ki) throw new IntegerConversionError(`${node.name}: input has ${c} channels, kernel ${ki}`);
  const y = convAxis(h, kh, node.strides[0], node.dilations[0], node.padding);
  const x = convAxis(w, kw, node.strides[1], node.dilations[1], node.padding);
  return [y.out, x.out, node.op === 'depthwiseConv2d' ? ki * ko : ko];
}

/**
 * The final layer has no output quantizer: its channels go onto one common scale so that comparing
 * them (argmax) is meaningful. That scale is s_in · max s_w / 2^k, with k ≤ 16 as large as keeps
 * the worst-case logit within int32, so rounding onto it hardly ever decides the argmax.
 */
function logitGrid(
  wq: ChannelQuantized,
  of: (i: number) => number,
  sw: number[],
  bias: Int32Array,
  input: IntegerGrid,
): IntegerGrid {
  const maxAbsInput = Math.max(input.zeroPoint, 2 ** (input.bits as number) - 1 - input.zeroPoint);
  const worst = Float64Array.from(bias, (b) => Math.abs(b) + 1);
  wq.q.forEach((q, i) => {
    const c = of(i);
    worst[c] = (worst[c] as number) + Math.abs(q) * maxAbsInput;
  });
  const headroom = Math.floor(Math.log2(INT32_MAX / Math.max(...worst))) - 1;
  const k = Math.max(0, Math.min(16, headroom));
  return { scale: (input.scale * Math.max(...sw)) / 2 ** k, zeroPoint: 0, bits: null };
}

function convertWeighted(ctx: Context, node: WeightedNode): IntegerWeighted {
  const wq = ctx.model.weights.get(node.name);
  if (!wq) throw new IntegerConversionError(`${node.name} has no quantized weights`);
  const input = inputGrid(ctx, node);
  const shape = weightedShape(node, inputShape(ctx, node));
  const { channels, of } = outputChannelIndexer(node);
  const sw = effectiveWeightScales(wq, channels, of);
  const bias = new Int32Array(channels);
  const exactBias: number[] = [];
  for (let c = 0; c < channels; c++) {
    const b = node.bias ? (node.bias.data[c] as number) / (input.scale * (sw[c] as number)) : 0;
    exactBias.push(b);
    // Saturates: a bias beyond int32 on this scale saturates the output whatever the sum.
    bias[c] = Math.max(INT32_MIN, Math.min(INT32_MAX, Math.round(b)));
  }
  const grid = outputGrid(ctx, node) ?? logitGrid(wq, of, sw, bias, input);
  const biasResidual: number[] = [];
  const dyadics: Dyadic[] = [];
  for (let c = 0; c < channels; c++) {
    const d = toDyadic(
      (input.scale * (sw[c] as number)) / grid.scale,
      `${node.name} channel ${c} requantization`,
    );
    const residual = Math.round(((exactBias[c] as number) - (bias[c] as number)) * d.multiplier);
    // `+ 0` turns -0 into 0, so the JSON round trip is exact.
    biasResidual.push(Math.max(-(2 ** 21), Math.min(2 ** 21, residual)) + 0);
    dyadics.push(d);
  }
  const accumulatorBits = ctx.accumulatorBits.get(node.name) ?? 32;
  if (accumulatorBits !== 16 && accumulatorBits !== 32)
    throw new IntegerConversionError(
      `${node.name}: accumulator bits must be 16 or 32, got ${accumulatorBits}`,
    );
  const common = {
    name: node.name,
    inputs: [...node.inputs],
    shape,
    grid,
    kernelShape: [...node.kernel.shape],
    weightBits: wq.bits,
    weights: Int32Array.from(wq.q),
    bias,
    biasResidual,
    inputZeroPoint: input.zeroPoint,
    accumulatorBits,
    outputZeroPoint: grid.zeroPoint,
    ...dyadicLists(dyadics),
    ...clampFor(node.activation, grid, node.name),
  };
  if (node.op === 'dense') return { op: 'dense', ...common };
  return {
    op: node.op,
    ...common,
    strides: [...node.strides],
    padding: node.padding,
    dilations: [...node.dilations],
  };
}

function convertNode(ctx: Context, node: GraphNode): IntegerNode {
  const base = { name: node.name, inputs: [...node.inputs] };
  switch (node.op) {
    case 'input': {
      const p = ctx.model.activations.get(node.name);
      if (!p) throw new IntegerConversionError(`input ${node.name} has no activation quantizer`);
      return { op: 'input', ...base, shape: [...node.shape], grid: affineGrid(p) };
    }
    case 'conv2d':
    case 'depthwiseConv2d':
    case 'dense':
      return convertWeighted(ctx, node);
    case 'add': {
      const grid = requireOutputGrid(ctx, node);
      const shape = inputShape(ctx, node);
      const inputs = node.inputs.map((_, i) => inputGrid(ctx, node, i));
      node.inputs.forEach((_, i) => {
        if (inputShape(ctx, node, i).join() !== shape.join())
          throw new IntegerConversionError(`${node.name}: inputs of different shapes cannot be added`);
      });
      const { multipliers, shift } = toDyadicShared(
        inputs.map((g) => g.scale / grid.scale),
        `${node.name} input rescale`,
      );
      return {
        op: 'add',
        ...base,
        shape,
        grid,
        inputZeroPoints: inputs.map((g) => g.zeroPoint),
        multipliers,
        shift,
        outputZeroPoint: grid.zeroPoint,
        ...clampFor(node.activation, grid, node.name),
      };
    }
    case 'zeroPad': {
      const [h, w, c] = inputShape(ctx, node) as [number, number, number];
      const [[t, b], [l, r]] = node.padding;
      const grid = inputGrid(ctx, node);
      return {
        op: 'zeroPad',
        ...base,
        shape: [h + t + b, w + l + r, c],
        grid,
        padding: [
          [t, b],
          [l, r],
        ],
        padValue: grid.zeroPoint,
      };
    }
    case 'maxPool':
    case 'avgPool': {
      const [h, w, c] = inputShape(ctx, node) as [number, number, number];
      const y = convAxis(h, node.poolSize[0], node.strides[0], 1, node.padding);
      const x = convAxis(w, node.poolSize[1], node.strides[1], 1, node.padding);
      const shape = [y.out, x.out, c];
      const pool = {
        poolSize: [...node.poolSize] as [number, number],
        strides: [...node.strides] as [number, number],
        padding: node.padding,
      };
      if (node.op === 'maxPool')
        return { op: 'maxPool', ...base, shape, grid: inputGrid(ctx, node), ...pool };
      const input = inputGrid(ctx, node);
      const grid = requireOutputGrid(ctx, node);
      const window = node.poolSize[0] * node.poolSize[1];
      const ds = Array.from({ length: window }, (_, k) =>
        toDyadic(input.scale / ((k + 1) * grid.scale), `${node.name} average of ${k + 1}`),
      );
      return {
        op: 'avgPool',
        ...base,
        shape,
        grid,
        ...pool,
        inputZeroPoint: input.zeroPoint,
        outputZeroPoint: grid.zeroPoint,
        ...dyadicLists(ds),
        ...clampFor('linear', grid, node.name),
      };
    }
    case 'globalAvgPool': {
      const [h, w, c] = inputShape(ctx, node) as [number, number, number];
      const input = inputGrid(ctx, node);
      const grid = requireOutputGrid(ctx, node);
      // The sum of h·w values below 2^bits times a 22-bit multiplier must stay exact.
      if (h * w * 2 ** (input.bits as number) * 2 ** 22 >= 2 ** 53)
        throw new IntegerConversionError(`${node.name}: a ${h}×${w} average is too large to rescale exactly`);
      return {
        op: 'globalAvgPool',
        ...base,
        shape: node.keepDims ? [1, 1, c] : [c],
        grid,
        inputZeroPoint: input.zeroPoint,
        outputZeroPoint: grid.zeroPoint,
        ...dyadicLists([toDyadic(input.scale / (h * w * grid.scale), `${node.name} average`)]),
        ...clampFor('linear', grid, node.name),
      };
    }
    case 'flatten':
    case 'identity':
    case 'reshape': {
      const shape = inputShape(ctx, node);
      return {
        op: node.op === 'flatten' ? 'flatten' : 'identity',
        ...base,
        shape:
          node.op === 'flatten' ? [product(shape)] : node.op === 'reshape' ? [...node.shape] : [...shape],
        grid: inputGrid(ctx, node),
      };
    }
    case 'concat': {
      const grid = requireOutputGrid(ctx, node);
      const shapes = node.inputs.map((_, i) => inputShape(ctx, node, i));
      const first = shapes[0] ?? [];
      if (shapes.some((sh) => sh.slice(0, -1).join() !== first.slice(0, -1).join()))
        throw new IntegerConversionError(`${node.name}: inputs differ in size other than channels`);
      const inputs = node.inputs.map((_, i) => inputGrid(ctx, node, i));
      const ds = inputs.map((g, i) => toDyadic(g.scale / grid.scale, `${node.name} input ${i} rescale`));
      const channels = shapes.map((sh) => sh.at(-1) ?? 0);
      return {
        op: 'concat',
        ...base,
        shape: [...first.slice(0, -1), channels.reduce((a, b) => a + b, 0)],
        grid,
        channels,
        inputZeroPoints: inputs.map((g) => g.zeroPoint),
        ...dyadicLists(ds),
        outputZeroPoint: grid.zeroPoint,
        ...clampFor('linear', grid, node.name),
      };
    }
    case 'multiply': {
      const grid = requireOutputGrid(ctx, node);
      const [a, b] = [0, 1].map((i) => inputShape(ctx, node, i)) as [number[], number[]];
      const gate = (sh: number[], other: number[]) =>
        sh.length === other.length && sh.slice(0, -1).every((d) => d === 1) && sh.at(-1) === other.at(-1);
      const broadcast = a.join() === b.join() ? null : gate(b, a) ? 1 : gate(a, b) ? 0 : undefined;
      if (broadcast === undefined)
        throw new IntegerConversionError(`${node.name}: cannot multiply [${a}] by [${b}]`);
      const [ga, gb] = [inputGrid(ctx, node, 0), inputGrid(ctx, node, 1)];
      return {
        op: 'multiply',
        ...base,
        shape: broadcast === 0 ? [...b] : [...a],
        grid,
        inputZeroPoints: [ga.zeroPoint, gb.zeroPoint],
        broadcast,
        outputZeroPoint: grid.zeroPoint,
        ...dyadicLists([toDyadic((ga.scale * gb.scale) / grid.scale, `${node.name} product rescale`)]),
        ...clampFor('linear', grid, node.name),
      };
    }
    case 'activation': {
      const input = inputGrid(ctx, node);
      const own = outputGrid(ctx, node);
      const f = elementwise(node.activation);
      let table: Int32Array;
      if (own) {
        if (!f)
          throw new IntegerConversionError(
            `${node.name}: ${node.activation} is only supported as the final layer`,
          );
        table = lookupTable(1, input, own, (_, x) => f(x));
      } else {
        // The final activation without a quantizer stays on its input's grid: ReLUs clamp, and the
        // monotone ones (softmax, sigmoid, tanh) are left out, since they do not change the argmax.
        const { clampMin, clampMax } = clampFor(
          node.activation === 'relu' || node.activation === 'relu6' ? node.activation : 'linear',
          input,
          node.name,
        );
        table = Int32Array.from({ length: 2 ** (input.bits as number) }, (_, q) =>
          Math.max(clampMin, Math.min(clampMax, q)),
        );
      }
      return {
        op: 'lookup',
        ...base,
        shape: [...inputShape(ctx, node)],
        grid: own ?? input,
        source: 'activation',
        channels: 1,
        inputLevels: 2 ** (input.bits as number),
        table,
      };
    }
    case 'leakyRelu':
    case 'channelAffine': {
      const input = inputGrid(ctx, node);
      const grid = requireOutputGrid(ctx, node);
      const at = (t: Float32Array, c: number) => (t.length === 1 ? (t[0] as number) : (t[c] as number));
      const channels = node.op === 'leakyRelu' ? node.alpha.data.length : node.scale.data.length;
      const table = lookupTable(channels, input, grid, (c, x) =>
        node.op === 'leakyRelu'
          ? x > 0
            ? x
            : at(node.alpha.data, c) * x
          : x * at(node.scale.data, c) + at(node.offset.data, c),
      );
      return {
        op: 'lookup',
        ...base,
        shape: [...inputShape(ctx, node)],
        grid,
        source: 'activation',
        channels,
        inputLevels: 2 ** (input.bits as number),
        table,
      };
    }
    case 'globalMaxPool': {
      const c = inputShape(ctx, node).at(-1) as number;
      return {
        op: 'globalMaxPool',
        ...base,
        shape: node.keepDims ? [1, 1, c] : [c],
        grid: inputGrid(ctx, node),
      };
    }
    case 'crop': {
      const [h, w, c] = inputShape(ctx, node) as [number, number, number];
      const [[t, b], [l, r]] = node.cropping;
      return {
        op: 'crop',
        ...base,
        shape: [h - t - b, w - l - r, c],
        grid: inputGrid(ctx, node),
        cropping: [
          [t, b],
          [l, r],
        ],
      };
    }
    case 'upsample': {
      const [h, w, c] = inputShape(ctx, node) as [number, number, number];
      return {
        op: 'upsample',
        ...base,
        shape: [h * node.size[0], w * node.size[1], c],
        grid: inputGrid(ctx, node),
        size: [...node.size] as [number, number],
      };
    }
    case 'batchNorm': {
      const input = inputGrid(ctx, node);
      const grid = requireOutputGrid(ctx, node);
      const channels = node.gamma.data.length;
      const at = (t: Float32Array, c: number) => t[c] as number;
      const table = lookupTable(channels, input, grid, (c, x) => {
        const scale = at(node.gamma.data, c) / Math.sqrt(at(node.movingVariance.data, c) + node.epsilon);
        return (x - at(node.movingMean.data, c)) * scale + at(node.beta.data, c);
      });
      return {
        op: 'lookup',
        ...base,
        shape: [...inputShape(ctx, node)],
        grid,
        source: 'batchNorm',
        channels,
        inputLevels: 2 ** (input.bits as number),
        table,
      };
    }
  }
}

/**
 * Converts a quantized model to integer-only form. `accumulatorBits` gives each conv/dense
 * layer's accumulator width (32 when absent). Throws IntegerConversionError for what has no
 * integer-only form (a tensor without a quantizer, a non-ReLU activation inside the network).
 */
export function toIntegerModel(
  model: QuantizedModel,
  accumulatorBits: ReadonlyMap<string, 16 | 32> = new Map(),
): IntegerModel {
  const graph = model.graph;
  const ctx: Context = {
    model,
    grids: new Map(),
    shapes: new Map(),
    outputName: graph.outputName,
    accumulatorBits,
  };
  const nodes: IntegerNode[] = [];
  for (const node of graph.nodes) {
    const converted = convertNode(ctx, node);
    ctx.grids.set(node.name, converted.grid);
    ctx.shapes.set(node.name, converted.shape);
    nodes.push(converted);
  }
  return {
    name: graph.name,
    inputName: graph.inputName,
    outputName: graph.outputName,
    normalization: { mean: [...graph.normalization.mean], std: [...graph.normalization.std] },
    nodes,
  };
}
