// How much synthesis a run does when the user leaves it to dfq ('auto' images and iterations), chosen
// from the model's per-image cost (model/footprint.ts). A 28x28 model keeps the settings its accuracy
// tables were measured with; a model of ImageNet size, where one image-iteration costs 100x more,
// gets fewer images and iterations and stops once the loss no longer falls, so that its default run
// takes minutes (measured on the 224x224 MobileNetV2 fixture: docs/benchmarks.md, Step 7).
import type { RunConfig } from '@dfq/contract';
import type { ModelFootprint } from '../model/footprint.js';

/** Above either, a model counts as large: MobileNetV2 at 224x224 has 3.0e8 MACs and 2.2e7 values. */
const LARGE_MACS = 1e8;
const LARGE_ACTIVATIONS = 2e6;

const SMALL = { images: 64, iterations: 200, batch: 64, stopOnPlateau: false, averageLayers: false };
// Batches of 8: on the 224x224 fixtures a step costs no more per image than at 32 (73 vs 94 ms per
// image-iteration on MobileNetV2) and peaks at 1.7 GiB instead of 6.
// BatchNorm terms averaged over layers: summed, MobileNetV2's 52 drowned the label term (target
// agreement 19%, integer agreement 31/32 on the trained fixture; averaged: 41%, 32/32). On the 28x28
// example, averaging cost 0.7 points of W4A4 round-to-nearest (90.84 -> 90.15%), so small models sum.
const LARGE = { images: 32, iterations: 100, batch: 8, stopOnPlateau: true, averageLayers: true };

export interface RunSizing {
  images: number;
  iterations: number;
  /** Images optimized together, before the memory plan shrinks it further if it must. */
  batch: number;
  /** Stop optimizing a batch once its loss has stopped falling (auto iterations on a large model only). */
  stopOnPlateau: boolean;
  /** Direct synthesis averages its BatchNorm terms over layers (deep models) instead of summing them. */
  averageLayers: boolean;
  /** Where each came from, for the report and the card. */
  imagesFrom: 'option' | 'auto';
  iterationsFrom: 'option' | 'auto';
  /** The rule applied, in words. */
  rule: string;
}

export function sizeRun(
  footprint: ModelFootprint,
  config: Pick<RunConfig, 'images' | 'iterations' | 'synthBatchSize'>,
): RunSizing {
  const large = footprint.forwardMacs >= LARGE_MACS || footprint.activationFloats >= LARGE_ACTIVATIONS;
  const tier = large ? LARGE : SMALL;
  const [h = 0, w = 0, c = 0] = footprint.input;
  const cost = `${(footprint.forwardMacs / 1e6).toFixed(0)} M multiply-adds and ${(footprint.activationFloats / 1e6).toFixed(1)} M activation values per ${h}x${w}x${c} image`;
  return {
    images: config.images ?? tier.images,
    iterations: config.iterations ?? tier.iterations,
    batch: config.synthBatchSize ?? tier.batch,
    stopOnPlateau: config.iterations === null && tier.stopOnPlateau,
    averageLayers: tier.averageLayers,
    imagesFrom: config.images === null ? 'auto' : 'option',
    iterationsFrom: config.iterations === null ? 'auto' : 'option',
    rule: large
      ? `large model (${cost}): auto is ${LARGE.images} images in batches of ${LARGE.batch}, at most ${LARGE.iterations} iterations, stopping on a loss plateau, BatchNorm terms averaged over layers`
      : `small model (${cost}): auto is ${SMALL.images} images x ${SMALL.iterations} iterations in batches of ${SMALL.batch}`,
  };
}
