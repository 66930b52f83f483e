// Fused ops of the synthesis and distillation loops, offered to callers (dfq's core) that look for them:
// kernels of their own, on 'native' only, with registered gradients. Each replaces a chain of TF.js ops
// that made several passes over a large activation, and as many JS dispatches:
//   channelMoments: per-channel mean and variance (the BatchNorm-statistics loss), one pass forward and
//     one backward, instead of two ones-vector matrix products, a square and their gradients;
//   channelAffine: BatchNorm's inference affine x * scale + shift, one pass each way instead of two;
//   channelAffineMoments: both over the same input, one pass each way (instead of the two above, and the
//     Add that accumulates their two gradients).
//   fakeQuantize: an activation's fake quantization (six elementwise ops) in one pass, with the clipped
//     straight-through gradient as one masked copy (instead of GreaterEqual, LessEqual, LogicalAnd, Cast
//     and Multiply, all but the last plain-JS cpu kernels);
//   expectedLevels: mean-field weights, softmax(beta * scores) . levels per weight, one pass each way
//     instead of a scale, a softmax, a product and a sum (and their gradients) over [weights, levels];
//   adamStep: one Adam update of a parameter tensor and its moments in one pass (tf.train.adam runs
//     thirteen elementwise ops per variable);
//   relativeSquaredError: distillation's feature term mean((a - t)^2) / (mean(t^2) + eps), one pass each
//     way instead of a squared difference, a square, two means and their gradients;
// The Relu and Relu6 gradients are replaced for 'native' too (a masked copy instead of Step then
// Multiply); on other backends TF.js's own gradient runs, unchanged.
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { allocOutput, floatValues, sizeOf } from './kernels/types.js';
import { isSoleOutput } from './output-memory.js';

const MOMENTS = 'DfqChannelMoments';
const MOMENTS_GRAD = 'DfqChannelMomentsGrad';
const AFFINE = 'DfqChannelAffine';
const AFFINE_MOMENTS = 'DfqChannelAffineMoments';
const CLIPPED_LINEAR_GRAD = 'DfqClippedLinearGrad';
const FAKE_QUANTIZE = 'DfqFakeQuantize';
const EXPECTED_LEVELS = 'DfqExpectedLevels';
const ADAM_STEP = 'DfqAdamStep';
const RELATIVE_SQUARED_ERROR = 'DfqRelativeSquaredError';
const RELATIVE_SQUARED_ERROR_GRAD = 'DfqRelativeSquaredErrorGrad';
const EXPECTED_LEVELS_GRAD = 'DfqExpectedLevelsGrad';

/** The ops a caller may use in place of its composite ones while 'native' is the backend. */
export interface FusedOps {
  /** True while the backend in force has these kernels. */
  available(): boolean;
  /** Per-channel (last axis) mean and biased variance over all other axes; differentiable. */
  channelMoments(x: tf.Tensor): { mean: tf.Tensor1D; variance: tf.Tensor1D };
  /** x * scale + shift along the last axis; differentiable. */
  channelAffine(x: tf.Tensor, scale: tf.Tensor1D, shift: tf.Tensor1D): tf.Tensor;
  /**
   * (clip(round(x / scale) + zeroPoint, 0, 2^bits - 1) - zeroPoint) * scale. Its gradient is the clipped
   * straight-through estimator with `ste`, else zero (rounding's true derivative).
   */
  fakeQuantize(
    x: tf.Tensor,
    params: { scale: number; zeroPoint: number; bits: number },
    ste: boolean,
  ): tf.Tensor;
  /**
   * fakeQuantize's straight-through gradient on its own: dy where x lies inside the grid's range, else 0
   * (for ops that learn the grid's step beside x, which need this mask outside the tape).
   */
  steGradient(
    dy: tf.Tensor,
    x: tf.Tensor,
    params: { scale: number; zeroPoint: number; bits: number },
  ): tf.Tensor;
  /**
   * mean((student - teacher)^2) / (mean(teacher^2) + epsilon) as a scalar; differentiable in the
   * student only (the teacher is a constant target).
   */
  relativeSquaredError(student: tf.Tensor, teacher: tf.Tensor, epsilon: number): tf.Scalar;
  /** One Adam step: the new value and moments (`step` counts from 1). Not differentiable. */
  adamStep(
    value: tf.Tensor,
    m: tf.Tensor,
    v: tf.Tensor,
    grad: tf.Tensor,
    settings: { learningRate: number; beta1: number; beta2: number; epsilon: number; step: number },
  ): { value: tf.Tensor; m: tf.Tensor; v: tf.Tensor };
  /** Per row of scores [weights, levels]: softmax(beta * row) . levels; differentiable in the scores. */
  expectedLevels(scores: tf.Tensor2D, levels: tf.Tensor1D, beta: number): tf.Tensor1D;
  /** channelAffine's output and channelMoments of its input, in one pass; differentiable in x. */
  channelAffineMoments(
    x: tf.Tensor,
    scale: tf.Tensor1D,
    shift: tf.Tensor1D,
  ): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D };
}

