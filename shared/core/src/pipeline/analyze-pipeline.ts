import { type RunConfig, resolveRunConfig } from '@dfq/contract';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_SENSITIVITY, measureSensitivity, type SensitivityReport } from '../analysis/sensitivity.js';
import { ArtifactStore } from '../artifacts/artifact-store.js';
import type { CalibrationProfile } from '../calibration/calibrate.js';
import { decodeNpy } from '../data/npy.js';
import { sensitivityCharts } from '../report/sensitivity-charts.js';
import { calibrateStage } from './calibrate-stage.js';
import { prepareModel } from './prepare-model.js';
import { peakRssBytes, type RunEvent, type StageEnv } from './stage-env.js';
import { synthesizeStage } from './synthesize-stage.js';

export interface AnalysisReport {
  model: string;
  synthesis: { method: string; images: number; seconds: number };
  calibration: { method: string };
  sensitivity: SensitivityReport;
  /** Layers from most to least sensitive at the lowest candidate bits (measured KL). */
  ranking: string[];
  artifacts: { sensitivity: string; charts: Record<string, { svg: string; png: string }> };
  seconds: number;
  peakRssBytes: number;
}

/**
 * `dfq analyze`: the model's per-layer sensitivity on synthetic images, with no quantized model
 * made. Synthesizes and calibrates as a run would, then measures every layer alone at every
 * candidate weight and activation bit width (output KL and top-1 agreement with FP32) and each
 * layer's Hessian trace (HAWQ-V2), and writes sensitivity.json and its charts to config.outDir.
 */
export async function runAnalysis(
  options: RunConfig,
  onEvent: (e: RunEvent) => void = () => {},
): Promise<AnalysisReport> {
  const started = performance.now();
  const config = resolveRunConfig(options);
  const env: StageEnv = { store: new ArtifactStore(config.outDir), prefix: '', onEvent };
  const synthesis = await synthesizeStage(config, env);
  const calibration = await calibrateStage(config, synthesis, env);
  const { folding, plan, graph } = await prepareModel(config);
  const profile = JSON.parse(
    (await env.store.get(calibration.profile)).toString('utf8'),
  ) as CalibrationProfile;
  const synthetic = decodeNpy(await env.store.get(synthesis.images), synthesis.images.key);
  const images = tf.tensor4d(synthetic.data, synthetic.shape as [number, number, number, number]);
  const say = (message: string) => onEvent({ kind: 'phase', phase: 'sensitivity', message });
  say(
    `each of ${plan.weightBits.size} layers alone at W${DEFAULT_SENSITIVITY.weightBits.join('/')} and each of ${plan.activationBits.size} activations at A${DEFAULT_SENSITIVITY.activationBits.join('/')} on ${synthetic.shape[0]} synthetic images, and ${DEFAULT_SENSITIVITY.probes} Hessian-trace probes`,
  );
  let sensitivity: SensitivityReport;
  try {
    sensitivity = await measureSensitivity(folding.graph, images, new Map(Object.entries(profile.ranges)), {
      weightBits: [...DEFAULT_SENSITIVITY.weightBits],
      activationBits: [...DEFAULT_SENSITIVITY.activationBits],
      probes: DEFAULT_SENSITIVITY.probes,
      seed: config.seed,
      onProgress: (done, total, what) => {
        if (done === total || done % 10 === 0) say(`${done}/${total} (${what})`);
      },
    });
  } finally {
    images.dispose();
  }
  const lowest = Math.min(...sensitivity.weightBits);
  const klAt = (l: SensitivityReport['layers'][number]) =>
    l.candidates.find((c) => c.bits === lowest)?.kl ?? 0;
  const ranking = [...sensitivity.layers].sort((a, b) => klAt(b) - klAt(a)).map((l) => l.layer);
  const sensitivityKey = 'analysis/sensitivity.json';
  await env.store.put(sensitivityKey, `${JSON.stringify(sensitivity, null, 2)}\n`);
  const charts: AnalysisReport['artifacts']['charts'] = {};
  for (const [name, chart] of Object.entries(sensitivityCharts(sensitivity))) {
    const svg = `analysis/${name}.svg`;
    const png = `analysis/${name}.png`;
    await env.store.put(svg, chart.svg);
    await env.store.put(png, chart.png);
    charts[name] = { svg, png };
  }
  const report: AnalysisReport = {
    model: graph.name,
    synthesis: {
      method: synthesis.summary.method,
      images: synthesis.summary.images,
      seconds: synthesis.summary.seconds,
    },
    calibration: { method: config.resolved.rangeEstimator },
    sensitivity,
    ranking,
    artifacts: { sensitivity: sensitivityKey, charts },
    seconds: (performance.now() - started) / 1000,
    peakRssBytes: peakRssBytes(),
  };
  await env.store.put('analysis/analysis.json', `${JSON.stringify(report, null, 2)}\n`);
  return report;
}
