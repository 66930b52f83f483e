import type { BackendRequest } from '../backend/select-backend.js';
import type { AccumulatorBits } from '../quantization/accumulator-fit.js';
import type { WeightQuantizer } from '../quantization/build-quantized-model.js';
import type { SynthesisMethod } from '../synthesis/synthesis-result.js';

export interface RunConfig {
  modelPath: string;
  outDir: string;
  weightBits: number;
  activationBits: number;
  /** Bits of the first and last layers' weights and inputs; null keeps them at weightBits/activationBits. */
  firstLastBits: number | null;
  synth: SynthesisMethod;
  images: number;
  iterations: number;
  synthBatchSize: number;
  learningRate: number;
  calibration: string;
  quantizer: WeightQuantizer;
  /** Distillation steps of pmf/pgd. */
  quantizerSteps: number;
  /** Accumulator width the integer model must never overflow (layers that cannot fit fall back to 32). */
  accumulatorBits: AccumulatorBits;
  /** Directory holding Fashion-MNIST IDX files; null skips evaluation. */
  evalDir: string | null;
  /** Evaluate on the first N test images only (null: all). */
  evalLimit: number | null;
  seed: number;
  backend: BackendRequest;
  inputMean: number[] | null;
  inputStd: number[] | null;
  saveImages: boolean;
  /** Where trained generators are kept for reuse (null: DFQ_CACHE_DIR or ~/.cache/dfq). */
  cacheDir: string | null;
}

export const DEFAULT_CONFIG: Omit<RunConfig, 'modelPath' | 'outDir'> = {
  weightBits: 8,
  activationBits: 8,
  firstLastBits: 8,
  synth: 'direct',
  images: 64,
  iterations: 200,
  synthBatchSize: 64,
  learningRate: 0.1,
  calibration: 'auto',
  quantizer: 'rtn',
  quantizerSteps: 300,
  accumulatorBits: 32,
  evalDir: null,
  evalLimit: null,
  seed: 0,
  backend: 'auto',
  inputMean: null,
  inputStd: null,
  saveImages: true,
  cacheDir: null,
};
