import { Tile, type TileAttrs, type TileInputs } from '@tensorflow/tfjs-core';
import { allocOutput, defineKernel, floatValues, sizeOf } from './types.js';

export const tile = defineKernel<TileInputs, TileAttrs>(Tile, (addon, { inputs: { x }, backend, attrs }) => {
  if (x === undefined) return null;
  const values = floatValues(backend, x);
  const { reps } = attrs;
  if (values === null || x.shape.length === 0 || reps.length !== x.shape.length) return null;
  const outShape = x.shape.map((size, i) => size * (reps[i] ?? 1));
  if (sizeOf(outShape) === 0) return null;
  const out = allocOutput(sizeOf(outShape));
  addon.tile(values, out, Int32Array.from([x.shape.length, ...x.shape, ...reps]));
  return backend.makeTensorInfo(outShape, 'float32', out);
});
