import { CronExpressionParser } from 'cron-parser';
import { badRequest } from '../http-error.js';

/** Runs are minutes of CPU each: a schedule may not fire more often than this. */
export const MIN_INTERVAL_MS = 60_000;

export function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw badRequest(`unknown time zone "${timezone}"; use an IANA name such as UTC or Europe/Berlin`);
  }
}

/** Parses the pattern as BullMQ's job schedulers will, and refuses one that fires too often. */
export function checkCron(cron: string, timezone: string): void {
  let first: number;
  let second: number;
  try {
    const times = CronExpressionParser.parse(cron, { tz: timezone });
    first = times.next().getTime();
    second = times.next().getTime();
  } catch (err) {
    throw badRequest(`invalid cron pattern "${cron}": ${(err as Error).message}`);
  }
  if (second - first < MIN_INTERVAL_MS) {
    throw badRequest(`cron pattern "${cron}" fires more often than once a minute`);
  }
}
