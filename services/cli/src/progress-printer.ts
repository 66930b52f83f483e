import { initialProgress, progressDetail, type RunEvent } from '@dfq/contract';

/**
 * Renders pipeline events on stderr: one line per stage, and a throttled progress line for long
 * loops (rewritten in place on a terminal, appended every few seconds otherwise, e.g. in CI logs).
 */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): (e: RunEvent) => void {
  const started = performance.now();
  let lastPrint = 0;
  let inPlace = false;
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  const line = (text: string, transient: boolean) => {
    if (stream.isTTY) {
      stream.write(`\r\x1b[2K${text}${transient ? '' : '\n'}`);
      inPlace = transient;
    } else {
      stream.write(`${text}\n`);
    }
  };
  const throttled = (text: string, last: boolean) => {
    const now = performance.now();
    if (!last && now - lastPrint < (stream.isTTY ? 200 : 5000)) return;
    lastPrint = now;
    line(text, !last);
  };
  return (e) => {
    if (e.kind === 'phase') {
      if (inPlace) stream.write('\n');
      line(`[${elapsed()}] ${e.phase}: ${e.message}`, false);
      return;
    }
    // The same one-line detail `dfq watch` shows for a queued run.
    const progress = { ...initialProgress('', ''), phase: PHASE_OF[e.kind], [e.kind]: e.progress };
    throttled(`[${elapsed()}]   ${progressDetail(progress)}`, loopDone(e));
  };
}

/** The phase whose loop each progress event counts. */
const PHASE_OF = { synthesis: 'synthesis', distillation: 'quantization', evaluation: 'evaluation' } as const;

function loopDone(e: Exclude<RunEvent, { kind: 'phase' }>): boolean {
  switch (e.kind) {
    case 'synthesis':
      return e.progress.iteration === e.progress.iterations && e.progress.batch === e.progress.batches;
    case 'distillation':
      return e.progress.step === e.progress.steps;
    case 'evaluation':
      return e.progress.done === e.progress.total;
  }
}
