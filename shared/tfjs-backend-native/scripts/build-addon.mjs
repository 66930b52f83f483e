#!/usr/bin/env node
// Builds the oneDNN addon with node-gyp. Runs as this package's npm `install` script, where a failure
// must never fail `npm install`: the backend then reports itself unavailable and callers fall back to
// 'cpu'. The reason is written to build/UNAVAILABLE.txt so that registerNativeBackend() can say why.
// Pass --strict to exit non-zero on failure instead (for developers who want the error).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(pkgDir, 'build');
const unavailableFile = join(buildDir, 'UNAVAILABLE.txt');
const strict = process.argv.includes('--strict');
const require = createRequire(import.meta.url);

function giveUp(reason) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(unavailableFile, `${reason}\n`);
  console.warn(`@dfq/tfjs-backend-native: addon not built: ${reason}`);
  process.exit(strict ? 1 : 0);
}

const dnnlHeaders = ['/usr/include/oneapi/dnnl/dnnl.hpp', '/usr/include/dnnl.hpp'];
if (!dnnlHeaders.some((p) => existsSync(p))) {
  giveUp(
    'libdnnl-dev missing (no dnnl.hpp); run `apt-get install libdnnl-dev` then `npm rebuild @dfq/tfjs-backend-native`',
  );
}

// node-gyp needs these; name the missing ones rather than leave a compiler error to decode.
const tools = ['python3', 'make', 'g++'];
const missingTools = tools.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
if (missingTools.length > 0) {
  giveUp(`build tools missing: ${missingTools.join(', ')} (apt-get install ${missingTools.join(' ')})`);
}

let nodeGyp;
try {
  nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  giveUp('node-gyp is not installed; run `npm install` from the repository root');
}

// Build against the headers of the running Node. npm passes its `nodedir` setting down as
// npm_config_nodedir; outside npm, use the headers installed beside the node binary when they match,
// because node-gyp would otherwise try to download them (and there may be no network).
const args = [nodeGyp, 'rebuild', '--release'];
if (!process.env.npm_config_nodedir) {
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
}
const jobs = process.env.JOBS ?? '2';
args.push(`--jobs=${jobs}`);

rmSync(unavailableFile, { force: true });
const result = spawnSync(process.execPath, args, { cwd: pkgDir, stdio: 'inherit' });
if (result.error) giveUp(`node-gyp could not start: ${result.error.message}`);
if (result.status !== 0) {
  giveUp(
    `node-gyp rebuild exited with status ${result.status}; run \`npm run build:addon -w @dfq/tfjs-backend-native\` to see why`,
  );
}
