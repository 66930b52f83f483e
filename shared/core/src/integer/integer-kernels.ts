import type {
  IntegerAdd,
  IntegerAvgPool,
  IntegerConcat,
  IntegerCrop,
  IntegerGlobalAvgPool,
  IntegerGlobalMaxPool,
  IntegerLookup,
  IntegerMaxPool,
  IntegerMultiply,
  IntegerUpsample,
  IntegerZeroPad,
} from './integer-model.js';
import type { Step } from './weighted-kernels.js';
import { windowTable } from './window-table.js';

/** The integer ops without weights: add, padding, pooling and table lookups. */

interface RequantTail {
  outputZeroPoint: number;
  clampMin: number;
  clampMax: number;
}

/** round(sum · m / 2^shift) half up, plus the zero point, clamped. sum · m stays below 2^53. */
function requantize(sum: number, multiplier: number, shift: number, tail: RequantTail): number {
  const p = sum * multiplier;
  const pow = 2 ** shift;
  const q = Math.floor(p / pow);
  const rounded = p - q * pow >= pow / 2 ? q + 1 : q;
  return Math.min(Math.max(rounded + tail.outputZeroPoint, tail.clampMin), tail.clampMax);
}

interface AddConstants {
  multipliers: number[];
  /** Σ z_i·m_i, subtracted once; every partial sum is still an exact integer. */
  offset: number;
  power: number;
  inverse: number;
  twiceInverse: number;
  outputZeroPoint: number;
  clampMin: number;
  clampMax: number;
}

/**
 * Σ (x_i - z_i)·m_i on one shared shift, rounded once (half up, branch-free as in the weighted
 * layers), plus the zero point, clamped. A top-level function reading its constants into locals,
 * which V8 keeps in registers (a closure's captured values are reloaded per element).
 */
function add(xs: Int32Array[], sum: Float64Array, y: Int32Array, k: AddConstants): void {
  const n = y.length;
  sum.fill(-k.offset);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i] as Int32Array;
    const m = k.multipliers[i] as number;
    for (let j = 0; j < n; j++) sum[j] = (sum[j] as number) + (x[j] as number) * m;
  }
  const { power, inverse, twiceInverse, outputZeroPoint, clampMin, clampMax } = k;
  for (let j = 0; j < n; j++) {
    const s = sum[j] as number;
    const q = Math.floor(s * inverse);
    const rounded = q + Math.floor((s - q * power) * twiceInverse);
    y[j] = Math.min(Math.max(rounded + outputZeroPoint, clampMin), clampMax);
  }
}

export function addStep(node: IntegerAdd, xs: Int32Array[], y: Int32Array): Step {
  const constants: AddConstants = {
    multipliers: [...node.multipliers],
    offset: node.inputZeroPoints.reduce((s, z, i) => s + z * (node.multipliers[i] as number), 0),
    power: 2 ** node.shift,
    inverse: 2 ** -node.shift,
    twiceInverse: 2 ** (1 - node.shift),
    outputZeroPoint: node.outputZeroPoint,
    clampMin: node.clampMin,
    clampMax: node.clampMax,
  };
  const sum = new Float64Array(y.length);
  return () => add(xs, sum, y, constants);
}

/** Each input's channels rescaled onto the output grid and written side by side, pixel by pixel. */
export function concatStep(node: IntegerConcat, xs: Int32Array[], y: Int32Array): Step {
  const total = node.channels.reduce((a, b) => a + b, 0);
  const pixels = y.length / total;
  return () => {
    let offset = 0;
    xs.forEach((x, i) => {
      const c = node.channels[i] as number;
      const z = node.inputZeroPoints[i] as number;
      const m = node.multipliers[i] as number;
      const shift = node.shifts[i] as number;
      for (let p = 0; p < pixels; p++)
        for (let k = 0; k < c; k++)
          y[p * total + offset + k] = requantize((x[p * c + k] as number) - z, m, shift, node);
      offset += c;
    });
  };
}

/** (x_a - z_a)(x_b - z_b) rescaled once; a [1, 1, C] input repeats over every pixel. */
export function multiplyStep(node: IntegerMultiply, xs: Int32Array[], y: Int32Array): Step {
  const [a, b] = xs as [Int32Array, Int32Array];
  const [za, zb] = node.inputZeroPoints;
  const m = node.multipliers[0] as number;
  const shift = node.shifts[0] as number;
  const channels = node.shape.at(-1) as number;
  const at = (x: Int32Array, which: 0 | 1, j: number) =>
    x[node.broadcast === which ? j % channels : j] as number;
  return () => {
    for (let j = 0; j < y.length; j++)
      y[j] = requantize((at(a, 0, j) - za) * (at(b, 1, j) - zb), m, shift, node);
  };
}

