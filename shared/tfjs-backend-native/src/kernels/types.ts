// What a kernel override is made of, and the small data helpers every override uses.
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon.js';
import { countCall } from './stats.js';

export { allocOutput } from '../output-memory.js';

/** A kernel call as the 'native' backend receives it. */
export interface KernelArgs<I = NamedTensorInfoMap, A = NamedAttrMap> {
  inputs: I;
  backend: MathBackendCPU;
  attrs: A;
}

/**
 * A replacement for one of the cpu backend's kernels. `make` gets the addon and the cpu kernel, to
 * which every call the addon cannot serve (other layouts, dtypes or unsupported attributes) is handed,
 * so that 'native' always computes what 'cpu' would.
 */
export interface NativeKernel {
  kernelName: string;
  make(addon: NativeAddon, cpu: KernelFunc): KernelFunc;
}

/** Defines a kernel override from a typed body that returns null to defer the call to the cpu kernel. */
export function defineKernel<I, A>(
  kernelName: string,
  body: (addon: NativeAddon, args: KernelArgs<I, A>) => TensorInfo | TensorInfo[] | null,
): NativeKernel {
  return {
    kernelName,
    make: (addon, cpu) => (args) => {
      const result = body(addon, args as unknown as KernelArgs<I, A>);
      countCall(kernelName, result !== null);
      return result ?? cpu(args);
    },
  };
}

/** The float32 values of a tensor held by the cpu backend, or null if it holds something else. */
export function floatValues(backend: MathBackendCPU, t: TensorInfo): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : null;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Values of a per-channel operand (bias, PReLU slopes) as a Float32Array of `channels` values, if the
 * tensor broadcasts along the last axis only: shape [C], [1, ..., 1, C] or a single value. Null otherwise.
 */
export function channelValues(backend: MathBackendCPU, t: TensorInfo, channels: number): Float32Array | null {
  const values = floatValues(backend, t);
  if (values === null) return null;
  if (values.length === 1) return new Float32Array(channels).fill(values[0] ?? 0);
  const last = t.shape.length - 1;
  const perChannel = t.shape[last] === channels && t.shape.every((d, i) => i === last || d === 1);
  return perChannel ? values : null;
}
