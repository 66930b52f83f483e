#!/usr/bin/env node
// Generates the ONNX protobuf module (encode and decode) from the onnx.proto that Debian's
// libonnx-dev installs, with protobufjs's CLI, before tsc: src/onnx/generated/onnx.{js,d.ts} for
// the compiler and the tests (which run the sources), copied to dist/onnx/generated for the runtime
// (tsc copies no .js). Not committed (generated).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const PACKAGE = resolve(import.meta.dirname, '..');
const PROTO = process.env.DFQ_ONNX_PROTO ?? '/usr/include/onnx/onnx.proto';
const SRC = join(PACKAGE, 'src/onnx/generated');
const DIST = join(PACKAGE, 'dist/onnx/generated');

if (!existsSync(PROTO)) {
  console.error(
    `generate-onnx-proto: ${PROTO} not found. Install Debian's libonnx-dev (apt-get install libonnx-dev; ` +
      'scripts/install.sh does this as root), or point DFQ_ONNX_PROTO at an onnx.proto.',
  );
  process.exit(1);
}
mkdirSync(SRC, { recursive: true });
mkdirSync(DIST, { recursive: true });
const bin = (name) => join(dirname(require_resolve('protobufjs-cli/package.json')), 'bin', name);
const js = join(SRC, 'onnx.js');
execFileSync(
  process.execPath,
  [
    bin('pbjs'),
    ...['-t', 'static-module', '-w', 'es6', '--dependency', 'protobufjs/minimal.js'],
    ...['--force-number', '--no-verify', '--no-delimited', '--no-service', '-o', js, PROTO],
  ],
  { stdio: 'inherit' },
);
// protobufjs/minimal is CommonJS: its namespace import has no `roots`; its default import is the module.
writeFileSync(
  js,
  readFileSync(js, 'utf8').replace(/^import \* as \$protobuf from/m, 'import $protobuf from'),
);
execFileSync(process.execPath, [bin('pbts'), '-o', join(SRC, 'onnx.d.ts'), js], { stdio: 'inherit' });
for (const file of ['onnx.js', 'onnx.d.ts']) copyFileSync(join(SRC, file), join(DIST, file));

function require_resolve(specifier) {
  return import.meta.resolve(specifier).replace(/^file:\/\//, '');
}
