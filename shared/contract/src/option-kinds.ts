import { z } from 'zod';

/**
 * One run option: how its value is checked (zod, one set of bounds for the CLI and a service),
 * read from and written to a command line, and carried to a shared service.
 */
export interface RunOption<T> {
  /** The long flag ('--w-bits'); with `arg`, commander's spec. */
  flag: string;
  /** The argument placeholder ('<n>', '[dir]'), or null for a switch. */
  arg: string | null;
  help: string;
  /** Valid values, bounds included. */
  schema: z.ZodType<T>;
  /** What a valid value looks like, for error messages and help. */
  expect: string;
  default: T;
  /** A valid value other than the default: tests submit it to check that it reaches the run. */
  sample: T;
  /** A command-line argument -> value (before the schema checks it). */
  parse(text: string): T;
  /** The arguments that set `value` (none for the default of a switch). */
  toArgs(value: T): string[];
  /** Commander's raw value when it is not a parsed argument (a bare optional flag: `true`). */
  fromBare?(raw: true): T;
  choices?: readonly string[];
  /** Why the option never reaches a shared service (a path on the caller's machine). */
  localOnly?: string;
  /** How a shared service sees it, where that differs: another field name or form, tighter bounds. */
  service?: ServiceForm<T>;
}

export interface ServiceForm<T> {
  /** The field's name in a service request (default: the option's key). */
  key?: string;
  /** The field's schema there (default: the option's). */
  schema?: z.ZodType;
  default?: unknown;
  /** Why a service's form or bounds differ from a local run's. */
  why: string;
  encode?(value: T): unknown;
  /** The service value -> the run's value, given where the server keeps its evaluation data. */
  decode?(value: unknown, server: { evalDir: string | null }): T;
}

const withFlag = (flag: string, text: string) => [flag, text];

export function int(flag: string, min: number, max: number) {
  return {
    arg: '<n>',
    schema: z.number().int().min(min).max(max),
    expect: `an integer from ${min} to ${max}`,
    parse: Number,
    toArgs: (v: number) => withFlag(flag, String(v)),
  };
}

/** An integer, or null spelled `nullWord` on the command line (or left out, when nullWord is undefined). */
export function intOrNull(flag: string, min: number, max: number, nullWord?: string) {
  return {
    arg: '<n>',
    schema: z.number().int().min(min).max(max).nullable(),
    expect: `an integer from ${min} to ${max}${nullWord ? ` or '${nullWord}'` : ''}`,
    parse: (text: string) => (nullWord !== undefined && text === nullWord ? null : Number(text)),
    toArgs: (v: number | null) =>
      v === null ? (nullWord === undefined ? [] : withFlag(flag, nullWord)) : withFlag(flag, String(v)),
  };
}

export function between(flag: string, min: number, max: number) {
  return {
    arg: '<x>',
    schema: z.number().min(min).max(max),
    expect: `a number from ${min} to ${max}`,
    parse: Number,
    toArgs: (v: number) => withFlag(flag, String(v)),
  };
}

export function positive(flag: string, max: number) {
  return {
    arg: '<x>',
    schema: z.number().positive().max(max),
    expect: `a number above 0, at most ${max}`,
    parse: Number,
    toArgs: (v: number) => withFlag(flag, String(v)),
  };
}

export function positiveOrNull(flag: string, max: number) {
  return {
    arg: '<x>',
    schema: z.number().positive().max(max).nullable(),
    expect: `a number above 0, at most ${max}`,
    parse: Number,
    toArgs: (v: number | null) => (v === null ? [] : withFlag(flag, String(v))),
  };
}

export function choice<const C extends readonly [string, ...string[]]>(flag: string, choices: C) {
  return {
    arg: '<name>',
    schema: z.enum(choices),
    expect: `one of ${choices.join(', ')}`,
    choices,
    parse: (text: string) => text as C[number],
    toArgs: (v: C[number]) => withFlag(flag, v),
  };
}

