import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  checkRunSettings,
  DEFAULT_CONFIG,
  fromServiceOptions,
  RUN_OPTION_KEYS,
  RunOptionError,
  type RunSettings,
  resolveRunConfig,
  runOption,
  runOptionsSchema,
  SERVICE_OPTION_KEYS,
  serviceKey,
  toServiceOptions,
  WEIGHT_QUANTIZER_METHODS,
  type WeightQuantizerName,
} from '../src/index.js';

const samples = Object.fromEntries(RUN_OPTION_KEYS.map((k) => [k, runOption(k).sample])) as RunSettings;

describe('the run-option table', () => {
  it.each(RUN_OPTION_KEYS)(
    '%s: default and sample are valid, differ, and survive the command line',
    (key) => {
      const row = runOption(key);
      expect(row.schema.safeParse(row.default).success).toBe(true);
      expect(row.schema.safeParse(row.sample).success).toBe(true);
      expect(row.sample).not.toEqual(row.default);
      const args = row.toArgs(row.sample);
      expect(args[0]).toBe(row.flag);
      const back = row.arg === null ? row.sample : row.parse(args[1] as string);
      expect(back).toEqual(row.sample);
    },
  );

  it('has one flag per option', () => {
    const flags = RUN_OPTION_KEYS.map((k) => runOption(k).flag);
    expect(new Set(flags).size).toBe(flags.length);
  });

  it('keeps local paths away from services and says why', () => {
    const local = RUN_OPTION_KEYS.filter((k) => !SERVICE_OPTION_KEYS.includes(k));
    expect(local).toEqual(['cacheDir']);
    for (const k of local) expect(runOption(k).localOnly).toMatch(/\w+/);
  });
});

describe('the service form', () => {
  it('defaults every field from the table', () => {
    const parsed = runOptionsSchema.parse({});
    for (const k of SERVICE_OPTION_KEYS) {
      const expected = k === 'evalDir' ? false : DEFAULT_CONFIG[k];
      expect(parsed[serviceKey(k)], k).toEqual(expected);
    }
  });

  it('carries every service option from a local run to the run config a worker builds', () => {
    const sent = runOptionsSchema.parse(toServiceOptions(samples));
    const settings = fromServiceOptions(sent, { evalDir: '/srv/fashion-mnist' });
    for (const k of SERVICE_OPTION_KEYS) {
      if (k === 'evalDir') expect(settings.evalDir).toBe('/srv/fashion-mnist');
      else expect(settings[k], k).toEqual(samples[k]);
    }
    expect(settings.cacheDir).toBe(DEFAULT_CONFIG.cacheDir);
  });

  it('refuses unknown fields and values out of bounds, with a tighter limit where a service needs one', () => {
    expect(runOptionsSchema.safeParse({ wBits: 4 }).success).toBe(false);
    expect(runOptionsSchema.safeParse({ weightBits: 17 }).success).toBe(false);
    expect(runOptionsSchema.safeParse({ learningRate: 1e308 }).success).toBe(false);
    expect(runOption('images').schema.safeParse(5000).success).toBe(true);
    expect(runOptionsSchema.safeParse({ images: 5000 }).success).toBe(false);
    for (const k of SERVICE_OPTION_KEYS) {
      const service = runOption(k).service;
      if (service?.schema) expect(service.why, k).toMatch(/\w+/);
    }
  });

  it('documents itself as JSON Schema with every service field', () => {
    const doc = z.toJSONSchema(runOptionsSchema, { io: 'input', target: 'openapi-3.0' }) as {
      properties: Record<string, unknown>;
    };
    expect(Object.keys(doc.properties).sort()).toEqual(SERVICE_OPTION_KEYS.map(serviceKey).sort());
  });
});

describe('resolving a run', () => {
  const config = { ...DEFAULT_CONFIG, modelPath: 'm', outDir: 'o' };

  it('settles the auto range estimator by activation bits, once', () => {
    expect(resolveRunConfig({ ...config, activationBits: 4 }).resolved.rangeEstimator).toBe('mse');
    expect(resolveRunConfig({ ...config, activationBits: 8 }).resolved.rangeEstimator).toBe('minmax');
    expect(resolveRunConfig({ ...config, calibration: 'kl' }).resolved.rangeEstimator).toBe('kl');
    expect(resolveRunConfig({ ...config, firstLastBits: null }).resolved.bits.firstLastBits).toBeNull();
  });

  it('resolves --synth auto to the images its weight quantizer measured best on, and keeps an explicit choice', () => {
    const config = { ...DEFAULT_CONFIG, modelPath: 'm.json', outDir: 'o' };
    expect(config.synth).toBe('auto');
    for (const quantizer of Object.keys(WEIGHT_QUANTIZER_METHODS) as WeightQuantizerName[]) {
      expect(resolveRunConfig({ ...config, quantizer }).resolved.synthesis).toBe(
        WEIGHT_QUANTIZER_METHODS[quantizer].images,
      );
      expect(resolveRunConfig({ ...config, quantizer, synth: 'noise' }).resolved.synthesis).toBe('noise');
    }
    expect(resolveRunConfig({ ...config, quantizer: 'recon' }).resolved.synthesis).toBe('zeroq');
    expect(resolveRunConfig({ ...config, quantizer: 'rtn' }).resolved.synthesis).toBe('direct');
  });

  it('refuses real images without evaluation data, naming options in the caller’s terms', () => {
    const err = (() => {
      try {
        checkRunSettings({ ...DEFAULT_CONFIG, synth: 'real' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(RunOptionError);
    const e = err as RunOptionError;
    expect(e.message).toMatch(/^synth real .* set evalDir too$/);
    expect(e.phrase((k) => `options.${serviceKey(k)}`)).toMatch(
      /options\.synth real .* set options\.evaluate/,
    );
    expect(() => checkRunSettings({ ...DEFAULT_CONFIG, synth: 'real', evalDir: '/data' })).not.toThrow();
  });
});

describe('every service option is bounded (a tenant cannot ask for unbounded work or memory)', () => {
  // Values no option may take: the largest number, a huge list, a huge text, a huge map.
  const hostile: [string, unknown][] = [
    ['1e308', 1e308],
    ['-1e308', -1e308],
    ['a list of 100,000 numbers', new Array(100_000).fill(0.5)],
    ['a text of a million characters', 'x'.repeat(1_000_000)],
    [
      'a map of 100,000 entries',
      Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`l${i}`, { weightBits: 4 }])),
    ],
  ];
  it.each(SERVICE_OPTION_KEYS)('%s refuses each of them', (key) => {
    for (const [what, value] of hostile) {
      const parsed = runOptionsSchema.safeParse({ [serviceKey(key)]: value });
      expect(parsed.success, `${serviceKey(key)} = ${what}`).toBe(false);
    }
  });
});
