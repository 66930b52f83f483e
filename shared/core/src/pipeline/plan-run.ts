// What a run will take, worked out from its model and options before any work: the checks a stage
// would otherwise fail on late, the run's size (images, iterations, batch) and its memory plan. The
// synthesize stage starts from it; services call it to refuse a run at the door (admission control).
import { checkRunSettings, type ResolvedRunConfig, RunOptionError } from '@dfq/contract';
import { budgetBopsOf, budgetBytesOf } from '../analysis/bit-allocation.js';
import { bopsCounter } from '../analysis/mixed-precision.js';
import { DEFAULT_SENSITIVITY } from '../analysis/sensitivity.js';
import { packedByteLength } from '../integer/weight-packing.js';
import { foldBatchNorm } from '../model/fold-batchnorm.js';
import { type ModelFootprint, modelFootprint } from '../model/footprint.js';
import { isWeighted, type ModelGraph, type WeightedNode } from '../model/graph.js';
import { loadModel } from '../model/load-model.js';
import { planQuantization, type QuantizationPlan } from '../quantization/quantization-plan.js';
import { type MemoryPlan, planMemory } from './memory-plan.js';
import { modelOptions } from './model-options.js';
import { type RunSizing, sizeRun } from './run-sizing.js';

export interface RunPlan {
  /** The model as synthesis uses it (BatchNorms unfolded). */
  graph: ModelGraph;
  footprint: ModelFootprint;
  sizing: RunSizing;
  memory: MemoryPlan;
}

/** A --size-budget that not even the smallest weights fit is refused before any image is made. */
function checkSizeBudget(folded: ModelGraph, plan: QuantizationPlan, config: ResolvedRunConfig): void {
  checkBopsBudget(folded, plan, config);
  if (config.sizeBudget === null) return;
  const layers = folded.nodes.filter((n): n is WeightedNode => isWeighted(n) && plan.weightBits.has(n.name));
  const fixed = (name: string) => config.layerBits[name]?.weightBits;
  const bytes = (bits: number) =>
    layers.reduce((a, n) => a + packedByteLength(n.kernel.data.length, fixed(n.name) ?? bits), 0);
  const fp32 = layers.reduce((a, n) => a + 4 * n.kernel.data.length, 0);
  const budget = budgetBytesOf(config.sizeBudget, fp32);
  const smallest = bytes(Math.min(...DEFAULT_SENSITIVITY.weightBits));
  if (budget < smallest)
    throw new RunOptionError(
      (name) =>
        `${name('sizeBudget')} ${config.sizeBudget} allows ${Math.floor(budget)} bytes of weights, but the smallest choice (every layer at ${Math.min(...DEFAULT_SENSITIVITY.weightBits)} bits${Object.keys(config.layerBits).length ? ', --layer-bits as given' : ''}) takes ${smallest} bytes; uniform 8-bit weights take ${bytes(8)} of ${fp32} FP32 bytes`,
    );
}

/** A --bops-budget that not even the fewest bit operations meet is refused before any image is made. */
function checkBopsBudget(folded: ModelGraph, plan: QuantizationPlan, config: ResolvedRunConfig): void {
  if (config.bopsBudget === null) return;
  const bopsAt = bopsCounter(folded, plan);
  const layers = [...plan.weightBits.keys()];
  const fixed = (name: string) => config.layerBits[name]?.weightBits;
  const total = (bits: number) => layers.reduce((a, l) => a + bopsAt(l, fixed(l) ?? bits), 0);
  const budget = budgetBopsOf(config.bopsBudget, total(8));
  const fewest = total(Math.min(...DEFAULT_SENSITIVITY.weightBits));
  if (budget < fewest)
    throw new RunOptionError(
      (name) =>
        `${name('bopsBudget')} ${config.bopsBudget} allows ${budget.toPrecision(4)} bit operations per image, but the fewest (every layer at ${Math.min(...DEFAULT_SENSITIVITY.weightBits)}-bit weights${Object.keys(config.layerBits).length ? ', --layer-bits as given' : ''}) are ${fewest.toPrecision(4)}; 8-bit weights take ${total(8).toPrecision(4)}`,
    );
}

/**
 * Throws a RunOptionError (options that cannot work together, a budget nothing fits, a model too
 * large for the memory budget) or a ModelLoadError (a model that cannot be used) before any tensor
 * work; otherwise says how the run will be sized. `memoryCapMiB`: a shared worker's limit for one
 * run (memory-plan.ts), null for a local run.
 */
export async function planRun(
  config: ResolvedRunConfig,
  memoryCapMiB: number | null = null,
): Promise<RunPlan> {
  // The options alone; what they need of a tensor backend is the worker's to check (check-run.ts).
  checkRunSettings(config);
  const { graph } = await loadModel(config.modelPath, modelOptions(config));
  // Synthesis matches the unfolded model's BatchNorms; the bit plan is made here only to refuse a
  // misnamed --keep-float / --layer-bits layer before any work.
  const folded = foldBatchNorm(graph).graph;
  checkSizeBudget(folded, planQuantization(folded, config.resolved.bits, config.resolved.layers), config);
  const footprint = modelFootprint(graph);
  const sizing = sizeRun(footprint, config);
  const memory = planMemory(footprint, config, sizing.images, sizing.batch, memoryCapMiB);
  return { graph, footprint, sizing, memory };
}

/** Forward passes a quantizer step costs per image of its batch is bounded by this many images. */
const QUANTIZER_BATCH_BOUND = 32;

/**
 * A run's estimated work in tera multiply-accumulates, for per-tenant budgets: each synthesis
 * iteration is a forward and a backward pass (about 3 forward passes) of every image, each quantizer
 * step the same over at most a batch of them, plus a forward pass per image for calibration. An
 * estimate to compare runs by, not a measurement.
 */
export function runCostTmac(plan: RunPlan, config: Pick<ResolvedRunConfig, 'quantizerSteps'>): number {
  const { images, iterations } = plan.sizing;
  const passes =
    3 * images * Math.max(1, iterations) +
    3 * config.quantizerSteps * Math.min(images, QUANTIZER_BATCH_BOUND) +
    images;
  return (passes * plan.footprint.forwardMacs) / 1e12;
}
