// Loads the compiled oneDNN addon (build/Release/tfjs_native.node), or explains why it can't.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Codes shared with native/activation.h. */
export const ActivationCode = {
  linear: 0,
  relu: 1,
  relu6: 2,
  leakyrelu: 3,
  sigmoid: 4,
  elu: 5,
  prelu: 6,
} as const;

/** Codes shared with native/elementwise.h. */
export const UnaryOpCode = {
  relu: 0,
  step: 1,
  square: 2,
  relu6: 3,
  leakyRelu: 4,
  neg: 5,
  sqrt: 6,
  rsqrt: 7,
  exp: 8,
  log: 9,
  round: 10,
  clipByValue: 11,
} as const;

/** Codes shared with native/elementwise.h. */
export const BinaryOpCode = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  squaredDifference: 4,
  maximum: 5,
  minimum: 6,
} as const;

export interface AddonInfo {
  version: string;
  cpuRuntime: string;
  isa: string;
  threads: number;
  cachedPrimitives: number;
}

/**
 * The addon's functions. Outputs are written into caller-allocated arrays. `geometry` is the
 * Int32Array built by convGeometry(); `shape` the one built by the BatchMatMul kernel.
 */
export interface NativeAddon {
  convForward(
    x: Float32Array,
    filter: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    geometry: Int32Array,
    activation: number,
    leakyAlpha: number,
    preluSlopes: Float32Array | null,
  ): void;
  convBackwardData(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  convBackwardFilter(x: Float32Array, dy: Float32Array, dFilter: Float32Array, geometry: Int32Array): void;
  matMul(
    a: Float32Array,
    b: Float32Array,
    bias: Float32Array | null,
    c: Float32Array,
    shape: Int32Array,
    activation: number,
    leakyAlpha: number,
    preluSlopes: Float32Array | null,
  ): void;
  /** `alpha`: Step's and LeakyRelu's alpha, ClipByValue's min; `beta`: ClipByValue's max. */
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number, beta?: number): void;
  /** Operands shorter than x repeat cyclically over it. */
  batchNorm(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    scale: Float32Array,
    offset: Float32Array,
    epsilon: number,
    out: Float32Array,
  ): void;
  /** `layout` is [rank, dims, aStrides, bStrides] (see kernels/strided.ts). */
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, layout: Int32Array): void;
  /** Sums x viewed as [outer, reduce, inner] over its middle axis, each term divided by `divisor`. */
  reduceSum(
    x: Float32Array,
    out: Float32Array,
    outer: number,
    reduce: number,
    inner: number,
    divisor: number,
  ): void;
  /** Max (or min) of x viewed as [outer, reduce, inner] over its middle axis. */
  reduceExtreme(
    x: Float32Array,
    out: Float32Array,
    outer: number,
    reduce: number,
    inner: number,
    isMax: boolean,
  ): void;
  /** Index of the first maximum of x viewed as [outer, reduce, inner] along its middle axis. */
  argMax(x: Float32Array, out: Int32Array, outer: number, reduce: number, inner: number): void;
  /** `layout` is [rank, dims, srcStrides, dstStrides]. */
  stridedCopy(src: Float32Array, dst: Float32Array, layout: Int32Array): void;
  /** `layout` is [rank, dims, reps]. */
  tile(src: Float32Array, dst: Float32Array, layout: Int32Array): void;
  /**
   * Per-channel mean and biased variance of x viewed as [rows, channels]; with `out`, also writes
   * out = x * scale + shift in the same pass.
   */
  channelMoments(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    rows: number,
    channels: number,
    scale?: Float32Array,
    shift?: Float32Array,
    out?: Float32Array,
  ): void;
  /** The gradient of channelMoments with respect to x; with dy, plus dy * scale (the affine output's). */
  channelMomentsGrad(
    x: Float32Array,
    mean: Float32Array,
    dMean: Float32Array,
    dVariance: Float32Array,
    dx: Float32Array,
    rows: number,
    channels: number,
    dy: Float32Array | null,
    scale: Float32Array | null,
  ): void;
  /** out = x * scale + shift per channel of x viewed as [rows, channels]; shift null for none. */
  channelAffine(
    x: Float32Array,
    scale: Float32Array,
    shift: Float32Array | null,
    out: Float32Array,
    rows: number,
    channels: number,
  ): void;
  /**
   * dx = dy where low < x <= high (low <= x with lowInclusive), else dy * 0: Relu's and Relu6's gradient,
   * or (lowInclusive) the straight-through estimator of fake quantization.
   */
  clippedLinearGrad(
    dy: Float32Array,
    x: Float32Array,
    dx: Float32Array,
    low: number,
    high: number,
    lowInclusive?: boolean,
  ): void;
  /** out = (clip(round(x / scale) + zeroPoint, 0, qmax) - zeroPoint) * scale, all in float32. */
  fakeQuantize(x: Float32Array, out: Float32Array, scale: number, zeroPoint: number, qmax: number): void;
  /** out[r] = softmax(beta * scores[r, :]) . levels, scores viewed as [rows, cols]. */
  expectedLevels(
    scores: Float32Array,
    levels: Float32Array,
    out: Float32Array,
    rows: number,
    cols: number,
    beta: number,
  ): void;
  /** The gradient of expectedLevels with respect to the scores. */
  expectedLevelsGrad(
    scores: Float32Array,
    levels: Float32Array,
    out: Float32Array,
    dOut: Float32Array,
    dScores: Float32Array,
    rows: number,
    cols: number,
    beta: number,
  ): void;
  /** [mean((a - t)^2) / (mean(t^2) + epsilon), that denominator], in double. */
  relativeSquaredError(a: Float32Array, t: Float32Array, epsilon: number): [number, number];
  /** da = (a - t) * scale. */
  relativeSquaredErrorGrad(a: Float32Array, t: Float32Array, da: Float32Array, scale: number): void;
  /** One Adam step; `settings`: [learning rate, beta1, beta2, epsilon, 1 - beta1^t, 1 - beta2^t]. */
  adamStep(
    value: Float32Array,
    m: Float32Array,
    v: Float32Array,
    grad: Float32Array,
    valueOut: Float32Array,
    mOut: Float32Array,
    vOut: Float32Array,
    settings: Float32Array,
  ): void;
  /** Softmax along the rows of x viewed as [rows, cols]. */
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** `geometry`: the 14 fields of native/pool.h's PoolGeometry, in order. */
  maxPool(x: Float32Array, out: Float32Array, geometry: Int32Array): void;
  maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  info(): AddonInfo;
  clearCache(): void;
  setThreads(threads: number): void;
  /** Makes malloc keep freed memory for reuse (see native/addon.cc); true if it took effect. */
  tuneAllocator(): boolean;
  /** Detaches `buffer`, freeing its memory at once; false if it cannot be detached. */
  release(buffer: ArrayBuffer): boolean;
}

