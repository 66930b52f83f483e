import type { BackendAttempt } from '../backend/select-backend.js';
import type { TensorCalibration } from '../calibration/calibrate.js';
import type { LayerQuantization } from '../quantization/quantize-model.js';
import type { RunConfig } from './run-config.js';
import type { SynthesisOutput } from './stage-env.js';

export interface RunReport {
  dfqVersion: string;
  startedAt: string;
  backend: string;
  backendAttempts: BackendAttempt[];
  model: {
    path: string;
    name: string;
    params: number;
    layers: number;
    normalization: { mean: number[]; std: number[]; source: string };
  };
  config: RunConfig;
  synthesis: SynthesisOutput['summary'];
  calibration: {
    method: string;
    images: number;
    seconds: number;
    tensors: Record<string, TensorCalibration>;
  };
  quantization: {
    weightBits: number;
    activationBits: number;
    firstLastBits: number | null;
    granularity: { weights: 'per-channel symmetric'; activations: 'per-tensor asymmetric' };
    foldedBatchNorm: Record<string, string>;
    fusedActivations: Record<string, string>;
    seconds: number;
    bytesFp32: number;
    bytesQuantized: number;
    layers: LayerQuantization[];
  };
  evaluation: {
    dataset: string;
    samples: number;
    fp32Accuracy: number;
    quantizedAccuracy: number;
    /** Fraction of test images on which the quantized model predicts what the FP32 model does. */
    agreement: number;
    seconds: number;
  } | null;
  artifacts: { quantizedModel: string; images: string | null; contactSheet: string | null };
  peakRssBytes: number;
  tensorsAtEnd: number;
  totalSeconds: number;
}
