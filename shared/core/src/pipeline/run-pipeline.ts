import { type RunConfig, resolveRunConfig } from '@dfq/contract';
import { ArtifactStore } from '../artifacts/artifact-store.js';
import { calibrateStage } from './calibrate-stage.js';
import { quantizeStage } from './quantize-stage.js';
import { reportStage } from './report-stage.js';
import type { RunReport } from './run-report.js';
import type { RunEvent, StageEnv } from './stage-env.js';
import { synthesizeStage } from './synthesize-stage.js';

/**
 * The whole data-free path in one process: model -> synthetic images -> calibration profile ->
 * quantized model -> report, through the same stages the queue workers run, with config.outDir
 * as the artifact store.
 */
export async function runPipeline(
  options: RunConfig,
  onEvent: (e: RunEvent) => void = () => {},
): Promise<RunReport> {
  const startedAtMs = Date.now();
  const startedAt = new Date(startedAtMs).toISOString();
  const config = resolveRunConfig(options);
  const env: StageEnv = { store: new ArtifactStore(config.outDir), prefix: '', onEvent };
  const synthesis = await synthesizeStage(config, env);
  const calibration = await calibrateStage(config, synthesis, env);
  const quantization = await quantizeStage(config, { synthesis, calibration }, env);
  return reportStage(config, { synthesis, calibration, quantization, startedAt, startedAtMs }, env);
}
