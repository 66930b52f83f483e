// The peer of the Step 7 benches is Debian's python3-torch, run as /usr/bin/python3: installed here
// when missing (apt, as root), never a dependency of dfq.
import { execFileSync } from 'node:child_process';

export const PEER_PYTHON = '/usr/bin/python3';

export function ensureTorch() {
  const has = () => {
    try {
      execFileSync(PEER_PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (has()) return;
  console.error('bench: installing Debian python3-torch (the peer; never a dependency of dfq)');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'python3-torch'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}
