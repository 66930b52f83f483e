import type { ResolvedRunConfig } from '@dfq/contract';
import type { MixedPrecisionChoice } from '../analysis/mixed-precision.js';
import type { BackendAttempt } from '../backend/select-backend.js';
import type { TensorCalibration } from '../calibration/calibrate.js';
import type { AccumulatorBits, AccumulatorChoice } from '../quantization/accumulator-fit.js';
import type { WeightTraining } from '../quantization/build-quantized-model.js';
import type { LayerQuantization } from '../quantization/quantize-model.js';
import type { ModelsEvaluation } from './quantize-evaluation.js';
import type { QuantizeOutput } from './quantize-stage.js';
import type { SynthesisOutput } from './stage-env.js';

export interface LayerReport extends LayerQuantization {
  /** SQNR the calibrated range leaves on the synthetic images (null: tensor not quantized). */
  calibrationSqnrDb: number | null;
  accumulator:
    | (AccumulatorChoice & {
        /** Largest |accumulator| the integer model reached on the synthetic and test images. */
        observed: number;
        observedHeadroomBits: number;
        overflows: number;
      })
    | null;
}

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
  config: ResolvedRunConfig;
  synthesis: SynthesisOutput['summary'];
  calibration: {
    method: string;
    images: number;
    seconds: number;
    tensors: Record<string, TensorCalibration>;
  };
  quantization: {
    method: ResolvedRunConfig['quantizer'];
    weightBits: number;
    activationBits: number;
    firstLastBits: number | null;
    /** Bits of tensors only residual adds read (null: the activation bits). */
    residualBits: number | null;
    accumulatorBits: AccumulatorBits;
    granularity: { weights: 'per-channel symmetric'; activations: 'per-tensor asymmetric' };
    foldedBatchNorm: Record<string, string>;
    fusedActivations: Record<string, string>;
    /** pmf/pgd distillation settings and figures (null for round-to-nearest). */
    training: WeightTraining | null;
    /** Accumulator overflows of the integer model over the synthetic and test images checked. */
    overflows: number;
    overflowsChecked: { syntheticImages: number; testImages: number };
    /** Share of the synthetic images on which the integer model predicts what the fake-quantized one does. */
    /** Null when no integer-only model was made (layers kept in float). */
    integerAgreementSynthetic: number | null;
    /** Layers kept in float (--keep-float). */
    keptFloat: string[];
    /** Per-layer weight bits chosen under --size-budget / --max-drop (null: uniform bits). */
    mixedPrecision: MixedPrecisionChoice | null;
    seconds: number;
    bytesFp32: number;
    bytesQuantized: number;
    layers: LayerReport[];
  };
  /** Top-1 on the real test split of every exported form of the model (evaluation only). */
  evaluation: (Omit<ModelsEvaluation, 'integerRun'> & { integerImagesPerSecond: number | null }) | null;
  /** The quantize stage's exports, and the card and images. */
  artifacts: QuantizeOutput['artifacts'] & {
    card: string;
    images: string | null;
    contactSheet: string | null;
  };
  peakRssBytes: number;
  tensorsAtEnd: number;
  totalSeconds: number;
}
