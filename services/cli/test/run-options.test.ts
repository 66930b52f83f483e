import { DEFAULT_CONFIG, RUN_OPTION_KEYS, runOption } from '@dfq/contract';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addRunOptions, runSettings } from '../src/run-options.js';

/** A `dfq run`-like command that throws instead of exiting. */
function parse(argv: string[]) {
  const command = addRunOptions(new Command('run').exitOverride().configureOutput({ writeErr: () => {} }));
  command.parse(['--model', 'm.json', ...argv], { from: 'user' });
  return runSettings(command);
}

describe('the CLI flags derived from the run-option table', () => {
  it('default to the table’s defaults', () => {
    expect(parse([])).toEqual(DEFAULT_CONFIG);
  });

  it('set every option to its sample value', () => {
    const argv = RUN_OPTION_KEYS.flatMap((k) => runOption(k).toArgs(runOption(k).sample));
    const settings = parse(argv);
    for (const k of RUN_OPTION_KEYS) expect(settings[k], k).toEqual(runOption(k).sample);
  });

  it('take a bare --eval as the default dataset directory', () => {
    expect(parse(['--eval']).evalDir).toBe(runOption('evalDir').sample);
  });

  it('refuse a value out of bounds, saying what is expected', () => {
    expect(() => parse(['--w-bits', '17'])).toThrow(/--w-bits.*expected an integer from 1 to 16/);
    expect(() => parse(['--input-std', '0.3,-1'])).toThrow(/--input-std.*positive numbers/);
    expect(() => parse(['--acc-bits', '8'])).toThrow(/--acc-bits/);
  });

  it('list every option in the help', () => {
    const help = addRunOptions(new Command('run')).helpInformation();
    for (const k of RUN_OPTION_KEYS) expect(help).toContain(runOption(k).flag);
  });
});
