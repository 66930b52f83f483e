#!/usr/bin/env node
// Step 10: mixed-precision weights on one model. Synthesizes and calibrates once (the run defaults),
// measures per-layer sensitivity (dfq analyze's, Hessian traces included), then on the full test split:
// each layer alone at 2-bit weights (the measured drop the sensitivity ranking is compared with), uniform
// W4/W6/W8 models (every width packs at its exact bits, so W6 is halfway) and mixed models at budgets from uniform W4's bytes to W8's. Prints one JSON object;
// run by scripts/bench.mjs (section "mixed").
//   node scripts/bench-mixed.mjs <model.json|model.onnx> <out dir>
import {
  ArtifactStore,
  calibrateStage,
  DEFAULT_CONFIG,
  DEFAULT_FASHION_MNIST_DIR,
  DEFAULT_SENSITIVITY,
  decodeNpy,
  evaluateGraphTop1,
  loadFashionMnist,
  measureSensitivity,
  packedByteLength,
  prepareModel,
  quantizeModel,
  quantizeStage,
  reportStage,
  resolveRunConfig,
  synthesizeStage,
  uniformBytes,
} from '@dfq/core';
import * as tf from '@tensorflow/tfjs';

const [modelPath, outDir] = process.argv.slice(2);
const DATA = process.env.DFQ_FASHION_MNIST_DIR ?? DEFAULT_FASHION_MNIST_DIR;
/** Shares of the way from uniform W4's weight bytes to uniform W8's, for the mixed budgets. */
const BUDGET_SHARES = [0, 0.2, 0.4, 0.5, 0.6, 0.8];
const store = new ArtifactStore(outDir);
const quiet = { store, prefix: '', onEvent: () => {} };
const base = resolveRunConfig({
  ...DEFAULT_CONFIG,
  modelPath,
  outDir,
  evalDir: DATA,
  saveImages: false,
  firstLastBits: null,
});
const started = Date.now();
const synthesis = await synthesizeStage(base, quiet);
// Ranges fitted as a mixed-precision run fits them (without the images it holds out to judge its
// bits on), shared by every point, uniform ones included, so all compare on the same ranges.
const calibration = await calibrateStage({ ...base, sizeBudget: 1 }, synthesis, quiet);
const { folding, plan, graph } = await prepareModel(base);
const profile = JSON.parse((await store.get(calibration.profile)).toString('utf8'));
const ranges = new Map(Object.entries(profile.ranges));
const synthetic = decodeNpy(await store.get(synthesis.images), synthesis.images.key);
const images = tf.tensor4d(synthetic.data, synthetic.shape);

const analysisStart = Date.now();
const sensitivity = await measureSensitivity(folding.graph, images, ranges, {
  weightBits: [...DEFAULT_SENSITIVITY.weightBits],
  activationBits: [...DEFAULT_SENSITIVITY.activationBits],
  probes: DEFAULT_SENSITIVITY.probes,
  seed: base.seed,
});
const analysisSeconds = (Date.now() - analysisStart) / 1000;
images.dispose();

// Each layer alone at the lowest candidate bits, activations in float: its real top-1 drop.
const test = await loadFashionMnist(DATA, 'test');
const lowest = Math.min(...DEFAULT_SENSITIVITY.weightBits);
const fp32 = (await evaluateGraphTop1(folding.graph, test, graph.normalization)).accuracy;
const perLayer = [];
for (const layer of sensitivity.layers) {
  const alone = quantizeModel(
    folding.graph,
    { ...plan, weightBits: new Map([[layer.layer, lowest]]), activationBits: new Map() },
    ranges,
  );
  const accuracy = (await evaluateGraphTop1(alone.graph, test, graph.normalization)).accuracy;
  const c = layer.candidates.find((x) => x.bits === lowest);
  perLayer.push({
    layer: layer.layer,
    parameters: layer.parameters,
    drop: fp32 - accuracy,
    kl: c.kl,
    hessianEstimate: c.hessianEstimate,
    hessianTracePerWeight: layer.hessianTracePerWeight,
  });
  console.error(`bench-mixed: ${layer.layer} alone at W${lowest}: ${(100 * accuracy).toFixed(2)}%`);
}

/** Spearman's rank correlation (average ranks for ties). */
function spearman(a, b) {
  const ranks = (xs) => {
    const order = xs.map((x, i) => [x, i]).sort((p, q) => p[0] - q[0]);
    const r = new Array(xs.length);
    for (let i = 0; i < order.length; ) {
      let j = i;
      while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
      for (let k = i; k <= j; k++) r[order[k][1]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const [ra, rb] = [ranks(a), ranks(b)];
  const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const [ma, mb] = [mean(ra), mean(rb)];
  const cov = ra.reduce((s, x, i) => s + (x - ma) * (rb[i] - mb), 0);
  const sd = (xs, m) => Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0));
  return cov / (sd(ra, ma) * sd(rb, mb));
}
const drops = perLayer.map((l) => l.drop);

/** One model through the quantize and report stages on the shared images and ranges. */
async function point(name, overrides) {
  const config = resolveRunConfig({ ...base, ...overrides });
  const env = { store, prefix: name, onEvent: () => {} };
  const quantization = await quantizeStage(config, { synthesis, calibration }, env);
  const report = await reportStage(
    config,
    { synthesis, calibration, quantization, startedAt: '', startedAtMs: Date.now() },
    env,
  );
  const q = report.quantization;
  const bits = Object.fromEntries(
    q.layers.filter((l) => l.weightBits !== null).map((l) => [l.name, l.weightBits]),
  );
  const row = {
    name,
    bits,
    bytes: sensitivity.layers.reduce((a, l) => a + packedByteLength(l.parameters, bits[l.layer]), 0),
    budgetBytes: q.mixedPrecision?.budgetBytes ?? null,
    syntheticAgreement: q.mixedPrecision?.agreement ?? null,
    accuracy: report.evaluation.quantizedAccuracy,
    integerAccuracy: report.evaluation.integerAccuracy,
    integerAgreement: report.evaluation.integerAgreement,
    overflows: q.overflows,
    seconds: q.seconds,
  };
  console.error(`bench-mixed: ${name}: ${row.bytes} bytes, ${(100 * row.accuracy).toFixed(2)}%`);
  return row;
}

const w4 = uniformBytes(sensitivity.layers, 4);
const w8 = uniformBytes(sensitivity.layers, 8);
const uniform = [];
for (const bits of [3, 4, 5, 6, 8]) uniform.push(await point(`uniform-w${bits}`, { weightBits: bits }));
const mixed = [];
for (const share of BUDGET_SHARES) {
  const budget = Math.floor(w4 + share * (w8 - w4));
  mixed.push({ share, ...(await point(`mixed-${share}`, { sizeBudget: budget })) });
}

process.stdout.write(
  `${JSON.stringify({
    model: graph.name,
    modelPath,
    layers: sensitivity.layers.length,
    images: synthetic.shape[0],
    synthesis: synthesis.summary.method,
    fp32,
    activationBits: base.activationBits,
    analysisSeconds,
    synthesisSeconds: synthesis.summary.seconds,
    spearman: {
      hessian: spearman(
        perLayer.map((l) => l.hessianEstimate),
        drops,
      ),
      kl: spearman(
        perLayer.map((l) => l.kl),
        drops,
      ),
    },
    perLayer,
    uniformBytes: { w4, w8 },
    uniform,
    mixed,
    totalSeconds: (Date.now() - started) / 1000,
  })}\n`,
);
