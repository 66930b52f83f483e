// Random convolution geometries for the conv and depthwise tests.
import { backend_util } from '@tensorflow/tfjs';
import type { Rng } from './helpers.js';

type Pair = [number, number];
export type ExplicitPad = [[0, 0], Pair, Pair, [0, 0]];
export type Pad = 'same' | 'valid' | number | ExplicitPad;
export type Rounding = 'floor' | 'ceil' | 'round';

export interface ConvCase {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  /** Output channels, or the channel multiplier when depthwise. */
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strides: Pair;
  dilations: Pair;
  pad: Pad;
  dimRoundingMode?: Rounding;
}

export interface CaseOptions {
  depthwise: boolean;
  /** Allow dilations > 1 (TF.js has no gradients for them). */
  dilation: boolean;
  /** Allow a numeric pad with a rounding mode (gradients ignore the rounding mode). */
  rounding: boolean;
}

export function randomConvCase(rng: Rng, options: CaseOptions): ConvCase {
  const strides: Pair = [rng.pick([1, 1, 2]), rng.pick([1, 1, 2])];
  // TF.js allows dilation only where the stride is 1.
  const canDilate = options.dilation && strides[0] === 1 && strides[1] === 1;
  const dilations: Pair = canDilate ? [rng.pick([1, 2]), rng.pick([1, 2, 3])] : [1, 1];
  const padKind = rng.pick(
    options.rounding ? ['same', 'valid', 'explicit', 'number'] : ['same', 'valid', 'explicit'],
  );
  const filterHeight = rng.pick([1, 2, 3, 3, 5]);
  let filterWidth = rng.pick([1, 3, 3, 4]);
  let pad: Pad;
  let dimRoundingMode: Rounding | undefined;
  if (padKind === 'explicit') {
    pad = [
      [0, 0],
      [rng.int(0, 2), rng.int(0, 2)],
      [rng.int(0, 2), rng.int(0, 2)],
      [0, 0],
    ];
  } else if (padKind === 'number') {
    pad = rng.int(0, 2);
    dimRoundingMode = rng.pick(['floor', 'ceil', 'round'] as const);
    // TF.js sizes both output dimensions from the filter height and stride when the pad is a number,
    // so only square filters, strides and dilations give a consistent geometry.
    filterWidth = filterHeight;
    strides[1] = strides[0];
    dilations[1] = dilations[0];
  } else {
    pad = padKind as 'same' | 'valid';
  }
  const effectiveHeight = (filterHeight - 1) * dilations[0] + 1;
  const effectiveWidth = (filterWidth - 1) * dilations[1] + 1;

  return {
    batch: rng.pick([1, 2, 3]),
    height: rng.int(effectiveHeight, effectiveHeight + 9),
    width: rng.int(effectiveWidth, effectiveWidth + 9),
    inChannels: rng.pick([1, 3, 5, 8]),
    outChannels: options.depthwise ? rng.pick([1, 2, 3]) : rng.pick([1, 4, 7, 16]),
    filterHeight,
    filterWidth,
    strides,
    dilations,
    pad,
    ...(dimRoundingMode ? { dimRoundingMode } : {}),
  };
}

export function inputShape(c: ConvCase): [number, number, number, number] {
  return [c.batch, c.height, c.width, c.inChannels];
}

export function filterShape(c: ConvCase): [number, number, number, number] {
  return [c.filterHeight, c.filterWidth, c.inChannels, c.outChannels];
}

export function outputShape(c: ConvCase, depthwise: boolean): [number, number, number, number] {
  return backend_util.computeConv2DInfo(
    inputShape(c),
    filterShape(c),
    c.strides,
    c.dilations,
    c.pad,
    c.dimRoundingMode,
    depthwise,
  ).outShape;
}

export function caseLabel(c: ConvCase): string {
  const pad = typeof c.pad === 'object' ? JSON.stringify(c.pad.slice(1, 3)) : String(c.pad);
  return (
    `x ${inputShape(c)} filter ${filterShape(c)} strides ${c.strides} dilations ${c.dilations} ` +
    `pad ${pad}${c.dimRoundingMode ? ` ${c.dimRoundingMode}` : ''}`
  );
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Input, filter and upstream-gradient values for a case, drawn once so both backends see the same. */
export function drawCase(
  rng: { values(n: number): Float32Array | number[] },
  c: ConvCase,
  depthwise: boolean,
) {
  return {
    x: rng.values(sizeOf(inputShape(c))),
    filter: rng.values(sizeOf(filterShape(c))),
    dy: rng.values(sizeOf(outputShape(c, depthwise))),
  };
}
