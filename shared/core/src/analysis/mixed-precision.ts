import type * as tf from '@tensorflow/tfjs';
import type { Float32Array_ND } from '../data/npy.js';
import { packedByteLength } from '../integer/weight-packing.js';
import { modelFootprint } from '../model/footprint.js';
import type { ModelGraph } from '../model/graph.js';
import { GraphRunner } from '../model/graph-runner.js';
import type { Range } from '../quantization/activation-quantizer.js';
import type { QuantizationPlan } from '../quantization/quantization-plan.js';
import { gridSourceResolver } from '../quantization/quantization-plan.js';
import { activationFakeQuant, quantizeModel } from '../quantization/quantize-model.js';
import { allocateBits, BitBudgetError, budgetBopsOf, budgetBytesOf, uniformBytes } from './bit-allocation.js';
import {
  DEFAULT_SENSITIVITY,
  logitsOf,
  measureSensitivity,
  outputEffect,
  type SensitivityReport,
  sensitivityBatch,
} from './sensitivity.js';

/** What the user asked of the weights' size and accuracy (either or both). */
export interface MixedPrecisionTarget {
  /** Bytes the weights must fit, or a share (≤ 1) of their FP32 bytes. */
  sizeBudget: number | null;
  /** Bit operations per image the model may take, or a share (≤ 1) of 8-bit weights' (HAWQ-V3's BOPs). */
  bopsBudget: number | null;
  /** Points of top-1 agreement with FP32 (synthetic images) the model may lose. */
  maxDrop: number | null;
}

export interface MixedPrecisionChoice {
  /** Layer -> weight bits chosen. */
  bits: Record<string, number>;
  budgetBytes: number;
  /** Weight bytes (packed integers) at the chosen bits, and at uniform 4 and 8 bits for comparison. */
  bytes: number;
  uniformBytes: { w4: number; w8: number; fp32: number };
  /** Bit operations per image at the chosen bits and with uniform 4- and 8-bit weights; the budget (null: none). */
  bops: number;
  uniformBops: { w4: number; w8: number };
  budgetBops: number | null;
  /** Synthetic images the choice was measured on, held out of calibration. */
  images: number;
  /** Summed KL of the layers alone at their chosen bits (the objective). */
  estimatedKl: number;
  /** Top-1 agreement with FP32 of the whole mixed model (activations quantized too) on the synthetic images. */
  agreement: number;
  /** Every candidate layer: its bits, and the output KL of quantizing it alone at each candidate. */
  layers: {
    layer: string;
    bits: number;
    parameters: number;
    kl: Record<number, number>;
    hessianTracePerWeight: number | null;
  }[];
  /** Budgets tried by the --max-drop search, with their measured agreement. */
  searched: { budgetBytes: number; bytes: number; agreement: number }[];
  /** The size/agreement frontier around the choice: the same program at FRONTIER_SHARES of the way from the smallest weights to 8-bit ones, each measured. */
  frontier: { bytes: number; agreement: number }[];
  solver: string;
  seconds: number;
}

/**
 * Bit operations per image of a layer at some weight bits (HAWQ-V3's BOPs): its multiply-adds x
 * those bits x the bits of the activation it reads (32 where that is float).
 */
export function bopsCounter(
  graph: ModelGraph,
  plan: QuantizationPlan,
): (layer: string, bits: number) => number {
  const macs = modelFootprint(graph).macs;
  const gridSource = gridSourceResolver(graph);
  const nodes = new Map(graph.nodes.map((n) => [n.name, n]));
  const inputBits = (layer: string) =>
    plan.activationBits.get(gridSource(nodes.get(layer)?.inputs[0] ?? '')) ?? 32;
  return (layer, bits) => (macs.get(layer) ?? 0) * bits * inputBits(layer);
}

/**
 * Synthetic images a mixed-precision run keeps out of calibration and measures sensitivity and
 * agreement on (the last quarter of them, 1 to 256), so the choice is judged on images its ranges
 * were not fitted to. Fewer than 2 images: none held out.
 */
export function heldOutImageCount(images: number): number {
  return images < 2 ? 0 : Math.min(256, Math.max(1, Math.floor(images / 4)));
}

