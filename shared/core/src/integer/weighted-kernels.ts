import type { IntegerConv, IntegerDense, IntegerGrid, IntegerWeighted } from './integer-model.js';
import { accumulate, compress, macWeights, sparseInput } from './mac-kernel.js';
import { windowTable } from './window-table.js';

/**
 * Conv2D, DepthwiseConv2D and Dense on integers: accumulators Σ q_w·(q_x - z_x) for a whole
 * layer, then one pass that emulates the accumulator width, adds the int32 bias, requantizes by
 * the per-channel dyadic number and clamps (the fused activation).
 */

export type Step = () => void;

export interface LayerStats {
  /** Outputs whose exact sum left the accumulator's range (then wrapped), or whose bias add left int32. */
  overflows: number;
  /** Largest |Σ q_w·(q_x - z_x)| seen, before the bias. */
  maxAbs: number;
}

/** Per-channel requantization constants of a layer. */
interface Requant {
  channels: number;
  bias: Float64Array;
  multipliers: Float64Array;
  residual: Float64Array;
  /** 2^-s, 2^s and 2^(1-s) per channel, for the rounding shift. */
  inverse: Float64Array;
  power: Float64Array;
  twiceInverse: Float64Array;
  outputZeroPoint: number;
  clampMin: number;
  clampMax: number;
  /** 2^(accumulator bits - 1). */
  limit: number;
  narrow: boolean;
  stats: LayerStats;
}

function requantOf(node: IntegerWeighted, stats: LayerStats): Requant {
  return {
    channels: node.bias.length,
    bias: Float64Array.from(node.bias),
    multipliers: Float64Array.from(node.multipliers),
    residual: Float64Array.from(node.biasResidual),
    inverse: Float64Array.from(node.shifts, (s) => 2 ** -s),
    power: Float64Array.from(node.shifts, (s) => 2 ** s),
    twiceInverse: Float64Array.from(node.shifts, (s) => 2 ** (1 - s)),
    outputZeroPoint: node.outputZeroPoint,
    clampMin: node.clampMin,
    clampMax: node.clampMax,
    limit: 2 ** (node.accumulatorBits - 1),
    narrow: node.accumulatorBits < 32,
    stats,
  };
}

/**
 * acc (one exact sum per output element) -> y, channel by channel so that each channel's constants
 * sit in registers (a top-level function with locals: V8 reloads a closure's captured values).
 */
function requantize(acc: Float64Array, y: Int32Array, r: Requant): void {
  const { channels, outputZeroPoint, clampMin, clampMax, limit, narrow, stats } = r;
  const n = y.length;
  let maxAbs = stats.maxAbs;
  for (let c = 0; c < channels; c++) {
    const bias = r.bias[c] as number;
    const multiplier = r.multipliers[c] as number;
    const residual = r.residual[c] as number;
    const inverse = r.inverse[c] as number;
    const power = r.power[c] as number;
    const twiceInverse = r.twiceInverse[c] as number;
    for (let i = c; i < n; i += channels) {
      let a = acc[i] as number;
      maxAbs = Math.max(maxAbs, Math.abs(a));
      if (a >= limit || a < -limit) {
        stats.overflows++;
        // ToInt32 is exact modulo 2^32 for any integral double; the shifts then sign-extend 16 bits.
        a = narrow ? ((a | 0) << 16) >> 16 : a | 0;
      }
      let v = a + bias;
      if (v >= 2147483648 || v < -2147483648) {
        stats.overflows++;
        v |= 0;
      }
      // Dyadic rescale, rounding half up: q = floor(p / 2^s), plus 1 when the remainder r ≥ 2^(s-1),
      // i.e. floor(r · 2^(1-s)), which is exact and branch-free. |v·m| ≤ 2^53 - 2^31 and the
      // residual ≤ 2^21, so p is exact.
      const p = v * multiplier + residual;
      const q = Math.floor(p * inverse);
      const rounded = q + Math.floor((p - q * power) * twiceInverse);
      y[i] = Math.min(Math.max(rounded + outputZeroPoint, clampMin), clampMax);
    }
  }
  stats.maxAbs = maxAbs;
}