export function globalMaxPoolStep(_node: IntegerGlobalMaxPool, x: Int32Array, y: Int32Array): Step {
  const c = y.length;
  return () => {
    y.fill(-2147483648);
    for (let j = 0; j < x.length; j++) {
      const k = j % c;
      if ((x[j] as number) > (y[k] as number)) y[k] = x[j] as number;
    }
  };
}

export function cropStep(node: IntegerCrop, inShape: readonly number[], x: Int32Array, y: Int32Array): Step {
  const [, w, c] = inShape as [number, number, number];
  const [oh, ow] = node.shape as [number, number, number];
  const [[top], [left]] = node.cropping;
  return () => {
    for (let row = 0; row < oh; row++) {
      const from = ((row + top) * w + left) * c;
      y.set(x.subarray(from, from + ow * c), row * ow * c);
    }
  };
}

export function upsampleStep(
  node: IntegerUpsample,
  inShape: readonly number[],
  x: Int32Array,
  y: Int32Array,
): Step {
  const [, w, c] = inShape as [number, number, number];
  const [oh, ow] = node.shape as [number, number, number];
  const [sh, sw] = node.size;
  return () => {
    for (let row = 0; row < oh; row++)
      for (let col = 0; col < ow; col++) {
        const from = (Math.floor(row / sh) * w + Math.floor(col / sw)) * c;
        y.set(x.subarray(from, from + c), (row * ow + col) * c);
      }
  };
}

export function zeroPadStep(
  node: IntegerZeroPad,
  inShape: readonly number[],
  x: Int32Array,
  y: Int32Array,
): Step {
  const [h, w, c] = inShape as [number, number, number];
  const [[top], [left]] = node.padding;
  const ow = node.shape[1] as number;
  return () => {
    y.fill(node.padValue);
    for (let iy = 0; iy < h; iy++)
      y.set(x.subarray(iy * w * c, (iy + 1) * w * c), ((iy + top) * ow + left) * c);
  };
}

function poolWindows(node: IntegerMaxPool | IntegerAvgPool, inShape: readonly number[]) {
  return windowTable(inShape, node.shape, node.poolSize, node.strides, [1, 1], node.padding);
}

/** Max on the integers directly: the grid is monotone, so the max of q is the q of the max. */
export function maxPoolStep(
  node: IntegerMaxPool,
  inShape: readonly number[],
  x: Int32Array,
  y: Int32Array,
): Step {
  const win = poolWindows(node, inShape);
  const channels = inShape[2] as number;
  const pixels = win.start.length - 1;
  return () => {
    for (let p = 0; p < pixels; p++) {
      const end = win.start[p + 1] as number;
      for (let c = 0; c < channels; c++) {
        let best = -1;
        for (let t = win.start[p] as number; t < end; t++) {
          const v = x[(win.pixel[t] as number) * channels + c] as number;
          if (v > best) best = v;
        }
        y[p * channels + c] = best;
      }
    }
  };
}

/** Integer sum of (q - z) over the window, then the dyadic s_in / (k · s_out) for its k valid elements. */
export function avgPoolStep(
  node: IntegerAvgPool,
  inShape: readonly number[],
  x: Int32Array,
  y: Int32Array,
): Step {
  const win = poolWindows(node, inShape);
  const channels = inShape[2] as number;
  const pixels = win.start.length - 1;
  const z = node.inputZeroPoint;
  return () => {
    for (let p = 0; p < pixels; p++) {
      const begin = win.start[p] as number;
      const end = win.start[p + 1] as number;
      // 'same' windows at the border average only their valid elements, as TF does.
      const k = end - begin;
      const m = node.multipliers[k - 1] as number;
      const shift = node.shifts[k - 1] as number;
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let t = begin; t < end; t++) sum += (x[(win.pixel[t] as number) * channels + c] as number) - z;
        y[p * channels + c] = requantize(sum, m, shift, node);
      }
    }
  };
}

export function globalAvgPoolStep(
  node: IntegerGlobalAvgPool,
  inShape: readonly number[],
  x: Int32Array,
  y: Int32Array,
): Step {
  const channels = inShape[2] as number;
  const sums = new Float64Array(channels);
  const z = node.inputZeroPoint;
  const m = node.multipliers[0] as number;
  const shift = node.shifts[0] as number;
  return () => {
    sums.fill(0);
    for (let i = 0; i < x.length; i += channels)
      for (let c = 0; c < channels; c++) sums[c] = (sums[c] as number) + (x[i + c] as number) - z;
    for (let c = 0; c < channels; c++) y[c] = requantize(sums[c] as number, m, shift, node);
  };
}

export function lookupStep(node: IntegerLookup, x: Int32Array, y: Int32Array): Step {
  const { table, channels, inputLevels } = node;
  return () => {
    for (let j = 0, c = 0; j < x.length; j++) {
      y[j] = table[c * inputLevels + (x[j] as number)] as number;
      if (++c === channels) c = 0;
    }
  };
}
