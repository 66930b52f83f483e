import { Softmax, type SoftmaxAttrs, type SoftmaxInputs } from '@tensorflow/tfjs-core';
import { allocOutput, defineKernel, floatValues, sizeOf } from './types.js';

/** Softmax along the last axis (the only one the cpu kernel supports), one pass per row. */
export const softmax = defineKernel<SoftmaxInputs, SoftmaxAttrs>(
  Softmax,
  (addon, { inputs: { logits }, backend, attrs }) => {
    if (logits === undefined || logits.shape.length === 0) return null;
    const rank = logits.shape.length;
    if (attrs.dim !== -1 && attrs.dim !== rank - 1) return null; // let the cpu kernel raise its error
    const values = floatValues(backend, logits);
    const size = sizeOf(logits.shape);
    if (values === null || size === 0) return null;
    const cols = logits.shape[rank - 1] as number;
    const out = allocOutput(size);
    addon.softmax(values, out, size / cols, cols);
    return backend.makeTensorInfo(logits.shape, 'float32', out);
  },
);