/** The held-out images (the last heldOutImageCount), or all of them when none can be held out. */
export function heldOutImages(images: Float32Array_ND): { count: number; data: Float32Array } {
  const total = images.shape[0] as number;
  const held = heldOutImageCount(total) || total;
  const per = images.data.length / Math.max(1, total);
  return { count: held, data: images.data.subarray((total - held) * per) };
}

/** The images calibration fits ranges to: all but the held-out ones when the run chooses bits per layer. */
export function calibrationImages(images: Float32Array_ND, mixedPrecision: boolean): Float32Array_ND {
  const total = images.shape[0] as number;
  const keep = total - (mixedPrecision ? heldOutImageCount(total) : 0);
  const per = images.data.length / Math.max(1, total);
  return { shape: [keep, ...images.shape.slice(1)], data: images.data.subarray(0, keep * per) };
}

/** Where the card's frontier is drawn: shares of the way from the smallest weights to 8-bit ones. */
const FRONTIER_SHARES = [0, 0.25, 0.5, 0.75, 1];

/** Bisection steps of the --max-drop search over budgets (each an ILP and one forward pass). */
const DROP_SEARCH_STEPS = 10;

/** Whole-model top-1 agreement with FP32 at these weight bits, activations as the plan says. */
function agreementAt(
  graph: ModelGraph,
  plan: QuantizationPlan,
  ranges: ReadonlyMap<string, Range>,
  images: tf.Tensor4D,
  reference: tf.Tensor2D,
  bits: ReadonlyMap<string, number>,
): number {
  const weightBits = new Map(plan.weightBits);
  for (const [layer, b] of bits) weightBits.set(layer, b);
  const model = quantizeModel(graph, { ...plan, weightBits }, new Map(ranges));
  const runner = new GraphRunner(model.graph);
  try {
    const logits = logitsOf(runner, images, sensitivityBatch(images), {
      transform: activationFakeQuant(model),
    });
    const { agreement } = outputEffect(reference, logits);
    logits.dispose();
    return agreement;
  } finally {
    runner.dispose();
  }
}

/**
 * Mixed-precision weights: measures every layer's sensitivity on the synthetic images, then picks
 * per-layer bits by integer programming: the least estimated damage within the size budget, or the
 * smallest budget whose whole model keeps top-1 agreement with FP32 within --max-drop (bisection
 * over budgets, each allocation measured). Layers the plan does not quantize, or whose bits the
 * user fixed with --layer-bits, keep them.
 */
