import { CronExpressionParser } from 'cron-parser';
import { badRequest } from '../http-error.js';

export function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw badRequest(`unknown time zone "${timezone}"; use an IANA name such as UTC or Europe/Berlin`);
  }
}

/**
 * Parses the pattern as BullMQ's job schedulers will (cron-parser), and refuses one that can fire
 * more often than once a minute anywhere in its cycle. With the seconds field at one value a pattern
 * fires at most once in any minute, and once a minute is then the most it can; comparing sample fire
 * times instead would miss patterns dense in one stretch of the cycle only ("0-28,59 1/2 * * * *").
 */
export function checkCron(cron: string, timezone: string): void {
  let seconds: readonly number[];
  try {
    seconds = CronExpressionParser.parse(cron, { tz: timezone }).fields.second.values;
  } catch (err) {
    throw badRequest(`invalid cron pattern "${cron}": ${(err as Error).message}`);
  }
  if (seconds.length !== 1) {
    throw badRequest(
      `cron pattern "${cron}" fires up to ${seconds.length} times in a minute; schedules may fire at most once a minute: use a 5-field pattern, or one value in the seconds field`,
    );
  }
}
