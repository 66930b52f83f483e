// Memory per stage, estimated from the graph before anything runs (model/footprint.ts), against the
// run's budget: batches shrink to fit, and a model whose single image cannot fit is refused with the
// numbers and the flag to change, before any tensor is allocated.
import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { type ResolvedRunConfig, RunTooLargeError, WORKER_MEMORY_ENV } from '@dfq/contract';
import type { ModelFootprint } from '../model/footprint.js';

const MiB = 1024 * 1024;

/**
 * Bytes a synthesis step holds per float of one image's activations: the forward outputs kept for the
 * backward pass, their gradients, the fused kernels' outputs and the output pool (native backend).
 * Measured (direct preset, 3 iterations): peak RSS above the process's baseline was 7.7-10.1 bytes per
 * activation float on the 224x224 MobileNetV2 and ResNet-18 fixtures at batches 4, 8 and 16; 16 keeps
 * a margin for other backends and allocator slack.
 */
const SYNTHESIS_BYTES_PER_FLOAT = 4 * 4;
/** Node, TF.js, the native addon and the run's own bookkeeping, before any model. */
const PROCESS_BASELINE_BYTES = 400 * MiB;

/** Memory the kernel says is available (MemAvailable), or free memory where there is no /proc. */
export function availableMemoryBytes(): number {
  try {
    const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return freemem();
}

export interface MemoryPlan {
  budgetBytes: number;
  /** The run's --memory-budget, a shared worker's limit for one run, or half of what is free. */
  budgetSource: 'option' | 'worker' | 'auto';
  footprint: ModelFootprint;
  /** Estimated bytes of one image in a synthesis step. */
  synthesisBytesPerImage: number;
  /** The synthesis batch that fits (at most the one asked for). */
  synthesisBatch: number;
  /** Estimated peak of synthesis at that batch. */
  synthesisPeakBytes: number;
}

const millions = (n: number) => (n >= 1e8 ? (n / 1e6).toFixed(0) : (n / 1e6).toPrecision(3));
const size = (bytes: number) =>
  bytes < 1024 ** 3
    ? `${Math.ceil(bytes / MiB)} MiB`
    : `${(bytes / 1024 ** 3).toFixed(bytes < 10 * 1024 ** 3 ? 2 : 0)} GiB`;

const SOURCE_TEXT: Record<MemoryPlan['budgetSource'], string> = {
  option: '',
  worker: ` (what a shared worker gives one run, ${WORKER_MEMORY_ENV})`,
  auto: ' (half of the memory available now)',
};

/**
 * `images`, `batch`: the run's image count and synthesis batch once sized (pipeline/run-sizing.ts).
 * `capMiB`: a shared worker's limit for one run (null for a local run): the budget when the run
 * asks for none, and a run asking for more is refused.
 */
export function planMemory(
  footprint: ModelFootprint,
  config: Pick<ResolvedRunConfig, 'memoryBudgetMiB'>,
  images: number,
  batch: number,
  capMiB: number | null = null,
): MemoryPlan {
  const asked = config.memoryBudgetMiB;
  if (asked !== null && capMiB !== null && asked > capMiB)
    throw new RunTooLargeError(
      (name) =>
        `${name('memoryBudgetMiB')} ${asked} MiB is above the ${capMiB} MiB a shared worker gives one run (${WORKER_MEMORY_ENV}); ask for at most ${capMiB}, or leave it out`,
    );
  const budgetSource = asked !== null ? 'option' : capMiB !== null ? 'worker' : 'auto';
  const budgetBytes =
    asked !== null ? asked * MiB : capMiB !== null ? capMiB * MiB : availableMemoryBytes() / 2;
  const fixed = PROCESS_BASELINE_BYTES + 3 * footprint.weightBytes;
  const perImage = footprint.activationFloats * SYNTHESIS_BYTES_PER_FLOAT;
  const fits = Math.floor((budgetBytes - fixed) / perImage);
  if (fits < 1) {
    const [h = 0, w = 0, c = 0] = footprint.input;
    throw new RunTooLargeError(
      (name) =>
        `the model's ${h}x${w}x${c} input needs about ${size(perImage)} per image to synthesize (its layers' ` +
        `outputs total ${millions(footprint.activationFloats)} M values per image, kept for the ` +
        `gradient), plus ${size(fixed)} for the process and weights, but the memory budget is ` +
        `${size(budgetBytes)}${SOURCE_TEXT[budgetSource]}. ` +
        `Raise ${name('memoryBudgetMiB')} to at least ${Math.ceil((fixed + perImage) / MiB)} on a machine that ` +
        `has it${h * w > 1024 * 1024 ? ', or export the model at the input size it was trained at' : ''}.`,
    );
  }
  const synthesisBatch = Math.max(1, Math.min(batch, images, fits));
  return {
    budgetBytes,
    budgetSource,
    footprint,
    synthesisBytesPerImage: perImage,
    synthesisBatch,
    synthesisPeakBytes: fixed + synthesisBatch * perImage,
  };
}
