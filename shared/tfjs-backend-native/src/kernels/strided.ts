// Strided layouts for the addon's elementwise kernels: [rank, dims, then one stride array per operand].

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i] ?? 1;
  }
  return strides;
}

/** Strides for reading a contiguous tensor of `shape` as if broadcast to `outShape`: 0 on broadcast axes. */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = contiguousStrides(shape);
  const lead = outShape.length - shape.length;
  return outShape.map((_, i) => {
    const j = i - lead;
    return j < 0 || shape[j] === 1 ? 0 : (strides[j] ?? 0);
  });
}

/**
 * The layout array for iterating over `dims` with one stride array per operand. Size-1 axes are dropped
 * and neighbouring axes that are contiguous in every operand are merged, so that the addon's inner
 * loop runs as long as possible (an NHWC tensor plus a per-channel vector becomes [N*H*W, C]).
 */
export function stridedLayout(dims: readonly number[], strides: readonly (readonly number[])[]): Int32Array {
  // Built innermost axis first; mergedDims[0] is the outermost axis so far.
  const mergedDims: number[] = [];
  const mergedStrides: number[][] = strides.map(() => []);
  for (let axis = dims.length - 1; axis >= 0; axis--) {
    const size = dims[axis] as number;
    if (size === 1) continue;
    const outer = mergedDims[0];
    const mergeable =
      outer !== undefined && strides.every((s, j) => s[axis] === (mergedStrides[j]?.[0] as number) * outer);
    if (outer !== undefined && mergeable) {
      mergedDims[0] = outer * size;
      continue;
    }
    mergedDims.unshift(size);
    for (let j = 0; j < strides.length; j++) mergedStrides[j]?.unshift(strides[j]?.[axis] as number);
  }
  if (mergedDims.length === 0) {
    mergedDims.push(1);
    for (const s of mergedStrides) s.push(0);
  }
  return Int32Array.from([mergedDims.length, ...mergedDims, ...mergedStrides.flat()]);
}
