import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  asJobProgress,
  checkRunSettings,
  type JobProgress,
  progressDetail,
  stageFraction,
  toServiceOptions,
} from '@dfq/contract';
import type { Command } from 'commander';
import { apiClient } from '../api-client.js';
import { addRunOptions, runSettings } from '../run-options.js';

interface StageView {
  stage: string;
  state: string;
  progress: unknown;
  attempts: number;
  failedReason: string | null;
}

interface RunView {
  runId: string;
  state: string;
  stages: StageView[];
  failedReason: string | null;
  report: { evaluation?: { fp32Accuracy: number; quantizedAccuracy: number } | null } | null;
}

const connectionOptions = (c: Command) =>
  c
    .option('--api <url>', 'dfq API base URL (env DFQ_API_URL, default http://127.0.0.1:8080)')
    .option('--token <token>', 'API bearer token (env DFQ_API_TOKEN)');

function stageLine(s: StageView): string {
  const p: JobProgress | null = s.state === 'active' ? asJobProgress(s.progress) : null;
  const detail = p ? ` ${p.phase ?? ''} ${progressDetail(p)}`.trimEnd() : '';
  const failed = s.failedReason ? ` (${s.failedReason})` : '';
  return `${s.stage.padEnd(11)} ${s.state}${detail}${failed}`;
}

/** Fraction of the run done, for the progress bar: each stage an equal share, split by its loop's progress. */
function fractionDone(run: RunView): number {
  let done = 0;
  for (const s of run.stages) {
    if (s.state === 'completed') done += 1;
    else if (s.state === 'active') {
      const p = asJobProgress(s.progress);
      if (p) done += stageFraction(p);
    }
  }
  return Math.min(1, done / run.stages.length);
}

export function registerClientCommands(program: Command): void {
  connectionOptions(
    addRunOptions(program.command('submit').description('queue a run on a dfq API; prints the run id')),
  ).action(async (opts, command: Command) => {
    const settings = runSettings(command);
    checkRunSettings(settings);
    // Every option the service takes, derived from the run-option table; local paths stay here.
    const { runId } = await apiClient(opts).submitRun(opts.model, toServiceOptions(settings));
    process.stdout.write(`${runId}\n`);
  });

  connectionOptions(
    program
      .command('status')
      .description('show a run: state, per-stage progress, accuracy')
      .argument('<runId>'),
  )
    .option('--json', 'print the API response as JSON')
    .action(async (runId: string, opts) => {
      const run = await apiClient(opts).json<RunView>('GET', `/v1/runs/${encodeURIComponent(runId)}`);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
        return;
      }
      const lines = [`run ${run.runId}: ${run.state}`, ...run.stages.map((s) => `  ${stageLine(s)}`)];
      const e = run.report?.evaluation;
      if (e)
        lines.push(
          `  accuracy    FP32 ${(100 * e.fp32Accuracy).toFixed(2)}%  quantized ${(100 * e.quantizedAccuracy).toFixed(2)}%`,
        );
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  connectionOptions(
    program
      .command('watch')
      .description('follow a run with a progress bar until it ends')
      .argument('<runId>'),
  )
    .option('--interval <ms>', 'poll interval', (v) => Number(v), 1000)
    .action(async (runId: string, opts) => {
      const client = apiClient(opts);
      const tty = process.stderr.isTTY;
      let last = '';
      for (;;) {
        const run = await client.json<RunView>('GET', `/v1/runs/${encodeURIComponent(runId)}`);
        const active =
          run.stages.find((s) => s.state === 'active') ?? run.stages.find((s) => s.state !== 'completed');
        const width = 30;
        const filled = Math.round(fractionDone(run) * width);
        const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${run.state}${active ? ` | ${stageLine(active)}` : ''}`;
        if (line !== last) process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
        last = line;
        if (['completed', 'failed', 'cancelled'].includes(run.state)) {
          if (tty) process.stderr.write('\n');
          if (run.state !== 'completed') {
            process.stderr.write(`run ${run.state}${run.failedReason ? `: ${run.failedReason}` : ''}\n`);
            process.exitCode = 1;
          }
          return;
        }
        await new Promise((r) => setTimeout(r, opts.interval));
      }
    });

  connectionOptions(
    program
      .command('fetch')
      .description("download a run's artifacts, checking each sha256")
      .argument('<runId>'),
  )
    .requiredOption('--out <dir>', 'directory to write the artifacts into')
    .action(async (runId: string, opts) => {
      const client = apiClient(opts);
      const base = `/v1/runs/${encodeURIComponent(runId)}/artifacts`;
      const list = await client.json<
        | { key: string; bytes: number; sha256: string }[]
        | { artifacts: { key: string; bytes: number; sha256: string }[] }
      >('GET', base);
      const artifacts = Array.isArray(list) ? list : list.artifacts;
      for (const a of artifacts) {
        const { data } = await client.download(
          `${base}/${a.key.split('/').map(encodeURIComponent).join('/')}`,
        );
        const digest = createHash('sha256').update(data).digest('hex');
        if (digest !== a.sha256 || data.length !== a.bytes)
          throw new Error(`${a.key}: downloaded file does not match its sha256; try again`);
        const target = join(opts.out, a.key);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, data);
      }
      process.stdout.write(`${artifacts.length} artifacts written to ${opts.out}, sha256 checked\n`);
    });
}