/** An input whose array one tensor alone holds, through one data entry: a kernel may write it. */
function soleInput(backend: MathBackendCPU, t: tf.TensorInfo): boolean {
  const entry = backend.data.get(t.dataId);
  return entry !== undefined && entry.refCount === 1 && isSoleOutput(entry.values);
}

function values(backend: MathBackendCPU, t: tf.TensorInfo, name: string): Float32Array {
  const v = floatValues(backend, t);
  if (v === null) throw new Error(`${name} must be a float32 tensor`);
  return v;
}

/** [rows, channels] of a tensor viewed along its last axis. */
function rowsOf(t: tf.TensorInfo): [number, number] {
  const channels = t.shape[t.shape.length - 1] ?? 1;
  return [sizeOf(t.shape) / channels, channels];
}

function kernels(addon: NativeAddon): tf.KernelConfig[] {
  const backendName = 'native';
  return [
    {
      kernelName: MOMENTS,
      backendName,
      kernelFunc: ({ inputs, backend }) => {
        const b = backend as MathBackendCPU;
        const x = inputs.x as tf.TensorInfo;
        const [rows, channels] = rowsOf(x);
        const mean = allocOutput(channels);
        const variance = allocOutput(channels);
        addon.channelMoments(values(b, x, 'x'), mean, variance, rows, channels);
        return [
          b.makeTensorInfo([channels], 'float32', mean),
          b.makeTensorInfo([channels], 'float32', variance),
        ];
      },
    },
    {
      kernelName: AFFINE_MOMENTS,
      backendName,
      kernelFunc: ({ inputs, backend }) => {
        const b = backend as MathBackendCPU;
        const { x, scale, shift } = inputs as Record<string, tf.TensorInfo>;
        const [rows, channels] = rowsOf(x as tf.TensorInfo);
        const y = allocOutput(rows * channels);
        const mean = allocOutput(channels);
        const variance = allocOutput(channels);
        addon.channelMoments(
          values(b, x as tf.TensorInfo, 'x'),
          mean,
          variance,
          rows,
          channels,
          values(b, scale as tf.TensorInfo, 'scale'),
          values(b, shift as tf.TensorInfo, 'shift'),
          y,
        );
        return [
          b.makeTensorInfo((x as tf.TensorInfo).shape, 'float32', y),
          b.makeTensorInfo([channels], 'float32', mean),
          b.makeTensorInfo([channels], 'float32', variance),
        ];
      },
    },
    {
      kernelName: MOMENTS_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend }) => {
        const b = backend as MathBackendCPU;
        const { x, mean, dMean, dVariance, dy, scale } = inputs as Record<string, tf.TensorInfo | undefined>;
        const [rows, channels] = rowsOf(x as tf.TensorInfo);
        const dx = allocOutput(rows * channels);
        addon.channelMomentsGrad(
          values(b, x as tf.TensorInfo, 'x'),
          values(b, mean as tf.TensorInfo, 'mean'),
          values(b, dMean as tf.TensorInfo, 'dMean'),
          values(b, dVariance as tf.TensorInfo, 'dVariance'),
          dx,
          rows,
          channels,
          dy ? values(b, dy, 'dy') : null,
          dy ? values(b, scale as tf.TensorInfo, 'scale') : null,
        );
        return b.makeTensorInfo((x as tf.TensorInfo).shape, 'float32', dx);
      },
    },
    {
      kernelName: AFFINE,
      backendName,
      kernelFunc: ({ inputs, backend }) => {
        const b = backend as MathBackendCPU;
        const { x, scale, shift } = inputs as Record<string, tf.TensorInfo | undefined>;
        const [rows, channels] = rowsOf(x as tf.TensorInfo);
        const out = allocOutput(rows * channels);
        addon.channelAffine(
          values(b, x as tf.TensorInfo, 'x'),
          values(b, scale as tf.TensorInfo, 'scale'),
          shift ? values(b, shift, 'shift') : null,
          out,
          rows,
          channels,
        );
        return b.makeTensorInfo((x as tf.TensorInfo).shape, 'float32', out);
      },
    },
    {
      kernelName: FAKE_QUANTIZE,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as MathBackendCPU;
        const x = inputs.x as tf.TensorInfo;
        const out = allocOutput(sizeOf(x.shape));
        addon.fakeQuantize(
          values(b, x, 'x'),
          out,
          attrs?.scale as number,
          attrs?.zeroPoint as number,
          attrs?.qmax as number,
        );
        return b.makeTensorInfo(x.shape, 'float32', out);
      },
    },
    {
      kernelName: RELATIVE_SQUARED_ERROR,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as MathBackendCPU;
        const { a, t } = inputs as Record<string, tf.TensorInfo>;
        const [value, denominator] = addon.relativeSquaredError(
          values(b, a as tf.TensorInfo, 'student'),
          values(b, t as tf.TensorInfo, 'teacher'),
          attrs?.epsilon as number,
        );
        return [
          b.makeTensorInfo([], 'float32', Float32Array.of(value)),
          b.makeTensorInfo([], 'float32', Float32Array.of(denominator)),
        ];
      },
    },
    {
      kernelName: RELATIVE_SQUARED_ERROR_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as MathBackendCPU;
        const { a, t } = inputs as Record<string, tf.TensorInfo>;
        const shape = (a as tf.TensorInfo).shape;
        const da = allocOutput(sizeOf(shape));
        addon.relativeSquaredErrorGrad(
          values(b, a as tf.TensorInfo, 'student'),
          values(b, t as tf.TensorInfo, 'teacher'),
          da,
          attrs?.scale as number,
        );
        return b.makeTensorInfo(shape, 'float32', da);
      },
    },
    {
      kernelName: ADAM_STEP,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as MathBackendCPU;
        const { value, m, v, grad } = inputs as Record<string, tf.TensorInfo>;
        const shape = (value as tf.TensorInfo).shape;
        const size = sizeOf(shape);
        const ins = [value, m, v].map((t, i) =>
          values(b, t as tf.TensorInfo, ['value', 'm', 'v'][i] as string),
        );
        // The update is elementwise, so it may overwrite an input nothing else holds: a training step
        // replaces its parameters and moments every step, and fresh arrays of a 224x224 model's level
        // scores (tens of MB each, three per tensor per step) cost more in page faults than the update.
        const outs = [value, m, v].map((t, i) =>
          soleInput(b, t as tf.TensorInfo) ? (ins[i] as Float32Array) : allocOutput(size),
        ) as [Float32Array, Float32Array, Float32Array];
        const a = attrs as Record<string, number>;
        addon.adamStep(
          ins[0] as Float32Array,
          ins[1] as Float32Array,
          ins[2] as Float32Array,
          values(b, grad as tf.TensorInfo, 'grad'),
          ...outs,
          Float32Array.from([
            a.learningRate as number,
            a.beta1 as number,
            a.beta2 as number,
            a.epsilon as number,
            1 - (a.beta1 as number) ** (a.step as number),
            1 - (a.beta2 as number) ** (a.step as number),
          ]),
        );
        return outs.map((o) => b.makeTensorInfo(shape, 'float32', o));
      },
    },
    {
      kernelName: EXPECTED_LEVELS,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as MathBackendCPU;
        const { scores, levels } = inputs as Record<string, tf.TensorInfo>;
        const [rows, cols] = (scores as tf.TensorInfo).shape as [number, number];
        const out = allocOutput(rows);
        addon.expectedLevels(
          values(b, scores as tf.TensorInfo, 'scores'),
          values(b, levels as tf.TensorInfo, 'levels'),
          out,
          rows,
          cols,
          attrs?.beta as number,
        );
        return b.makeTensorInfo([rows], 'float32', out);
      },
    },
    {
      kernelName: EXPECTED_LEVELS_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as MathBackendCPU;
        const { scores, levels, out, dOut } = inputs as Record<string, tf.TensorInfo>;
        const [rows, cols] = (scores as tf.TensorInfo).shape as [number, number];
        const dScores = allocOutput(rows * cols);
        addon.expectedLevelsGrad(
          values(b, scores as tf.TensorInfo, 'scores'),
          values(b, levels as tf.TensorInfo, 'levels'),
          values(b, out as tf.TensorInfo, 'out'),
          values(b, dOut as tf.TensorInfo, 'dOut'),
          dScores,
          rows,
          cols,
          attrs?.beta as number,
        );
        return b.makeTensorInfo([rows, cols], 'float32', dScores);
      },
    },
    {
      kernelName: CLIPPED_LINEAR_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as MathBackendCPU;
        const { dy, x } = inputs as Record<string, tf.TensorInfo>;
        const dx = allocOutput(sizeOf((x as tf.TensorInfo).shape));
        addon.clippedLinearGrad(
          values(b, dy as tf.TensorInfo, 'dy'),
          values(b, x as tf.TensorInfo, 'x'),
          dx,
          attrs?.low as number,
          attrs?.high as number,
          attrs?.lowInclusive === true,
        );
        return b.makeTensorInfo((x as tf.TensorInfo).shape, 'float32', dx);
      },
    },
  ];
}

