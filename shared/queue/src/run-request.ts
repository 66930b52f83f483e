import type { RunOptions } from '@dfq/contract';

// A queued run's options are the contract's service form: validated by its schema, turned into
// a RunConfig by toRunConfig. Re-exported so queue users need one import.
export { type RunOptions, runOptionsSchema, toRunConfig } from '@dfq/contract';

/** The data every stage job of a run carries: references, never tensors or images. */
export interface StageJobData {
  runId: string;
  tenant: string;
  /** Store key prefix of the run's artifacts: `<tenant>/runs/<runId>`. */
  prefix: string;
  /** Store key of the uploaded model.json. */
  modelKey: string;
  options: RunOptions;
  createdAt: string;
}
