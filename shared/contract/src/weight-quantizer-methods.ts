/** What a weight quantizer needs, so a run is checked before its first stage starts. */
export interface WeightQuantizerInfo {
  summary: string;
  /** Learns the weights by distillation on the synthetic images (else rounds them once). */
  trainsWeights: boolean;
  /** Needs the backend's weight gradients (Conv2DBackpropFilter). */
  needsWeightGradients: boolean;
  /** How the final level of each weight is picked, as the card states it. */
  rounding: string;
  /** The images `--synth auto` makes for it (a synthesis method's name). */
  images: 'direct' | 'zeroq';
}

/** Every weight quantizer, registered once: CLI choices, the API enum and the card derive from it. */
export const WEIGHT_QUANTIZER_METHODS = {
  rtn: {
    summary: "round-to-nearest: each weight to the nearest level of its channel's grid",
    trainsWeights: false,
    needsWeightGradients: false,
    rounding: 'round-half-even',
    images: 'direct',
  },
  pmf: {
    summary:
      'proximal mean-field (Ajanthan et al. 2019): each weight a softmax distribution over its grid levels, distilled from the FP32 model on the synthetic images',
    trainsWeights: true,
    needsWeightGradients: true,
    rounding: 'argmax',
    images: 'direct',
  },
  pgd: {
    summary: 'projected gradient descent: as pmf, with a sparsemax projection',
    trainsWeights: true,
    needsWeightGradients: true,
    rounding: 'argmax',
    images: 'direct',
  },
  recon: {
    summary:
      "block reconstruction (BRECQ, with Genie/QDrop additions): block by block, learns each weight's level (a mean-field distribution over the grid, or AdaRound's up/down), per-channel weight scales and activation step sizes (LSQ) so the quantized block reproduces the FP32 block on the synthetic images; --quantizer-steps counts steps per block (twice that, at a higher rate, in blocks with binary weights)",
    trainsWeights: true,
    needsWeightGradients: true,
    rounding: 'argmax of a learned distribution per block (or AdaRound up/down)',
    // Reconstruction needs varied inputs more than class-typical ones. 256 images per seed (0, 2, 3),
    // full test split (docs/benchmarks.md, Step 9, `npm run bench -- lowbitData`): ZeroQ's images (BN
    // statistics only) gave W1A8 87.19/87.03/86.88% where direct's (plus a class term and jitter) gave
    // 81.69/80.24/79.74%, and W2A8 90.05/90.20/90.10% against 89.93/88.96/88.78%.
    images: 'zeroq',
  },
} as const satisfies Record<string, WeightQuantizerInfo>;

export type WeightQuantizerName = keyof typeof WEIGHT_QUANTIZER_METHODS;
