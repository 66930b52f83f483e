import { type CalibrationOutput, quantizeStage, reportStage, type SynthesisOutput } from '@dfq/core';
import type { StageJobData } from '@dfq/queue';
import type { SandboxedJob } from 'bullmq';
import { onlyChildValue } from './child-value.js';
import { runStage } from './stage-processor.js';

/**
 * Sandboxed processor of the quantize queue: profile -> quantized model, then the report stage
 * (overflow check, evaluation, report.json, card) on the model still in memory.
 */
export default function quantize(job: SandboxedJob<StageJobData>) {
  return runStage(job, async (config, env) => {
    const upstream = await onlyChildValue<{ synthesis: SynthesisOutput; calibration: CalibrationOutput }>(
      job,
    );
    const quantization = await quantizeStage(config, upstream, env);
    const report = await reportStage(
      config,
      {
        ...upstream,
        quantization,
        startedAt: job.data.createdAt,
        startedAtMs: Date.parse(job.data.createdAt),
      },
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