export type AddonLoad = { ok: true; addon: NativeAddon } | { ok: false; reason: string };

const addonPath = fileURLToPath(new URL('../build/Release/tfjs_native.node', import.meta.url));
const unavailablePath = fileURLToPath(new URL('../build/UNAVAILABLE.txt', import.meta.url));
const rebuildHint = 'run `npm rebuild @dfq/tfjs-backend-native` (needs `apt-get install libdnnl-dev`)';

let loaded: AddonLoad | undefined;

export function loadAddon(): AddonLoad {
  loaded ??= tryLoad();
  return loaded;
}

function tryLoad(): AddonLoad {
  if (!existsSync(addonPath)) {
    // The install script leaves its reason, remedy included, here when the build failed.
    const why = existsSync(unavailablePath)
      ? readFileSync(unavailablePath, 'utf8').trim()
      : `it was never built; ${rebuildHint}`;
    return { ok: false, reason: `addon not built: ${why}` };
  }
  try {
    const addon = createRequire(import.meta.url)(addonPath) as NativeAddon;
    return { ok: true, addon };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const hint = /libdnnl/.test(message)
      ? 'the oneDNN library is missing: apt-get install libdnnl2'
      : rebuildHint;
    return { ok: false, reason: `addon failed to load (${message}); ${hint}` };
  }
}
