#!/usr/bin/env node
// ONNX Runtime's latency for dfq's two ONNX exports of one run (onnx-model/model.onnx, the int8 QDQ
// model, and onnx-model/model-float.onnx), same input batches, same threads, alternating so that
// neither gets the warmer machine. Prints one JSON object. Run by scripts/bench.mjs (section "onnx").
//   node scripts/bench-ort.mjs <run dir> [batch 8] [rounds 10]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

const [runDir, batch = '8', rounds = '10'] = process.argv.slice(2);
const threads = Number(process.env.OMP_NUM_THREADS ?? 2);
const report = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8'));
const sessions = {};
for (const [name, file] of [
  ['int8', 'onnx-model/model.onnx'],
  ['fp32', 'onnx-model/model-float.onnx'],
]) {
  sessions[name] = await ort.InferenceSession.create(join(runDir, file), {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
}
// The exported input's shape, batch first (dynamic), from the fp32 session's metadata.
const meta = sessions.fp32.inputMetadata[0];
const dims = [Number(batch), ...meta.shape.slice(1).map(Number)];
const size = dims.reduce((a, b) => a * b, 1);
let seed = 1;
const data = Float32Array.from({ length: size }, () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 30 - 1;
});
const feeds = { [meta.name]: new ort.Tensor('float32', data, dims) };
const times = { int8: [], fp32: [] };
for (const s of Object.values(sessions)) await s.run(feeds); // warm-up
for (let r = 0; r < Number(rounds); r++) {
  for (const [name, s] of Object.entries(sessions)) {
    const started = performance.now();
    await s.run(feeds);
    times[name].push(performance.now() - started);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const msPerImage = (name) => median(times[name]) / Number(batch);
process.stdout.write(
  `${JSON.stringify({
    model: report.model.name,
    input: dims,
    threads,
    rounds: Number(rounds),
    engine: `onnxruntime-node ${ort.env.versions.node}`,
    weightBits: report.quantization.weightBits,
    activationBits: report.quantization.activationBits,
    int8MsPerImage: msPerImage('int8'),
    fp32MsPerImage: msPerImage('fp32'),
    speedup: msPerImage('fp32') / msPerImage('int8'),
  })}\n`,
);
