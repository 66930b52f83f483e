// What the fused kernels (FusedConv2D, FusedDepthwiseConv2D, _FusedMatMul) add after the product:
// a per-channel bias and an activation, both applied inside the addon.
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { ActivationCode } from '../addon.js';
import { channelValues } from './types.js';

export interface Epilogue {
  bias: Float32Array | null;
  activation: number;
  leakyAlpha: number;
  preluSlopes: Float32Array | null;
}

/** No bias, no activation. */
export const plainEpilogue: Epilogue = Object.freeze({
  bias: null,
  activation: ActivationCode.linear,
  leakyAlpha: 0,
  preluSlopes: null,
});

export interface FusedOperands {
  bias?: TensorInfo;
  preluActivationWeights?: TensorInfo;
  activation?: string;
  leakyreluAlpha?: number;
}

/** The epilogue for an output with `channels` channels, or null if the cpu kernel must handle it. */
export function fusedEpilogue(
  backend: MathBackendCPU,
  fused: FusedOperands,
  channels: number,
): Epilogue | null {
  const epilogue: Epilogue = {
    bias: null,
    activation: ActivationCode.linear,
    leakyAlpha: 0,
    preluSlopes: null,
  };
  if (fused.bias !== undefined) {
    epilogue.bias = channelValues(backend, fused.bias, channels);
    if (epilogue.bias === null) return null;
  }
  const activation = fused.activation ?? 'linear';
  if (!Object.hasOwn(ActivationCode, activation)) return null;
  epilogue.activation = ActivationCode[activation as keyof typeof ActivationCode];
  if (activation === 'leakyrelu') {
    if (fused.leakyreluAlpha === undefined) return null;
    epilogue.leakyAlpha = fused.leakyreluAlpha;
  }
  if (activation === 'prelu') {
    if (fused.preluActivationWeights === undefined) return null;
    epilogue.preluSlopes = channelValues(backend, fused.preluActivationWeights, channels);
    if (epilogue.preluSlopes === null) return null;
  }
  return epilogue;
}
