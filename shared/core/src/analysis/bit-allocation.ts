// highs ships CommonJS types over an ES module entry: the namespace's default is the loader either way.
import * as highsModule from 'highs';
import { packedByteLength } from '../integer/weight-packing.js';
import type { WeightCandidate } from './sensitivity.js';

export interface BitAllocation {
  /** Layer -> weight bits. */
  bits: Map<string, number>;
  /** Weight bytes at those bits (integers only), and the sum of each layer's measured KL. */
  bytes: number;
  /** Bit operations per image at those bits (when the candidates carry them), else null. */
  bops: number | null;
  kl: number;
  solver: string;
}

/** A layer at some weight bits: its damage, its bytes, and (for a BOPs budget) its bit operations. */
export type Candidate = Pick<WeightCandidate, 'bits' | 'kl' | 'bytes'> & { bops?: number };

const loadHighs = ((highsModule.default as { default?: unknown }).default ??
  highsModule.default) as typeof highsModule.default.default;
/** A budget below the smallest allocation: the smallest is given, so the message can say what would fit. */
export class BitBudgetError extends Error {
  constructor(
    message: string,
    readonly smallestBytes: number,
  ) {
    super(message);
    this.name = 'BitBudgetError';
  }
}

let highs: Awaited<ReturnType<typeof loadHighs>> | null = null;

/** Bytes of the layers' weights with every layer at the same bits. */
export function uniformBytes(layers: readonly { parameters: number }[], bits: number): number {
  return layers.reduce((a, l) => a + packedByteLength(l.parameters, bits), 0);
}

/** --size-budget in bytes: at most 1, a share of the weights' FP32 bytes; above, bytes. */
export function budgetBytesOf(sizeBudget: number, fp32Bytes: number): number {
  return sizeBudget <= 1 ? sizeBudget * fp32Bytes : sizeBudget;
}

/** --bops-budget in bit operations per image: at most 1, a share of 8-bit weights' BOPs; above, BOPs. */
export function budgetBopsOf(bopsBudget: number, w8Bops: number): number {
  return bopsBudget <= 1 ? bopsBudget * w8Bops : bopsBudget;
}

/**
 * Picks each layer's weight bits by an integer linear program (HAWQ-V3's formulation; solved by
 * HiGHS, compiled to WebAssembly): one binary variable per layer and candidate, exactly one per
 * layer, least summed output KL (each layer quantized alone) with the weights within `budgetBytes`
 * and, when `budgetBops` is given, the bit operations per image within it (every candidate then
 * carries its `bops`).
 * Summing assumes the layers' errors add up, which holds for small errors (ZeroQ, HAWQ); the caller
 * measures the whole model afterwards.
 */
export async function allocateBits(
  layers: readonly { layer: string; candidates: readonly Candidate[] }[],
  budgetBytes: number,
  budgetBops: number | null = null,
): Promise<BitAllocation> {
  highs ??= await loadHighs();
  const options = layers.map((l) => ({ layer: l.layer, candidates: [...l.candidates] }));
  const bopsOf = (c: Candidate) => {
    if (c.bops === undefined)
      throw new Error(`a BOPs budget needs every candidate's bops (W${c.bits} lacks it)`);
    return c.bops;
  };
  // Bit operations run to 1e12 and more: the constraint is scaled to the same range as the bytes'.
  const bopsScale =
    budgetBops === null ? 1 : 1e6 / Math.max(1, ...options.flatMap((o) => o.candidates.map(bopsOf)));
  const name = (i: number, bits: number) => `x_${i}_${bits}`;
  // HiGHS works to absolute tolerances: scale each side so its largest term is near 1000.
  const scaleOf = (values: number[]) => 1000 / Math.max(1e-30, ...values.map(Math.abs));
  const klScale = scaleOf(options.flatMap((o) => o.candidates.map((c) => c.kl)));
  const terms = (value: (c: Candidate) => number) =>
    options
      .flatMap((o, i) =>
        o.candidates.map(
          (c) => `${value(c) >= 0 ? '+' : '-'} ${Math.abs(value(c)).toPrecision(12)} ${name(i, c.bits)}`,
        ),
      )
      .join(' ');
  const problem = [
    'Minimize',
    ` cost: ${terms((c) => c.kl * klScale)}`,
    'Subject To',
    ...options.map((o, i) => ` one_${i}: ${o.candidates.map((c) => `+ ${name(i, c.bits)}`).join(' ')} = 1`),
    ` budget: ${terms((c) => c.bytes)} <= ${Math.floor(budgetBytes)}`,
    ...(budgetBops === null
      ? []
      : [` bops: ${terms((c) => bopsOf(c) * bopsScale)} <= ${(budgetBops * bopsScale).toPrecision(12)}`]),
    'Binary',
    ` ${options.flatMap((o, i) => o.candidates.map((c) => name(i, c.bits))).join(' ')}`,
    'End',
  ].join('\n');
  const result = highs.solve(problem, { output_flag: false });
  if (result.Status !== 'Optimal') {
    const smallest = options.reduce((a, o) => a + Math.min(...o.candidates.map((c) => c.bytes)), 0);
    const fewestBops =
      budgetBops === null ? 0 : options.reduce((a, o) => a + Math.min(...o.candidates.map(bopsOf)), 0);
    throw new BitBudgetError(
      `no bit allocation fits ${Math.floor(budgetBytes)} bytes of weights${budgetBops === null ? '' : ` and ${budgetBops.toPrecision(4)} bit operations per image`}: the smallest candidates take ${smallest} bytes${budgetBops === null ? '' : ` and the fewest ${fewestBops.toPrecision(4)} bit operations`} (solver: ${result.Status})`,
      smallest,
    );
  }
  const bits = new Map<string, number>();
  let bytes = 0;
  let bops: number | null = options.every((o) => o.candidates.every((c) => c.bops !== undefined)) ? 0 : null;
  let kl = 0;
  options.forEach((o, i) => {
    const chosen = o.candidates.find((c) => (result.Columns[name(i, c.bits)]?.Primal ?? 0) > 0.5);
    if (!chosen) throw new Error(`bit allocation: the solver chose nothing for layer ${o.layer}`);
    bits.set(o.layer, chosen.bits);
    bytes += chosen.bytes;
    if (bops !== null) bops += chosen.bops as number;
    kl += chosen.kl;
  });
  return { bits, bytes, bops, kl, solver: 'HiGHS (highs-js, WebAssembly) mixed-integer solver' };
}
