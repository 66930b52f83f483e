// The batched matrix product shared by BatchMatMul and _FusedMatMul.
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { broadcast_util, type TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon.js';
import type { Epilogue } from './epilogue.js';
import { allocOutput, floatValues, sizeOf } from './types.js';

export interface MatMulOperands {
  a: TensorInfo;
  b: TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
}

/** Output columns (the epilogue's channels), or null if the shapes don't multiply. */
export function matMulColumns({ b, transposeB }: MatMulOperands): number | null {
  const rank = b.shape.length;
  return rank < 2 ? null : (b.shape[transposeB ? rank - 2 : rank - 1] ?? null);
}

/**
 * C = op(A) x op(B) over the leading (batch) dimensions, then the epilogue. Null when the cpu kernel
 * must handle the call: mismatched shapes (so it raises its error), or batch shapes other than equal
 * or a batch of one (where the cpu kernel's own batch indexing has its own semantics to keep).
 */
export function matMul(
  addon: NativeAddon,
  backend: MathBackendCPU,
  { a, b, transposeA, transposeB }: MatMulOperands,
  epilogue: Epilogue,
): TensorInfo | null {
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2) return null;
  const m = a.shape[transposeA ? aRank - 1 : aRank - 2] ?? 0;
  const k = a.shape[transposeA ? aRank - 2 : aRank - 1] ?? 0;
  const kB = b.shape[transposeB ? bRank - 1 : bRank - 2] ?? 0;
  const n = b.shape[transposeB ? bRank - 2 : bRank - 1] ?? 0;
  if (k !== kB || m === 0 || n === 0 || k === 0) return null;

  const batchA = sizeOf(a.shape.slice(0, -2));
  const batchB = sizeOf(b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  let outerShape: number[];
  try {
    outerShape = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    return null;
  }
  const broadcastable = batchA === batchB || batchA === 1 || batchB === 1;
  if (!broadcastable || sizeOf(outerShape) !== batch) return null;

  const aValues = floatValues(backend, a);
  const bValues = floatValues(backend, b);
  if (aValues === null || bValues === null) return null;
  const c = allocOutput(batch * m * n);
  const shape = Int32Array.from([batchA, batchB, m, n, k, transposeA ? 1 : 0, transposeB ? 1 : 0]);
  const { bias, activation, leakyAlpha, preluSlopes } = epilogue;
  addon.matMul(aValues, bValues, bias, c, shape, activation, leakyAlpha, preluSlopes);
  return backend.makeTensorInfo([...outerShape, m, n], 'float32', c);
}
