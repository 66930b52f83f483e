/**
 * Where each convolution weight lies in dfq's layout (HWIO, or [kh, kw, C, multiplier] for depthwise)
 * and in ONNX's ([O, I/group, kh, kw]; depthwise [C * multiplier, 1, kh, kw]): the one map the importer
 * and the exporter both walk, in opposite directions.
 */

/** ONNX's kernel dims for a dfq kernel of `shape`. */
export function onnxKernelDims(shape: readonly number[], depthwise: boolean): number[] {
  const [kh = 1, kw = 1, ci = 1, co = 1] = shape;
  return depthwise ? [ci * co, 1, kh, kw] : [co, ci, kh, kw];
}

/** Calls `visit(dfqIndex, onnxIndex)` for every element of a dfq kernel of `shape`. */
export function forEachKernelIndex(
  shape: readonly number[],
  depthwise: boolean,
  visit: (dfq: number, onnx: number) => void,
): void {
  const [kh = 1, kw = 1, ci = 1, co = 1] = shape;
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) {
          const onnxChannel = depthwise ? i * co + o : o * ci + i;
          visit(((y * kw + x) * ci + i) * co + o, (onnxChannel * kh + y) * kw + x);
        }
}
