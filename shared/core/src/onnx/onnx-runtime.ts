import * as ort from 'onnxruntime-node';

/**
 * Runs an exported ONNX model with ONNX Runtime (CPU, the binary inside onnxruntime-node): the check
 * that dfq's exports load and compute downstream, and ORT's own latency for them.
 */

export interface OnnxRunResult {
  predictions: Int32Array;
  /** Wall time of the session runs alone (no session creation, no input conversion). */
  seconds: number;
}

export interface OnnxRunOptions {
  /** The model's input layout; images come as NHWC. */
  inputLayout: 'nchw' | 'nhwc';
  batchSize?: number;
  threads?: number;
  onBatch?: (done: number, total: number) => void;
}

/** NHWC -> NCHW for one batch. */
function toNchw(x: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let ch = 0; ch < c; ch++)
          out[((b * c + ch) * h + y) * w + xx] = x[((b * h + y) * w + xx) * c + ch] as number;
  return out;
}

/** Top-1 classes of `count` normalized NHWC images of shape [h, w, c], batch by batch. */
export async function runOnnxTop1(
  model: Uint8Array | string,
  images: (from: number, to: number) => Float32Array,
  count: number,
  [h, w, c]: [number, number, number],
  options: OnnxRunOptions,
): Promise<OnnxRunResult> {
  const threads = options.threads ?? Number(process.env.OMP_NUM_THREADS ?? 0);
  const session = await ort.InferenceSession.create(model as Uint8Array, {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
  });
  const input = session.inputNames[0] as string;
  const output = session.outputNames[0] as string;
  const batch = options.batchSize ?? 100;
  const predictions = new Int32Array(count);
  let seconds = 0;
  try {
    for (let from = 0; from < count; from += batch) {
      const to = Math.min(count, from + batch);
      const n = to - from;
      const x = images(from, to);
      const data = options.inputLayout === 'nchw' ? toNchw(x, n, h, w, c) : x;
      const dims = options.inputLayout === 'nchw' ? [n, c, h, w] : [n, h, w, c];
      const started = performance.now();
      const result = await session.run({ [input]: new ort.Tensor('float32', data, dims) });
      seconds += (performance.now() - started) / 1000;
      const logits = result[output]?.data as Float32Array;
      const classes = logits.length / n;
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let k = 1; k < classes; k++)
          if ((logits[i * classes + k] as number) > (logits[i * classes + best] as number)) best = k;
        predictions[from + i] = best;
      }
      options.onBatch?.(to, count);
    }
  } finally {
    await session.release();
  }
  return { predictions, seconds };
}
