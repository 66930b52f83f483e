/** The BullMQ queues of a run's three stages, and the queue job schedulers fire into. */
export const STAGE_QUEUES = {
  synthesize: 'dfq-synthesize',
  calibrate: 'dfq-calibrate',
  quantize: 'dfq-quantize',
} as const;

export type StageName = keyof typeof STAGE_QUEUES;

export const STAGES: StageName[] = ['synthesize', 'calibrate', 'quantize'];

export const SCHEDULE_QUEUE = 'dfq-schedules';

/** BullMQ job id of one stage of a run (custom ids may not contain ':'). */
export function stageJobId(runId: string, stage: StageName): string {
  return `${runId}-${stage}`;
}
