import { DFQ_VERSION, ModelLoadError, RunOptionError } from '@dfq/core';
import { Command } from 'commander';
import { registerAnalyzeCommand } from './commands/analyze-command.js';
import { registerApiCommand } from './commands/api-command.js';
import { registerClientCommands } from './commands/client-commands.js';
import { registerRunCommand } from './commands/run-command.js';
import { registerWorkerCommand } from './commands/worker-command.js';
import { flagOf } from './run-options.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('dfq')
    .description('data-free quantization of TensorFlow.js CNNs')
    .version(DFQ_VERSION)
    .showHelpAfterError();
  registerRunCommand(program);
  registerAnalyzeCommand(program);
  registerWorkerCommand(program);
  registerApiCommand(program);
  registerClientCommands(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // Input problems get their message alone; anything else keeps its stack for a bug report.
    if (err instanceof RunOptionError) console.error(`error: ${err.phrase(flagOf)}`);
    else if (err instanceof ModelLoadError) console.error(`error: ${err.message}`);
    else console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  }
}