const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}) =>
  tf.engine().runKernel(name, inputs, attrs);

/** dy where x lies inside the grid's range [low, high], else 0: the fake quantization's STE gradient. */
function steMask(dy: tf.Tensor, x: tf.Tensor, scale: number, zeroPoint: number, qmax: number): tf.Tensor {
  // The cpu composite compares x with the bounds as float32 scalars: fround them here too.
  const low = Math.fround(-zeroPoint * scale);
  const high = Math.fround((qmax - zeroPoint) * scale);
  return run(CLIPPED_LINEAR_GRAD, { dy, x }, { low, high, lowInclusive: true }) as tf.Tensor;
}

/**
 * Relu's and Relu6's gradients as one masked copy on 'native'; elsewhere the gradient TF.js registered,
 * which is kept and called unchanged.
 */
function maskedGradient(kernelName: string, high: number): tf.GradConfig {
  const original = tf.getGradient(kernelName);
  if (original === undefined) throw new Error(`TF.js registers no gradient for ${kernelName}`);
  return {
    ...original,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      if (tf.getBackend() !== 'native') return original.gradFunc(dy, saved, attrs);
      const [x] = saved as tf.Tensor[];
      const mask = { dy: dy as tf.Tensor, x: x as tf.Tensor };
      return { x: () => run(CLIPPED_LINEAR_GRAD, mask, { low: 0, high }) as tf.Tensor };
    },
  };
}

