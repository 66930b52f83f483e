import { calibrateStage, type SynthesisOutput } from '@dfq/core';
import type { StageJobData } from '@dfq/queue';
import type { SandboxedJob } from 'bullmq';
import { onlyChildValue } from './child-value.js';
import { runStage } from './stage-processor.js';

/** Sandboxed processor of the calibrate queue: images.npy -> profile.json. Passes the synthesis output on. */
export default function calibrate(job: SandboxedJob<StageJobData>) {
  return runStage(job, async (config, env) => {
    const synthesis = await onlyChildValue<SynthesisOutput>(job);
    const calibration = await calibrateStage(config, synthesis, env);
    return { synthesis, calibration };
  });
}
