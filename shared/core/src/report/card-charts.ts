import type { MixedPrecisionChoice } from '../analysis/mixed-precision.js';
import { barChart, frontierChart, histogramChart, type RenderedChart } from './charts.js';
import type { CardLayer } from './quantization-card.js';

const WORST_HISTOGRAMS = 3;

export interface CardChart {
  title: string;
  chart: RenderedChart;
}

/**
 * The card's pictures: every quantized activation's SQNR after calibration, the value histograms
 * of the WORST_HISTOGRAMS tensors with the lowest SQNR, and, for a
 * mixed-precision run, each layer's measured sensitivity at every candidate beside the bits chosen.
 */
export function cardCharts(
  layers: readonly CardLayer[],
  mixed: MixedPrecisionChoice | null,
): Record<string, CardChart> {
  const charts: Record<string, CardChart> = {};
  const quantized = layers.filter((l) => l.activationSqnrDb !== null);
  if (quantized.length > 0) {
    const title = 'Activation SQNR after calibration, per tensor';
    charts['activation-sqnr'] = {
      title,
      chart: barChart({
        title,
        categories: quantized.map((l) => `${l.name} (A${l.activationBits})`),
        series: [{ name: 'SQNR', values: quantized.map((l) => l.activationSqnrDb) }],
        yName: 'dB',
      }),
    };
  }
  // The tensors calibration served worst, with the values it saw and the range it kept.
  const worst = [...quantized]
    .filter((l) => l.activationHistogram && l.activationRange)
    .sort((a, b) => (a.activationSqnrDb as number) - (b.activationSqnrDb as number))
    .slice(0, WORST_HISTOGRAMS);
  for (const l of worst) {
    const h = l.activationHistogram as NonNullable<CardLayer['activationHistogram']>;
    const title = `${l.name}: calibration values and the A${l.activationBits} range kept (SQNR ${(l.activationSqnrDb as number).toFixed(1)} dB)`;
    charts[`activation-histogram-${l.name.replace(/[^A-Za-z0-9_.-]/g, '_')}`] = {
      title,
      chart: histogramChart({ title, ...h, range: l.activationRange as { min: number; max: number } }),
    };
  }
  if (mixed && mixed.frontier.length > 0) {
    const title = 'Weight bytes against top-1 agreement with FP32 (held-out synthetic images)';
    charts['mixed-precision-frontier'] = {
      title,
      chart: frontierChart({
        title,
        xName: 'weight bytes',
        yName: 'agreement (%)',
        series: [
          {
            name: 'integer program at other budgets',
            points: mixed.frontier.map((p) => ({ x: p.bytes, y: 100 * p.agreement })),
          },
          ...(mixed.searched.length > 1
            ? [
                {
                  name: '--max-drop search',
                  line: false,
                  points: mixed.searched.map((p) => ({ x: p.bytes, y: 100 * p.agreement })),
                },
              ]
            : []),
        ],
        chosen: { x: mixed.bytes, y: 100 * mixed.agreement, label: 'chosen' },
      }),
    };
  }
  if (mixed) {
    const candidates = [...new Set(mixed.layers.flatMap((l) => Object.keys(l.kl).map(Number)))].sort(
      (a, b) => a - b,
    );
    const title = 'Output KL with each layer quantized alone; the bits chosen in brackets';
    charts['mixed-precision-sensitivity'] = {
      title,
      chart: barChart({
        title,
        categories: mixed.layers.map((l) => `${l.layer} (W${l.bits})`),
        series: candidates.map((bits) => ({
          name: `W${bits}`,
          values: mixed.layers.map((l) => l.kl[bits] ?? null),
        })),
        yName: 'KL(FP32 || quantized)',
        log: true,
      }),
    };
  }
  return charts;
}
