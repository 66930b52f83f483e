import { existsSync } from 'node:fs';
import {
  checkRunSettings,
  fromServiceOptions,
  RunOptionError,
  type RunOptions,
  runOptionsSchema,
  serviceOptionName,
} from '@dfq/contract';
import { z } from 'zod';
import { badRequest } from './http-error.js';

/** Validates a client's run options (every field optional) into the options a run carries. */
export function parseRunOptions(raw: unknown, evalDir: string): RunOptions {
  const parsed = runOptionsSchema.safeParse(raw ?? {});
  if (!parsed.success) throw badRequest(`invalid run options: ${z.prettifyError(parsed.error)}`);
  // Evaluation reads the server's copy of the test set: say so now rather than fail the run later.
  if (parsed.data.evaluate && !existsSync(evalDir)) {
    throw badRequest(
      'options.evaluate needs the evaluation data set, which is not installed on the server (DFQ_EVAL_DIR)',
    );
  }
  try {
    checkRunSettings(fromServiceOptions(parsed.data, { evalDir }));
  } catch (err) {
    if (err instanceof RunOptionError)
      throw badRequest(`invalid run options: ${err.phrase(serviceOptionName)}`);
    throw err;
  }
  return parsed.data;
}

/** The `options` form field of a multipart request: a JSON object, or absent for the defaults. */
export function parseOptionsField(text: string | undefined, evalDir: string): RunOptions {
  if (text === undefined || text.trim() === '') return parseRunOptions({}, evalDir);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw badRequest(`form field "options" is not valid JSON: ${(err as Error).message}`);
  }
  return parseRunOptions(raw, evalDir);
}
