/**
 * The executor's hot loop: exact integer dot products of input windows with every output
 * channel's weights. Three things make plain JS fast enough:
 * - each input pixel's zero values (ReLU outputs sit at the zero point) are dropped once per
 *   image, not once per window that reads them;
 * - the products go into BLOCK independent register accumulators, not an array in memory;
 * - two output channels share one float64 (w0 + w1·2^26) when the layer's worst-case sum provably
 *   fits 25 bits per channel, so one multiply-add does two exact MACs (SWAR in a double's 53 bits).
 */

const BLOCK = 8;
const LANE = 2 ** 26;
/** |sum| < LANE / 2 keeps the low lane's sign recoverable and the packed value below 2^52. */
const LANE_LIMIT = LANE / 2;

export interface MacWeights {
  /** rows × stride doubles; row r holds the weights that multiply input row r. */
  data: Float64Array;
  /** Doubles per row: ceil(channels / lanes), padded to a multiple of BLOCK. */
  stride: number;
  lanes: 1 | 2;
  channels: number;
  /** Scratch for one row of packed sums. */
  sums: Float64Array;
}

/**
 * Lays out row-major [rows, channels] integer weights (HWIO and dense kernels both are). `maxAbsInput`
 * bounds |q_x - z_x|; with it the worst case Σ|w|·maxAbsInput decides whether channels can pair up.
 */
export function macWeights(weights: Int32Array, channels: number, maxAbsInput: number): MacWeights {
  const rows = weights.length / channels;
  const bound = new Float64Array(channels);
  for (let i = 0; i < weights.length; i++) {
    const c = i % channels;
    bound[c] = (bound[c] as number) + Math.abs(weights[i] as number) * maxAbsInput;
  }
  const lanes: 1 | 2 = Math.max(0, ...bound) < LANE_LIMIT ? 2 : 1;
  const slots = Math.ceil(channels / lanes);
  const stride = Math.ceil(slots / BLOCK) * BLOCK;
  const data = new Float64Array(rows * stride);
  for (let r = 0; r < rows; r++) {
    for (let s = 0; s < slots; s++) {
      const c = s * lanes;
      const low = weights[r * channels + c] as number;
      const high = lanes === 2 && c + 1 < channels ? (weights[r * channels + c + 1] as number) : 0;
      data[r * stride + s] = low + high * LANE;
    }
  }
  return { data, stride, lanes, channels, sums: new Float64Array(stride) };
}

/** An image's input tensor [pixels, channels] with each pixel's nonzero (q - z) packed to the front. */
export interface SparseInput {
  channels: number;
  value: Float64Array;
  /** Offset (input channel × weight stride) of the weight row each kept value multiplies, within its tap. */
  row: Int32Array;
  count: Int32Array;
}

export function sparseInput(pixels: number, channels: number): SparseInput {
  return {
    channels,
    value: new Float64Array(pixels * channels),
    row: new Int32Array(pixels * channels),
    count: new Int32Array(pixels),
  };
}

/**
 * Fills `s` from x (q values) for the listed input pixels (a strided conv reads only some):
 * branch-free, (v | -v) >>> 31 is 1 exactly when v ≠ 0.
 */
export function compress(
  x: Int32Array,
  zeroPoint: number,
  rowStride: number,
  pixels: Int32Array,
  s: SparseInput,
): void {
  const { channels, value, row, count } = s;
  for (let k = 0; k < pixels.length; k++) {
    const pix = pixels[k] as number;
    const base = pix * channels;
    let n = base;
    for (let c = 0, r = 0; c < channels; c++, r += rowStride) {
      const v = (x[base + c] as number) - zeroPoint;
      value[n] = v;
      row[n] = r;
      n += (v | -v) >>> 31;
    }
    count[pix] = n - base;
  }
}

/**
 * acc[at + c] = Σ over taps t in [t0, t1) of Σ_j value_j · weight(tapRow[t] + row_j, channel c), over the
 * kept values of input pixel pixel[t]; exact, since every partial sum stays below 2^53.
 */
export function accumulate(
  s: SparseInput,
  pixel: Int32Array,
  tapRow: Int32Array,
  t0: number,
  t1: number,
  w: MacWeights,
  acc: Float64Array,
  at: number,
): void {
  const { data, stride, sums } = w;
  const { channels: inChannels, value, row, count } = s;
  for (let b = 0; b < stride; b += BLOCK) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let s4 = 0;
    let s5 = 0;
    let s6 = 0;
    let s7 = 0;
    for (let t = t0; t < t1; t++) {
      const pix = pixel[t] as number;
      const row0 = (tapRow[t] as number) + b;
      const begin = pix * inChannels;
      const end = begin + (count[pix] as number);
      for (let j = begin; j < end; j++) {
        const v = value[j] as number;
        const r = row0 + (row[j] as number);
        s0 += v * (data[r] as number);
        s1 += v * (data[r + 1] as number);
        s2 += v * (data[r + 2] as number);
        s3 += v * (data[r + 3] as number);
        s4 += v * (data[r + 4] as number);
        s5 += v * (data[r + 5] as number);
        s6 += v * (data[r + 6] as number);
        s7 += v * (data[r + 7] as number);
      }
    }
    sums[b] = s0;
    sums[b + 1] = s1;
    sums[b + 2] = s2;
    sums[b + 3] = s3;
    sums[b + 4] = s4;
    sums[b + 5] = s5;
    sums[b + 6] = s6;
    sums[b + 7] = s7;
  }
  const channels = w.channels;
  if (w.lanes === 1) {
    for (let c = 0; c < channels; c++) acc[at + c] = sums[c] as number;
    return;
  }
  for (let c = 0; c < channels; c += 2) {
    const packed = sums[c >> 1] as number;
    // packed = high·2^26 + low with |low| < 2^25: rounding packed / 2^26 recovers high exactly.
    const high = Math.round(packed / LANE);
    acc[at + c] = packed - high * LANE;
    if (c + 1 < channels) acc[at + c + 1] = high;
  }
}