export function intChoice<const C extends readonly [number, ...number[]]>(flag: string, choices: C) {
  const [first, ...rest] = choices.map((c) => z.literal(c));
  return {
    arg: '<n>',
    schema: (rest.length ? z.union([first, ...rest] as never) : first) as z.ZodType<C[number]>,
    expect: `one of ${choices.join(', ')}`,
    choices: choices.map(String),
    parse: (text: string) => Number(text) as C[number],
    toArgs: (v: C[number]) => withFlag(flag, String(v)),
  };
}

/** On by default; `--no-<name>` turns it off. */
export function onSwitch(flag: `--no-${string}`) {
  return {
    arg: null,
    schema: z.boolean(),
    expect: 'true or false',
    parse: () => false,
    toArgs: (v: boolean) => (v ? [] : [flag]),
  };
}

/** "0.286" or "0.485,0.456,0.406"; null when left out. */
export function numberList(flag: string, { positive, maxLength }: { positive: boolean; maxLength: number }) {
  const item = positive ? z.number().positive().max(1e6) : z.number().min(-1e6).max(1e6);
  return {
    arg: '<list>',
    schema: z.array(item).min(1).max(maxLength).nullable(),
    expect: `1 to ${maxLength} comma-separated ${positive ? 'positive ' : ''}numbers`,
    parse: (text: string) => text.split(',').map((s) => (s.trim() === '' ? Number.NaN : Number(s))),
    toArgs: (v: number[] | null) => (v === null ? [] : withFlag(flag, v.join(','))),
  };
}

/** Layer names, "conv1,fc"; empty when left out. */
export function nameList(flag: string, maxLength: number) {
  return {
    arg: '<layers>',
    schema: z.array(z.string().min(1).max(200)).max(maxLength),
    expect: `up to ${maxLength} comma-separated layer names`,
    parse: (text: string) => text.split(',').map((s) => s.trim()),
    toArgs: (v: string[]) => (v.length === 0 ? [] : withFlag(flag, v.join(','))),
  };
}

/** Bits of one layer: its weights, its output activation, or both. */
export interface LayerBits {
  weightBits?: number;
  activationBits?: number;
}

/** "conv1=4/8,fc=8,stem=/6": per layer, weight bits and/or output activation bits; empty when left out. */
export function layerBitsMap(flag: string, maxLength: number) {
  const bits = (min: number) => z.number().int().min(min).max(16).optional();
  return {
    arg: '<layer=W/A,...>',
    schema: z
      .record(z.string().min(1).max(200), z.object({ weightBits: bits(1), activationBits: bits(2) }).strict())
      .refine((r) => Object.keys(r).length <= maxLength, `at most ${maxLength} layers`),
    expect: `up to ${maxLength} comma-separated layer=W/A entries (W weight bits 1-16, A activation bits 2-16; either may be left out)`,
    parse: (text: string): Record<string, LayerBits> =>
      Object.fromEntries(
        text.split(',').map((entry) => {
          const [name = '', spec = ''] = entry.split('=').map((s) => s.trim());
          // "fc" or "fc=" sets nothing: NaN makes the schema refuse it with the expected form.
          if (spec === '' || spec === '/') return [name, { weightBits: Number.NaN }];
          const [w = '', a = ''] = spec.split('/');
          const value = (s: string) => (s.trim() === '' ? undefined : Number(s));
          return [
            name,
            {
              ...(value(w) !== undefined ? { weightBits: value(w) } : {}),
              ...(value(a) !== undefined ? { activationBits: value(a) } : {}),
            },
          ];
        }),
      ),
    toArgs: (v: Record<string, LayerBits>) =>
      Object.keys(v).length === 0
        ? []
        : withFlag(
            flag,
            Object.entries(v)
              .map(
                ([name, b]) =>
                  `${name}=${b.weightBits ?? ''}${b.activationBits !== undefined ? `/${b.activationBits}` : ''}`,
              )
              .join(','),
          ),
  };
}

/** A path on the caller's machine; null when left out. */
export function localPath(flag: string, why: string) {
  return {
    arg: '<dir>',
    schema: z.string().min(1).nullable(),
    expect: 'a path',
    parse: (text: string) => text,
    toArgs: (v: string | null) => (v === null ? [] : withFlag(flag, v)),
    localOnly: why,
  };
}