/** Largest |q - z| on the input grid: the bound the MAC kernel's lane packing relies on. */
function maxAbsCentered(grid: IntegerGrid, zeroPoint: number): number {
  if (grid.bits === null) return 2 ** 31;
  return Math.max(zeroPoint, 2 ** grid.bits - 1 - zeroPoint);
}

export function conv2dStep(
  node: IntegerConv,
  inShape: readonly number[],
  inGrid: IntegerGrid,
  x: Int32Array,
  y: Int32Array,
  stats: LayerStats,
): Step {
  const [kh, kw, cin, cout] = node.kernelShape as [number, number, number, number];
  const w = macWeights(node.weights, cout, maxAbsCentered(inGrid, node.inputZeroPoint));
  const win = windowTable(inShape, node.shape, [kh, kw], node.strides, node.dilations, node.padding);
  const tapRow = win.tap.map((t) => t * cin * w.stride);
  const sparse = sparseInput((inShape[0] as number) * (inShape[1] as number), cin);
  const used = Int32Array.from(new Set(win.pixel)).sort();
  const acc = new Float64Array(y.length);
  const zx = node.inputZeroPoint;
  const pixels = win.start.length - 1;
  const requant = requantOf(node, stats);
  return () => {
    compress(x, zx, w.stride, used, sparse);
    for (let p = 0; p < pixels; p++)
      accumulate(
        sparse,
        win.pixel,
        tapRow,
        win.start[p] as number,
        win.start[p + 1] as number,
        w,
        acc,
        p * cout,
      );
    requantize(acc, y, requant);
  };
}

/** Depthwise: each output channel (c, m) reads input channel c only, so there is no reuse to block. */
export function depthwiseStep(
  node: IntegerConv,
  inShape: readonly number[],
  x: Int32Array,
  y: Int32Array,
  stats: LayerStats,
): Step {
  const [kh, kw, cin, mult] = node.kernelShape as [number, number, number, number];
  const cout = cin * mult;
  const win = windowTable(inShape, node.shape, [kh, kw], node.strides, node.dilations, node.padding);
  const w = Float64Array.from(node.weights);
  const acc = new Float64Array(y.length);
  const zx = node.inputZeroPoint;
  const pixels = win.start.length - 1;
  const requant = requantOf(node, stats);
  return () => {
    acc.fill(0);
    for (let p = 0; p < pixels; p++) {
      const out = p * cout;
      const end = win.start[p + 1] as number;
      for (let t = win.start[p] as number; t < end; t++) {
        const xi = (win.pixel[t] as number) * cin;
        const wi = (win.tap[t] as number) * cout;
        for (let c = 0; c < cin; c++) {
          const v = (x[xi + c] as number) - zx;
          if (v === 0) continue;
          for (let o = c * mult, last = o + mult; o < last; o++)
            acc[out + o] = (acc[out + o] as number) + v * (w[wi + o] as number);
        }
      }
    }
    requantize(acc, y, requant);
  };
}

/** Dense over the last axis (Keras semantics): a rank > 1 input is one product per position. */
export function denseStep(
  node: IntegerDense,
  inGrid: IntegerGrid,
  x: Int32Array,
  y: Int32Array,
  stats: LayerStats,
): Step {
  const [fin, fout] = node.kernelShape as [number, number];
  const w = macWeights(node.weights, fout, maxAbsCentered(inGrid, node.inputZeroPoint));
  const positions = x.length / fin;
  // Each position is one window of one tap, over its own "pixel" of fin channels.
  const pixel = Int32Array.from({ length: positions }, (_, p) => p);
  const tapRow = new Int32Array(positions);
  const sparse = sparseInput(positions, fin);
  const acc = new Float64Array(y.length);
  const requant = requantOf(node, stats);
  return () => {
    compress(x, node.inputZeroPoint, w.stride, pixel, sparse);
    for (let p = 0; p < positions; p++) accumulate(sparse, pixel, tapRow, p, p + 1, w, acc, p * fout);
    requantize(acc, y, requant);
  };
}
