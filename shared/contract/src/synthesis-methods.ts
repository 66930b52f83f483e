import { WEIGHT_QUANTIZER_METHODS, type WeightQuantizerName } from './weight-quantizer-methods.js';

/** What a synthesis method needs and gives, so a run is checked before its first stage starts. */
export interface SynthesisMethodInfo {
  summary: string;
  /** Matches BatchNorm statistics: the model must have BatchNorm layers. */
  needsBatchNorm: boolean;
  /** Makes each image for a target class (contact sheet by class, target agreement). */
  labelled: boolean;
  /** Trains weights (a generator), so the backend needs weight gradients. */
  needsWeightGradients: boolean;
  /** Optimizes for `iterations` steps (the others draw their images at once). */
  optimized: boolean;
  /** Reads the evaluation directory's training split (a baseline, not data-free). */
  needsEvalData: boolean;
}

/** Every synthesis method, registered once: CLI choices, the API enum and the card derive from it. */
export const SYNTHESIS_METHODS = {
  generative: {
    summary:
      'trains a class-conditional generator against the frozen model (GDFQ-style: class cross-entropy, BN statistics, within-class diversity) and draws balanced images from it; cached for reuse',
    needsBatchNorm: true,
    labelled: true,
    needsWeightGradients: true,
    optimized: true,
    needsEvalData: false,
  },
  direct: {
    summary:
      "optimizes noise pixels until every BatchNorm sees the statistics it recorded, with a cross-entropy term toward a target class and random flips/shifts (ZeroQ + IntraQ's label term and jitter)",
    needsBatchNorm: true,
    labelled: true,
    needsWeightGradients: false,
    optimized: true,
    needsEvalData: false,
  },
  zeroq: {
    summary: 'ZeroQ as released: BN-statistics matching only, no labels, no jitter',
    needsBatchNorm: true,
    labelled: false,
    needsWeightGradients: false,
    optimized: true,
    needsEvalData: false,
  },
  noise: {
    summary: 'Gaussian noise in normalized input space (a baseline)',
    needsBatchNorm: false,
    labelled: false,
    needsWeightGradients: false,
    optimized: false,
    needsEvalData: false,
  },
  real: {
    summary: "random images of the evaluation directory's training split (a baseline, not data-free)",
    needsBatchNorm: false,
    labelled: false,
    needsWeightGradients: false,
    optimized: false,
    needsEvalData: true,
  },
} as const satisfies Record<string, SynthesisMethodInfo>;

export type SynthesisMethod = keyof typeof SYNTHESIS_METHODS;

/** `--synth auto`, the default: resolved per run by synthesisMethodFor. */
export const AUTO_SYNTHESIS = 'auto';
export type SynthesisChoice = typeof AUTO_SYNTHESIS | SynthesisMethod;

/** The images a run makes: `auto` takes the ones its weight quantizer measured best on. */
export function synthesisMethodFor(settings: {
  synth: SynthesisChoice;
  quantizer: WeightQuantizerName;
}): SynthesisMethod {
  return settings.synth === AUTO_SYNTHESIS
    ? WEIGHT_QUANTIZER_METHODS[settings.quantizer].images
    : settings.synth;
}