const gradients: tf.GradConfig[] = [
  {
    kernelName: RELATIVE_SQUARED_ERROR,
    inputsToSave: ['a', 't'],
    outputsToSave: [false, true],
    gradFunc: (dys, saved) => {
      const [dy] = dys as tf.Tensor[];
      const [a, t, denominator] = saved as tf.Tensor[];
      // The upstream gradient and the denominator are scalars: read them to fold into one scale.
      const scalar = (t: tf.Tensor | undefined) => t?.dataSync()[0] ?? Number.NaN;
      const scale = (2 * scalar(dy as tf.Tensor)) / ((a as tf.Tensor).size * scalar(denominator));
      return {
        a: () => run(RELATIVE_SQUARED_ERROR_GRAD, { a, t } as tf.NamedTensorMap, { scale }) as tf.Tensor,
        t: () => {
          throw new Error(
            'relativeSquaredError is differentiable in the student only (the teacher is a target)',
          );
        },
      };
    },
  },
  {
    kernelName: EXPECTED_LEVELS,
    inputsToSave: ['scores', 'levels'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [scores, levels, out] = saved as tf.Tensor[];
      const grad = { scores, levels, out, dOut: dy as tf.Tensor } as tf.NamedTensorMap;
      return {
        scores: () => run(EXPECTED_LEVELS_GRAD, grad, { beta: attrs?.beta as number }) as tf.Tensor,
        levels: () => {
          throw new Error(
            'expectedLevels is differentiable in its scores only (the grid levels are constants)',
          );
        },
      };
    },
  },
  {
    kernelName: FAKE_QUANTIZE,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as tf.Tensor[];
      const g = dy as tf.Tensor;
      if (attrs?.ste !== true) return { x: () => tf.zerosLike(g) };
      // The cpu composite compares x with the bounds as float32 scalars: fround them here too.
      const { scale, zeroPoint, qmax } = attrs as { scale: number; zeroPoint: number; qmax: number };
      return { x: () => steMask(g, x as tf.Tensor, scale, zeroPoint, qmax) };
    },
  },
  {
    kernelName: MOMENTS,
    inputsToSave: ['x'],
    outputsToSave: [true, false],
    gradFunc: (dys, saved) => {
      const [dMean, dVariance] = dys as tf.Tensor[];
      const [x, mean] = saved as tf.Tensor[];
      return {
        x: () => run(MOMENTS_GRAD, { x, mean, dMean, dVariance } as tf.NamedTensorMap) as tf.Tensor,
      };
    },
  },
  {
    kernelName: AFFINE_MOMENTS,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, false],
    gradFunc: (dys, saved) => {
      const [dy, dMean, dVariance] = dys as tf.Tensor[];
      const [x, scale, mean] = saved as tf.Tensor[];
      const rows = Array.from({ length: (x as tf.Tensor).rank - 1 }, (_, i) => i);
      const g = dy as tf.Tensor;
      return {
        x: () =>
          run(MOMENTS_GRAD, { x, mean, dMean, dVariance, dy, scale } as tf.NamedTensorMap) as tf.Tensor,
        scale: () => tf.sum(tf.mul(g, x as tf.Tensor), rows),
        shift: () => tf.sum(g, rows),
      };
    },
  },
  {
    kernelName: AFFINE,
    inputsToSave: ['x', 'scale'],
    gradFunc: (dy, saved) => {
      const [x, scale] = saved as tf.Tensor[];
      const g = dy as tf.Tensor;
      const rows = Array.from({ length: g.rank - 1 }, (_, i) => i);
      return {
        x: () => run(AFFINE, { x: g, scale } as tf.NamedTensorMap) as tf.Tensor,
        scale: () => tf.sum(tf.mul(g, x as tf.Tensor), rows),
        shift: () => tf.sum(g, rows),
      };
    },
  },
];

