import { startWorkers, WORKER_KINDS, type WorkerKind } from '@dfq/workers';
import { type Command, InvalidArgumentError } from 'commander';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      `start queue workers (${WORKER_KINDS.join(', ')}; "all" for every kind) against DFQ_REDIS_URL`,
    )
    .argument('<kinds...>', 'worker kinds to run in this process')
    .action((kinds: string[]) => {
      const chosen = kinds.includes('all') ? WORKER_KINDS : kinds;
      for (const k of chosen) {
        if (!WORKER_KINDS.includes(k as WorkerKind))
          throw new InvalidArgumentError(
            `unknown worker kind ${k}; choose from ${WORKER_KINDS.join(', ')}, all`,
          );
      }
      startWorkers(chosen as WorkerKind[]);
    });
}
