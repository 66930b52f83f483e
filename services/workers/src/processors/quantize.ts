import { type CalibrationOutput, quantizeStage, type SynthesisOutput } from '@dfq/core';
import type { StageJobData } from '@dfq/queue';
import type { SandboxedJob } from 'bullmq';
import { onlyChildValue } from './child-value.js';
import { runStage } from './stage-processor.js';

/** Sandboxed processor of the quantize queue: profile -> quantized model, evaluation, report.json. */
export default function quantize(job: SandboxedJob<StageJobData>) {
  return runStage(job, async (config, env) => {
    const upstream = await onlyChildValue<{ synthesis: SynthesisOutput; calibration: CalibrationOutput }>(
      job,
    );
    const report = await quantizeStage(
      config,
      { ...upstream, startedAt: job.data.createdAt, startedAtMs: Date.parse(job.data.createdAt) },
      env,
    );
    // The return value lands in Redis: keep it to references and headline figures.
    return {
      report: `${job.data.prefix}/report.json`,
      evaluation: report.evaluation,
      totalSeconds: report.totalSeconds,
    };
  });
}
