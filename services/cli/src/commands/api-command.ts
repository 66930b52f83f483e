import { startApi } from '@dfq/api';
import type { Command } from 'commander';

export function registerApiCommand(program: Command): void {
  program
    .command('api')
    .description(
      'serve the HTTP API (DFQ_API_TOKENS, DFQ_ADMIN_TOKEN, DFQ_HOST, DFQ_PORT, DFQ_REDIS_URL, DFQ_ARTIFACTS_DIR, DFQ_QUEUE_PREFIX)',
    )
    .action(async () => {
      try {
        await startApi();
      } catch (err) {
        // Config refusals (unsafe host, bad DFQ_API_TOKENS) are messages for the user, not bugs.
        console.error(`error: ${(err as Error).message}`);
        process.exitCode = 1;
      }
    });
}
