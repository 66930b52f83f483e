import { synthesizeStage } from '@dfq/core';
import type { StageJobData } from '@dfq/queue';
import type { SandboxedJob } from 'bullmq';
import { runStage } from './stage-processor.js';

/** Sandboxed processor of the synthesize queue: model -> images.npy (+ PNGs). */
export default function synthesize(job: SandboxedJob<StageJobData>) {
  return runStage(job, (config, env) => synthesizeStage(config, env));
}