export async function chooseMixedPrecision(
  graph: ModelGraph,
  plan: QuantizationPlan,
  ranges: ReadonlyMap<string, Range>,
  images: tf.Tensor4D,
  target: MixedPrecisionTarget,
  options: {
    seed: number;
    fixed: ReadonlyMap<string, number>;
    probes?: number;
    onProgress?: (message: string) => void;
  },
): Promise<{ choice: MixedPrecisionChoice; sensitivity: SensitivityReport }> {
  const started = performance.now();
  // The allocation needs the measured KL only; Hessian traces (two backward passes per probe) are
  // for `dfq analyze` and the bench's comparison with HAWQ's estimate.
  const sensitivity = await measureSensitivity(graph, images, ranges, {
    weightBits: [...DEFAULT_SENSITIVITY.weightBits],
    activationBits: [...DEFAULT_SENSITIVITY.activationBits],
    probes: options.probes ?? 0,
    seed: options.seed,
    onProgress: (done, total, what) => {
      if (done === total || done % 10 === 0) options.onProgress?.(`sensitivity ${done}/${total} (${what})`);
    },
  });
  const bopsAt = bopsCounter(graph, plan);
  const quantized = sensitivity.layers
    .filter((l) => plan.weightBits.has(l.layer))
    .map((l) => ({ ...l, candidates: l.candidates.map((c) => ({ ...c, bops: bopsAt(l.layer, c.bits) })) }));
  const w4 = uniformBytes(quantized, 4);
  const w8 = uniformBytes(quantized, 8);
  const fp32 = quantized.reduce((a, l) => a + 4 * l.parameters, 0);
  // Layers whose bits the user fixed are not chosen; their bytes come off the budget.
  const layers = quantized.filter((l) => !options.fixed.has(l.layer));
  const fixedBytes = quantized
    .filter((l) => options.fixed.has(l.layer))
    .reduce((a, l) => a + packedByteLength(l.parameters, options.fixed.get(l.layer) as number), 0);
  const asked = target.sizeBudget === null ? null : budgetBytesOf(target.sizeBudget, fp32);
  const ceiling = (asked ?? w8) - fixedBytes;
  const uniformBops = (bits: number) => quantized.reduce((a, l) => a + bopsAt(l.layer, bits), 0);
  const fixedBops = quantized
    .filter((l) => options.fixed.has(l.layer))
    .reduce((a, l) => a + bopsAt(l.layer, options.fixed.get(l.layer) as number), 0);
  const askedBops = target.bopsBudget === null ? null : budgetBopsOf(target.bopsBudget, uniformBops(8));
  const bopsCeiling = askedBops === null ? null : askedBops - fixedBops;
  // The chosen layers' weights at their fewest bits: the floor of every search below.
  const smallestBytes = layers.reduce((a, l) => a + Math.min(...l.candidates.map((c) => c.bytes)), 0);
  const runner = new GraphRunner(graph);
  const reference = logitsOf(runner, images, sensitivityBatch(images));
  runner.dispose();
  try {
    const measure = (bits: ReadonlyMap<string, number>) =>
      agreementAt(graph, plan, ranges, images, reference, bits);
    let allocation = await allocateBits(layers, ceiling, bopsCeiling);
    let agreement = measure(allocation.bits);
    const searched = [{ budgetBytes: ceiling + fixedBytes, bytes: allocation.bytes + fixedBytes, agreement }];
    let budgetBytes = ceiling;
    if (target.maxDrop !== null) {
      const floor = 1 - target.maxDrop / 100;
      if (agreement < floor)
        throw new BitBudgetError(
          `no bit allocation within ${Math.floor(ceiling + fixedBytes)} bytes keeps top-1 agreement with FP32 within ${target.maxDrop} points on the synthetic images: the best measured ${(100 * agreement).toFixed(2)}%. Raise --max-drop${asked === null ? '' : ' or --size-budget'}.`,
          allocation.bytes + fixedBytes,
        );
      // Bisection: agreement falls as the budget shrinks (not strictly, so the best passing point is kept).
      let low = smallestBytes;
      let high = ceiling;
      for (let step = 0; step < DROP_SEARCH_STEPS && high - low > 1; step++) {
        const middle = Math.floor((low + high) / 2);
        const tried = await allocateBits(layers, middle, bopsCeiling);
        const tryAgreement = measure(tried.bits);
        searched.push({
          budgetBytes: middle + fixedBytes,
          bytes: tried.bytes + fixedBytes,
          agreement: tryAgreement,
        });
        options.onProgress?.(
          `--max-drop search: ${tried.bytes + fixedBytes} bytes agree ${(100 * tryAgreement).toFixed(2)}% with FP32`,
        );
        if (tryAgreement >= floor) {
          high = middle;
          allocation = tried;
          agreement = tryAgreement;
          budgetBytes = middle;
        } else low = middle;
      }
    }
    // The frontier around the choice (size budget only), each point one program and one measurement.
    const largestBytes = layers.reduce((a, l) => a + Math.max(...l.candidates.map((c) => c.bytes)), 0);
    const frontier: MixedPrecisionChoice['frontier'] = [];
    for (const share of FRONTIER_SHARES) {
      const point = await allocateBits(layers, smallestBytes + share * (largestBytes - smallestBytes));
      frontier.push({ bytes: point.bytes + fixedBytes, agreement: measure(point.bits) });
    }
    return {
      sensitivity,
      choice: {
        bits: Object.fromEntries(allocation.bits),
        layers: layers.map((l) => ({
          layer: l.layer,
          bits: allocation.bits.get(l.layer) as number,
          parameters: l.parameters,
          kl: Object.fromEntries(l.candidates.map((c) => [c.bits, c.kl])),
          hessianTracePerWeight: l.hessianTracePerWeight,
        })),
        budgetBytes: budgetBytes + fixedBytes,
        bytes: allocation.bytes + fixedBytes,
        uniformBytes: { w4, w8, fp32 },
        bops: (allocation.bops ?? 0) + fixedBops,
        uniformBops: { w4: uniformBops(4), w8: uniformBops(8) },
        budgetBops: askedBops,
        images: images.shape[0],
        estimatedKl: allocation.kl,
        agreement,
        searched,
        frontier,
        solver: allocation.solver,
        seconds: (performance.now() - started) / 1000,
      },
    };
  } finally {
    reference.dispose();
  }
}
