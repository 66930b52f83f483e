import { Resvg } from '@resvg/resvg-js';
import * as echarts from 'echarts';

/** A chart as SVG text (for pages and the API) and PNG bytes (for viewers that show no SVG). */
export interface RenderedChart {
  svg: string;
  png: Uint8Array;
}

const WIDTH = 900;
const HEIGHT = 420;
/** Colour-blind-safe (Okabe-Ito) series colours. */
const COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00'];

/** Renders an ECharts option server-side (no browser, no canvas) to SVG, then to PNG with resvg. */
function render(option: echarts.EChartsOption, height = HEIGHT): RenderedChart {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height });
  try {
    chart.setOption({
      animation: false,
      color: COLOURS,
      backgroundColor: '#ffffff',
      textStyle: { fontFamily: 'DejaVu Sans, Arial, sans-serif' },
      ...option,
    });
    const svg = chart.renderToSVGString();
    const png = new Resvg(svg, { background: '#ffffff', font: { loadSystemFonts: true } }).render().asPng();
    return { svg, png };
  } finally {
    chart.dispose();
  }
}

export interface BarSeries {
  name: string;
  values: (number | null)[];
}

/** Grouped bars over categories (layers), optionally on a log axis for figures spanning decades. */
export function barChart(options: {
  title: string;
  categories: string[];
  series: BarSeries[];
  yName: string;
  log?: boolean;
}): RenderedChart {
  // ECharts hangs bars from the top of a log axis; decades are drawn instead as bars of log10(value)
  // above the lowest decade, labelled 1e-k. Zero or negative values (no logarithm) are left out.
  const positive = options.series.flatMap((s) => s.values.filter((v): v is number => v !== null && v > 0));
  const floor = options.log && positive.length > 0 ? Math.floor(Math.log10(Math.min(...positive))) : 0;
  const value = (v: number | null) =>
    v === null ? null : options.log ? (v > 0 ? Math.log10(v) - floor : null) : v;
  return render({
    title: { text: options.title, left: 'center', textStyle: { fontSize: 15 } },
    legend: { top: 28 },
    grid: { left: 80, right: 20, top: 70, bottom: 110 },
    xAxis: {
      type: 'category',
      data: options.categories,
      axisLabel: { rotate: 35, interval: 0, fontSize: 11 },
    },
    yAxis: options.log
      ? {
          type: 'value',
          name: `${options.yName} (log scale)`,
          nameTextStyle: { align: 'left' },
          min: 0,
          interval: 1,
          axisLabel: { formatter: (v: number) => `1e${v + floor}` },
        }
      : { type: 'value', name: options.yName, nameTextStyle: { align: 'left' } },
    series: options.series.map((s) => ({ type: 'bar', name: s.name, data: s.values.map(value) })),
  });
}

export interface FrontierPoint {
  /** Weight bytes. */
  x: number;
  /** Top-1 (%), or agreement (%). */
  y: number;
  label?: string;
}

/** Accuracy against size: each named series a line of points; `chosen` is marked apart. */
export function frontierChart(options: {
  title: string;
  xName: string;
  yName: string;
  series: { name: string; points: FrontierPoint[]; line?: boolean }[];
  chosen?: FrontierPoint | null;
}): RenderedChart {
  const series: echarts.SeriesOption[] = options.series.map((s) => ({
    type: s.line === false ? 'scatter' : 'line',
    name: s.name,
    symbolSize: 9,
    data: [...s.points].sort((a, b) => a.x - b.x).map((p) => ({ value: [p.x, p.y], name: p.label ?? '' })),
    label: { show: s.line === false, formatter: '{b}', position: 'top', fontSize: 11 },
  }));
  if (options.chosen)
    series.push({
      type: 'scatter',
      name: 'chosen',
      symbol: 'diamond',
      symbolSize: 16,
      data: [{ value: [options.chosen.x, options.chosen.y], name: options.chosen.label ?? 'chosen' }],
      label: { show: true, formatter: '{b}', position: 'right', fontSize: 11 },
    });
  return render({
    title: { text: options.title, left: 'center', textStyle: { fontSize: 15 } },
    legend: { top: 36 },
    grid: { left: 80, right: 40, top: 80, bottom: 60 },
    xAxis: { type: 'value', name: options.xName, nameLocation: 'middle', nameGap: 32, scale: true },
    yAxis: { type: 'value', name: options.yName, scale: true },
    series,
  });
}

/** A histogram: counts over equal bins from `low` to `high`, marking the calibrated clipping range. */
export function histogramChart(options: {
  title: string;
  counts: number[];
  low: number;
  high: number;
  range: { min: number; max: number };
}): RenderedChart {
  const width = (options.high - options.low) / Math.max(1, options.counts.length);
  const centres = options.counts.map((_, i) => options.low + (i + 0.5) * width);
  return render(
    {
      title: { text: options.title, left: 'center', textStyle: { fontSize: 14 } },
      grid: { left: 80, right: 20, top: 50, bottom: 50 },
      xAxis: {
        type: 'value',
        min: options.low,
        max: options.high,
        // The axis ends at the data's extremes: label them short, not with every float digit.
        axisLabel: { formatter: (v: number) => String(Number(v.toPrecision(3))) },
        name: 'value',
        nameLocation: 'middle',
        nameGap: 28,
      },
      yAxis: { type: 'value', name: 'count' },
      series: [
        {
          type: 'bar',
          barWidth: '100%',
          data: centres.map((c, i) => [c, options.counts[i] as number]),
          markLine: {
            symbol: 'none',
            label: { formatter: '{b}' },
            data: [
              { name: 'min', xAxis: options.range.min },
              { name: 'max', xAxis: options.range.max },
            ],
          },
        },
      ],
    },
    300,
  );
}
