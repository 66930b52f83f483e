import type { RunEvent } from '@dfq/core';

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
    if (e.kind === 'stage') {
      if (inPlace) stream.write('\n');
      line(`[${elapsed()}] ${e.stage}: ${e.message}`, false);
    } else if (e.kind === 'synthesis') {
      const p = e.progress;
      const done = p.iteration === p.iterations && p.batch === p.batches;
      throttled(
        `[${elapsed()}]   batch ${p.batch}/${p.batches} iteration ${p.iteration}/${p.iterations} loss ${p.loss.toFixed(5)}`,
        done,
      );
    } else if (e.kind === 'quantizer') {
      const p = e.progress;
      throttled(
        `[${elapsed()}]   step ${p.step}/${p.steps} beta ${p.beta.toFixed(1)} loss ${p.loss.toFixed(5)} ETA ${p.etaSeconds.toFixed(0)}s`,
        p.step === p.steps,
      );
    } else {
      throttled(`[${elapsed()}]   ${e.model}: ${e.done}/${e.total} images`, e.done === e.total);
    }
  };
}
