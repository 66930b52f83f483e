import { z } from 'zod';
import {
  DEFAULT_CONFIG,
  RUN_OPTION_KEYS,
  type RunConfig,
  type RunOptionKey,
  type RunSettings,
  runOption,
} from './run-options.js';

/** The options a shared service accepts: all but the local-only ones. */
export const SERVICE_OPTION_KEYS = RUN_OPTION_KEYS.filter((k) => !runOption(k).localOnly);

/** An option's field name in a service request. */
export function serviceKey(key: RunOptionKey): string {
  return runOption(key).service?.key ?? key;
}

/** How a service's messages name an option: its path in the request body (RunOptionError.phrase). */
export function serviceOptionName(key: RunOptionKey): string {
  return `options.${serviceKey(key)}`;
}

/**
 * The options a client may set for a queued run, as the service receives them: derived from
 * RUN_OPTIONS, with each option's service form and bounds; every field optional, defaulted.
 */
export const runOptionsSchema = z
  .object(
    Object.fromEntries(
      SERVICE_OPTION_KEYS.map((k) => {
        const row = runOption(k);
        const schema = (row.service?.schema ?? row.schema) as z.ZodType;
        const fallback = row.service && 'default' in row.service ? row.service.default : row.default;
        return [serviceKey(k), schema.default(fallback as never)];
      }),
    ),
  )
  .strict();

/** A queued run's options as they travel through the queue (JSON, service form). */
export type RunOptions = Record<string, unknown>;

/** A local run's settings in the form a service takes (`dfq submit`): local-only options left out. */
export function toServiceOptions(settings: RunSettings): RunOptions {
  return Object.fromEntries(
    SERVICE_OPTION_KEYS.map((k) => {
      const encode = runOption(k).service?.encode;
      return [serviceKey(k), encode ? encode(settings[k]) : settings[k]];
    }),
  );
}

/** Validated service options -> the run's settings; local-only options take their defaults. */
export function fromServiceOptions(options: RunOptions, server: { evalDir: string | null }): RunSettings {
  const parsed = runOptionsSchema.parse(options) as RunOptions;
  const settings: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const k of SERVICE_OPTION_KEYS) {
    const decode = runOption(k).service?.decode;
    const value = parsed[serviceKey(k)];
    settings[k] = decode ? decode(value, server) : value;
  }
  return settings as RunSettings;
}

/** Turns validated options into a RunConfig for a model and output inside the store. */
export function toRunConfig(
  options: RunOptions,
  paths: { modelPath: string; outDir: string; evalDir: string | null },
): RunConfig {
  return {
    ...fromServiceOptions(options, { evalDir: paths.evalDir }),
    modelPath: paths.modelPath,
    outDir: paths.outDir,
  };
}
