import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');

// Debian's docker-compose validates and renders the file offline: no engine needed.
async function compose(args: string[], env: Record<string, string> = {}) {
  return run('docker-compose', ['-f', resolve(ROOT, 'docker-compose.yml'), ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
  });
}

describe('docker-compose.yml', () => {
  it('validates offline: quiet and successful', async () => {
    // execFile rejects on a non-zero exit; a valid file prints nothing with -q.
    const { stdout, stderr } = await compose(['config', '-q'], { DFQ_API_TOKENS: 'secret=team-a' });
    expect(stdout).toBe('');
    expect(stderr).not.toMatch(/error|invalid/i);
  });

  it('runs Redis with AOF and noeviction, the API and every worker kind on one artifact volume', async () => {
    const { stdout } = await compose(['config'], { DFQ_API_TOKENS: 'secret=team-a' });
    expect(stdout).toMatch(/- --appendonly\n\s+- "yes"/);
    expect(stdout).toMatch(/- --maxmemory-policy\n\s+- noeviction/);
    for (const [service, command] of [
      ['api', 'api'],
      ['synthesizer', 'synthesize'],
      ['calibrator', 'calibrate'],
      ['quantizer', 'quantize'],
      ['scheduler', 'schedules'],
    ]) {
      expect(stdout).toMatch(new RegExp(`\\n  ${service}:[\\s\\S]*?- ${command}`));
    }
    expect(stdout.match(/artifacts:\/artifacts:rw/g)?.length).toBe(5);
  });

  it('refuses to render without API tokens rather than start an open API', async () => {
    const err = await compose(['config', '-q']).catch((e) => e);
    expect(err.code).not.toBe(0);
    expect(err.stderr).toMatch(/set DFQ_API_TOKENS/);
  });
});
