import { Resvg } from '@resvg/resvg-js';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { barChart, cardCharts, frontierChart, histogramChart, type RenderedChart } from '../src/index.js';

/** Decodes the PNG and parses the SVG with real decoders; returns the PNG's size and how many pixels are not white. */
async function check(chart: RenderedChart): Promise<{ width: number; height: number; inked: number }> {
  const { data, info } = await sharp(Buffer.from(chart.png)).raw().toBuffer({ resolveWithObject: true });
  let inked = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    if ((data[i] as number) < 200 || (data[i + 1] as number) < 200 || (data[i + 2] as number) < 200) inked++;
  }
  expect(chart.svg.startsWith('<svg')).toBe(true);
  const parsed = new Resvg(chart.svg);
  expect([parsed.width, parsed.height]).toEqual([info.width, info.height]);
  return { width: info.width, height: info.height, inked };
}

describe('charts rendered without a browser', () => {
  it('draws grouped bars whose labels are in the SVG and whose ink is in the PNG', async () => {
    const chart = barChart({
      title: 'KL per layer',
      categories: ['stem_conv', 'block1_conv', 'fc'],
      series: [
        { name: 'W2', values: [0.06, 0.1, 0.05] },
        { name: 'W8', values: [4e-7, 3e-7, null] },
      ],
      yName: 'KL',
      log: true,
    });
    const { width, height, inked } = await check(chart);
    expect([width, height]).toEqual([900, 420]);
    expect(inked).toBeGreaterThan(2000);
    for (const text of ['stem_conv', 'block1_conv', 'fc', 'W2', 'W8', 'KL per layer'])
      expect(chart.svg).toContain(text);
    // More bars, more ink: the picture shows the data, not only axes.
    const fewer = await check(
      barChart({
        title: 'KL per layer',
        categories: ['stem_conv', 'block1_conv', 'fc'],
        series: [{ name: 'W2', values: [0.06, null, null] }],
        yName: 'KL',
        log: true,
      }),
    );
    expect(fewer.inked).toBeLessThan(inked);
  });

  it('draws a frontier with its chosen point and a histogram with its clipping range', async () => {
    const frontier = frontierChart({
      title: 'top-1 against size',
      xName: 'bytes',
      yName: 'top-1 (%)',
      series: [
        {
          name: 'mixed',
          points: [
            { x: 40_000, y: 90.1 },
            { x: 60_000, y: 91.5 },
          ],
        },
      ],
      chosen: { x: 57_000, y: 91.6, label: 'budget' },
    });
    expect((await check(frontier)).inked).toBeGreaterThan(1000);
    expect(frontier.svg).toContain('budget');
    const histogram = histogramChart({
      title: 'layer1 output',
      counts: [0, 5, 50, 500, 20, 1],
      low: -1,
      high: 5,
      range: { min: -0.5, max: 4 },
    });
    expect((await check(histogram)).height).toBe(300);
  });

  it('draws the value histograms of the three tensors with the lowest SQNR, each with its range', () => {
    const layer = (name: string, sqnr: number) => ({
      name,
      op: 'conv2d',
      weightBits: 8,
      activationBits: 4,
      activationRange: { min: 0, max: sqnr / 10 },
      weightMaxAbsError: 0.01,
      activationSqnrDb: sqnr,
      activationHistogram: { low: -1, high: 9, counts: Array.from({ length: 64 }, (_, i) => 64 - i) },
      accumulator: null,
    });
    const charts = cardCharts(
      [layer('ok', 40), layer('bad', 12), layer('worse', 9), layer('fine', 30), layer('worst', 5)],
      null,
    );
    const histograms = Object.keys(charts).filter((k) => k.startsWith('activation-histogram-'));
    expect(histograms.sort()).toEqual(
      ['activation-histogram-bad', 'activation-histogram-worse', 'activation-histogram-worst'].sort(),
    );
    expect(charts['activation-histogram-worst']?.title).toMatch(/worst: .* A4 range kept \(SQNR 5\.0 dB\)/);
  });

  it('gives the card its SQNR chart, and a frontier and a sensitivity chart only for a mixed-precision run', () => {
    const layer = (name: string, sqnr: number | null) => ({
      name,
      op: 'conv2d',
      weightBits: 4,
      activationBits: 8,
      activationRange: { min: 0, max: 1 },
      weightMaxAbsError: 0.01,
      activationSqnrDb: sqnr,
      accumulator: null,
    });
    const uniform = cardCharts([layer('a', 30), layer('b', null)], null);
    expect(Object.keys(uniform)).toEqual(['activation-sqnr']);
    expect(uniform['activation-sqnr']?.chart.svg).toContain('a (A8)');
    expect(uniform['activation-sqnr']?.chart.svg).not.toContain('b (A8)');
    const mixed = cardCharts([layer('a', 30)], {
      bits: { a: 4 },
      layers: [
        {
          layer: 'a',
          bits: 4,
          parameters: 10,
          kl: { 2: 0.1, 4: 0.01, 8: 1e-5 },
          hessianTracePerWeight: null,
        },
      ],
      budgetBytes: 5,
      bytes: 5,
      uniformBytes: { w4: 5, w8: 10, fp32: 40 },
      bops: 400,
      uniformBops: { w4: 400, w8: 800 },
      budgetBops: null,
      images: 4,
      estimatedKl: 0.01,
      agreement: 1,
      searched: [],
      frontier: [
        { bytes: 3, agreement: 0.5 },
        { bytes: 5, agreement: 1 },
        { bytes: 10, agreement: 1 },
      ],
      solver: 'HiGHS',
      seconds: 1,
    });
    expect(Object.keys(mixed)).toEqual([
      'activation-sqnr',
      'mixed-precision-frontier',
      'mixed-precision-sensitivity',
    ]);
    expect(mixed['mixed-precision-frontier']?.chart.svg).toContain('chosen');
    expect(mixed['mixed-precision-sensitivity']?.chart.svg).toContain('a (W4)');
  });
});
