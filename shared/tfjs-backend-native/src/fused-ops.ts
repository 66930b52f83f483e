// Fused ops of the synthesis and distillation loops, offered to callers (dfq's core) that look for them:
// kernels of their own, on 'native' only, with registered gradients. Each replaces a chain of TF.js ops
// that made several passes over a large activation, and as many JS dispatches:
//   channelMoments: per-channel mean and variance (the BatchNorm-statistics loss), one pass forward and
//     one backward, instead of two ones-vector matrix products, a square and their gradients;
//   channelAffine: BatchNorm's inference affine x * scale + shift, one pass each way instead of two;
//   channelAffineMoments: both over the same input, one pass each way (instead of the two above, and the
//     Add that accumulates their two gradients).
// The Relu and Relu6 gradients are replaced for 'native' too (a masked copy instead of Step then
// Multiply); on other backends TF.js's own gradient runs, unchanged.
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { allocOutput, floatValues, sizeOf } from './kernels/types.js';

const MOMENTS = 'DfqChannelMoments';
const MOMENTS_GRAD = 'DfqChannelMomentsGrad';
const AFFINE = 'DfqChannelAffine';
const AFFINE_MOMENTS = 'DfqChannelAffineMoments';
const CLIPPED_LINEAR_GRAD = 'DfqClippedLinearGrad';

/** The ops a caller may use in place of its composite ones while 'native' is the backend. */
export interface FusedOps {
  /** True while the backend in force has these kernels. */
  available(): boolean;
  /** Per-channel (last axis) mean and biased variance over all other axes; differentiable. */
  channelMoments(x: tf.Tensor): { mean: tf.Tensor1D; variance: tf.Tensor1D };
  /** x * scale + shift along the last axis; differentiable. */
  channelAffine(x: tf.Tensor, scale: tf.Tensor1D, shift: tf.Tensor1D): tf.Tensor;
  /** channelAffine's output and channelMoments of its input, in one pass; differentiable in x. */
  channelAffineMoments(
    x: tf.Tensor,
    scale: tf.Tensor1D,
    shift: tf.Tensor1D,
  ): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D };
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
        );
        return b.makeTensorInfo((x as tf.TensorInfo).shape, 'float32', dx);
      },
    },
  ];
}

const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}) =>
  tf.engine().runKernel(name, inputs, attrs);

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
  channelAffineMoments(x, scale, shift) {
    const [y, mean, variance] = run(AFFINE_MOMENTS, { x, scale, shift }) as unknown as [
      tf.Tensor,
      tf.Tensor1D,
      tf.Tensor1D,
    ];
    return { y, mean, variance };
  },
};
