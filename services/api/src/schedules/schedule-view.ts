import type { ScheduleInfo } from '@dfq/queue';
import { modelIdOf } from '../keys.js';

export function scheduleView(s: ScheduleInfo) {
  return {
    scheduleId: s.scheduleId,
    cron: s.cron,
    timezone: s.timezone,
    modelId: modelIdOf(s.modelKey),
    options: s.options,
    next: s.next === null ? null : new Date(s.next).toISOString(),
  };
}
