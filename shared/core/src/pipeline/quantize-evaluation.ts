import type { EvaluatedModel, RunConfig } from '@dfq/contract';
import { evaluateGraphTop1 } from '../data/evaluate.js';
import { evaluateStockModel } from '../data/evaluate-stock-model.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { normalizedBatch } from '../data/normalize.js';
import { type IntegerRun, runIntegerOnPixels } from '../integer/evaluate-integer.js';
import type { IntegerModel } from '../integer/integer-model.js';
import type { ModelGraph } from '../model/graph.js';
import { loadStockLayersModel } from '../model/load-stock-model.js';
import { onnxInputLayout } from '../onnx/export-onnx.js';
import { runOnnxTop1 } from '../onnx/onnx-runtime.js';
import { activationFakeQuant, type QuantizedModel } from '../quantization/quantize-model.js';
import { type StageEnv, secondsSince } from './stage-env.js';

export interface ModelsEvaluation {
  dataset: string;
  samples: number;
  fp32Accuracy: number;
  quantizedAccuracy: number;
  /** Share of test images on which the fake-quantized model predicts what the FP32 model does. */
  agreement: number;
  /** Null when no integer-only model was made (layers kept in float). */
  integerAccuracy: number | null;
  /** Share of test images on which the integer model predicts what the fake-quantized model does. */
  integerAgreement: number | null;
  tfjsUint8Accuracy: number;
  /** The ONNX QDQ export run by ONNX Runtime (CPU), and its float export for latency. */
  onnxRuntimeAccuracy: number;
  /** Share of test images on which ONNX Runtime's QDQ model predicts what the fake-quantized model does. */
  onnxRuntimeAgreement: number;
  onnxRuntimeFloatAccuracy: number;
  onnxRuntimeMsPerImage: { int8: number; fp32: number };
  integerRun: IntegerRun | null;
  seconds: number;
}

function agreementOf(a: Int32Array, b: Int32Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return a.length ? same / a.length : 0;
}

/** Top-1 of predictions against the first predictions.length labels. */
function accuracyOf(predictions: Int32Array, labels: ArrayLike<number>): number {
  let correct = 0;
  predictions.forEach((p, i) => {
    if (p === labels[i]) correct++;
  });
  return predictions.length ? correct / predictions.length : 0;
}

/**
 * Top-1 on the real test split of the FP32 model, the fake-quantized model, the integer-only
 * model (from raw pixels, integer ops only), the stock-TF.js uint8 model and the ONNX QDQ model
 * under ONNX Runtime. Evaluation only:
 * nothing here feeds back into quantization.
 */
export async function evaluateModels(
  config: RunConfig,
  graph: ModelGraph,
  quantized: QuantizedModel,
  integer: IntegerModel | null,
  exports: { tfjsUint8Model: string; onnxModel: string; onnxFloatModel: string },
  env: StageEnv,
): Promise<ModelsEvaluation> {
  const testSet = await loadFashionMnist(config.evalDir as string, 'test');
  const samples = Math.min(config.evalLimit ?? testSet.count, testSet.count);
  env.onEvent({
    kind: 'phase',
    phase: 'evaluation',
    message: `top-1 on ${samples} Fashion-MNIST test images`,
  });
  const start = performance.now();
  const options = (model: EvaluatedModel) => ({
    limit: samples,
    onBatch: (done: number, total: number) =>
      env.onEvent({ kind: 'evaluation', progress: { model, done, total } }),
  });
  const fp32 = await evaluateGraphTop1(graph, testSet, graph.normalization, options('fp32'));
  const q = await evaluateGraphTop1(
    quantized.graph,
    testSet,
    graph.normalization,
    options('quantized'),
    activationFakeQuant(quantized),
  );
  const integerRun = integer
    ? await runIntegerOnPixels(integer, testSet, samples, options('integer').onBatch)
    : null;
  const stock = await loadStockLayersModel(exports.tfjsUint8Model);
  const uint8 = await evaluateStockModel(stock, testSet, graph.normalization, { limit: samples });
  stock.dispose();
  const inputLayout = onnxInputLayout(graph);
  const shape = [testSet.height, testSet.width, testSet.channels] as [number, number, number];
  // Normalized once for both ONNX Runtime passes (the test split at 28x28 is 31 MB of floats).
  const normalized = normalizedBatch(testSet, 0, samples, graph.normalization);
  const data = normalized.dataSync() as Float32Array;
  normalized.dispose();
  const perImage = shape[0] * shape[1] * shape[2];
  const images = (from: number, to: number) => data.subarray(from * perImage, to * perImage);
  const ortQdq = await runOnnxTop1(exports.onnxModel, images, samples, shape, {
    inputLayout,
    onBatch: options('onnx-runtime').onBatch,
  });
  const ortFloat = await runOnnxTop1(exports.onnxFloatModel, images, samples, shape, { inputLayout });
  return {
    dataset: 'fashion-mnist/t10k',
    samples,
    fp32Accuracy: fp32.accuracy,
    quantizedAccuracy: q.accuracy,
    agreement: agreementOf(q.predictions, fp32.predictions),
    integerAccuracy: integerRun ? accuracyOf(integerRun.predictions, testSet.labels) : null,
    integerAgreement: integerRun ? agreementOf(integerRun.predictions, q.predictions) : null,
    tfjsUint8Accuracy: uint8.accuracy,
    onnxRuntimeAccuracy: accuracyOf(ortQdq.predictions, testSet.labels),
    onnxRuntimeAgreement: agreementOf(ortQdq.predictions, q.predictions),
    onnxRuntimeFloatAccuracy: accuracyOf(ortFloat.predictions, testSet.labels),
    onnxRuntimeMsPerImage: {
      int8: samples ? (1000 * ortQdq.seconds) / samples : 0,
      fp32: samples ? (1000 * ortFloat.seconds) / samples : 0,
    },
    integerRun,
    seconds: secondsSince(start),
  };
}