let installed = false;

/** Registers the fused kernels and gradients on 'native' (once). */
export function installFusedOps(addon: NativeAddon): void {
  if (installed) return;
  installed = true;
  for (const config of kernels(addon)) tf.registerKernel(config);
  for (const config of gradients) tf.registerGradient(config);
  tf.registerGradient(maskedGradient(tf.Relu, Number.POSITIVE_INFINITY));
  tf.registerGradient(maskedGradient(tf.Relu6, 6));
}

export const fusedOps: FusedOps = {
  available: () => installed && tf.getBackend() === 'native',
  channelMoments(x) {
    const [mean, variance] = run(MOMENTS, { x }) as unknown as [tf.Tensor1D, tf.Tensor1D];
    return { mean, variance };
  },
  channelAffine: (x, scale, shift) => run(AFFINE, { x, scale, shift }) as tf.Tensor,
  relativeSquaredError(student, teacher, epsilon) {
    const [value] = run(
      RELATIVE_SQUARED_ERROR,
      { a: student, t: teacher },
      { epsilon },
    ) as unknown as tf.Tensor[];
    return value as tf.Scalar;
  },
  adamStep(value, m, v, grad, settings) {
    const [next, m1, v1] = run(ADAM_STEP, { value, m, v, grad }, { ...settings }) as unknown as tf.Tensor[];
    return { value: next as tf.Tensor, m: m1 as tf.Tensor, v: v1 as tf.Tensor };
  },
  expectedLevels: (scores, levels, beta) => run(EXPECTED_LEVELS, { scores, levels }, { beta }) as tf.Tensor1D,
  fakeQuantize: (x, p, ste) =>
    run(
      FAKE_QUANTIZE,
      { x },
      { scale: p.scale, zeroPoint: p.zeroPoint, qmax: 2 ** p.bits - 1, ste },
    ) as tf.Tensor,
  steGradient: (dy, x, p) => steMask(dy, x, p.scale, p.zeroPoint, 2 ** p.bits - 1),
  channelAffineMoments(x, scale, shift) {
    const [y, mean, variance] = run(AFFINE_MOMENTS, { x, scale, shift }) as unknown as [
      tf.Tensor,
      tf.Tensor1D,
      tf.Tensor1D,
    ];
    return { y, mean, variance };
  },
};
