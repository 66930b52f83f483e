import { RUN_OPTION_KEYS, RUN_OPTIONS, type RunOptionKey, type RunSettings, runOption } from '@dfq/contract';
import { backendFromEnv, checkRunSettings, type RunConfig } from '@dfq/core';
import { type Command, InvalidArgumentError, Option } from 'commander';

/** The flag that sets an option, as the CLI names it in errors. */
export function flagOf(key: RunOptionKey): string {
  return RUN_OPTIONS[key].flag;
}

/** Stands for a parsed null: commander turns a parser's null into ''. */
const NULL = Symbol('null');

/** Commander's option for one row of the run-option table: parser, bounds and default from the row. */
function commanderOption(key: RunOptionKey): Option {
  const row = runOption(key);
  const option = new Option(row.arg ? `${row.flag} ${row.arg}` : row.flag, row.help);
  if (row.arg === null) return option; // a switch: commander's --no-x defaults the value to true
  if (row.choices) option.choices(row.choices);
  option.argParser((text: string) => {
    const value = row.schema.safeParse(row.parse(text));
    if (!value.success) throw new InvalidArgumentError(`expected ${row.expect}`);
    return value.data === null ? NULL : value.data;
  });
  if (row.default !== null) option.default(row.default, String(row.toArgs(row.default).at(-1)));
  return option;
}

/** Adds every run option to a command (`dfq run` and `dfq submit` take the same flags). */
export function addRunOptions(command: Command): Command {
  command.requiredOption(
    '--model <path>',
    'TF.js Layers model.json (or its directory), or an ONNX model (.onnx)',
  );
  for (const key of RUN_OPTION_KEYS) command.addOption(commanderOption(key));
  return command;
}

/** The parsed flags as the run's settings: one value per row of the run-option table. */
export function runSettings(command: Command): RunSettings {
  const opts = command.opts();
  const settings: Record<string, unknown> = {};
  for (const key of RUN_OPTION_KEYS) {
    const row = runOption(key);
    const attribute = command.options.find((o) => o.long === row.flag)?.attributeName();
    const raw = attribute === undefined ? undefined : opts[attribute];
    if (raw === undefined) settings[key] = row.default;
    else if (raw === NULL) settings[key] = null;
    else settings[key] = raw === true && row.fromBare ? row.fromBare(true) : raw;
  }
  return settings as RunSettings;
}

/** A run in this process (dfq run, dfq analyze): the command's options checked, with --model and --out. */
export function localRunConfig(command: Command): RunConfig {
  const settings = runSettings(command);
  checkRunSettings(settings);
  const opts = command.opts();
  return {
    ...settings,
    modelPath: opts.model,
    outDir: opts.out,
    // 'auto' defers to the machine's DFQ_BACKEND, as a worker does.
    backend: settings.backend === 'auto' ? (backendFromEnv() ?? 'auto') : settings.backend,
  };
}
