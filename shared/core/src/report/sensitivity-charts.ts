import type { SensitivityReport } from '../analysis/sensitivity.js';
import { barChart, type RenderedChart } from './charts.js';

/**
 * The pictures of a sensitivity report: per-layer output KL at each candidate weight bit width (log
 * scale), per-layer weight SQNR, and, where probed, HAWQ's Hessian-based estimate beside the KL.
 */
export function sensitivityCharts(report: SensitivityReport): Record<string, RenderedChart> {
  const layers = report.layers.map((l) => l.layer);
  const at = (
    bits: number,
    pick: (c: SensitivityReport['layers'][number]['candidates'][number]) => number | null,
  ) =>
    report.layers.map((l) => {
      const c = l.candidates.find((x) => x.bits === bits);
      return c ? pick(c) : null;
    });
  const charts: Record<string, RenderedChart> = {
    'sensitivity-kl': barChart({
      title: 'Output KL with each layer quantized alone (synthetic images)',
      categories: layers,
      series: report.weightBits.map((bits) => ({ name: `W${bits}`, values: at(bits, (c) => c.kl) })),
      yName: 'KL(FP32 || quantized)',
      log: true,
    }),
    'weight-sqnr': barChart({
      title: 'Weight SQNR per layer (round to nearest, per-channel)',
      categories: layers,
      series: report.weightBits.map((bits) => ({ name: `W${bits}`, values: at(bits, (c) => c.sqnr) })),
      yName: 'SQNR (dB)',
    }),
  };
  if (report.probes > 0) {
    const lowest = Math.min(...report.weightBits);
    charts['hessian-estimate'] = barChart({
      title: `Hessian trace × squared weight error at W${lowest} (HAWQ-V2) beside the measured KL`,
      categories: layers,
      series: [
        { name: 'Hessian estimate', values: at(lowest, (c) => c.hessianEstimate) },
        { name: 'measured KL', values: at(lowest, (c) => c.kl) },
      ],
      yName: 'loss increase',
      log: true,
    });
  }
  return charts;
}
