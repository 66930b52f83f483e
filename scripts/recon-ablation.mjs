#!/usr/bin/env node
// Ablation of block reconstruction on one saved synthetic image set (a run's images.npy): round-to-
// nearest, pmf and recon with the given settings, top-1 on the first N test images. Prints one JSON line.
// The settings are DEFAULT_RECONSTRUCTION's fields (shared/core/src/quantization/block-reconstruction.ts).
//   node scripts/recon-ablation.mjs <run dir> <w bits> <a bits> <steps per block> <N> ['{"dropProbability":0}'] [same|8] [calib]
// Environment: ABLATION_QUANTIZERS (default rtn,recon), ABLATION_SEED (the quantizer's seed, default 1), ABLATION_RESIDUAL_BITS (--residual-bits: N or same),
// ABLATION_LAYER_BITS (--layer-bits as JSON, e.g. '{"layer1_0_b_conv":{"activationBits":8}}').
import { join, resolve } from 'node:path';
import * as core from '@dfq/core';
import * as tf from '@tensorflow/tfjs';

const [runDir, wb, ab, steps = '300', evalN = '10000', overrides = '{}', firstLast = '8', calib = 'mse'] =
  process.argv.slice(2);
await core.selectBackend('native');
const { graph, folding, plan } = await core.prepareModel(
  core.resolveRunConfig({
    ...core.DEFAULT_CONFIG,
    modelPath: join(resolve(import.meta.dirname, '..'), 'examples/resnet-fmnist-a/model.json'),
    outDir: runDir,
    weightBits: +wb,
    activationBits: +ab,
    firstLastBits: firstLast === 'same' ? null : +firstLast,
    // Per-layer bits as --layer-bits takes them, e.g. '{"layer1_0_b_conv":{"activationBits":8}}'.
    ...(process.env.ABLATION_LAYER_BITS ? { layerBits: JSON.parse(process.env.ABLATION_LAYER_BITS) } : {}),
    // --residual-bits: a number, or 'same'.
    ...(process.env.ABLATION_RESIDUAL_BITS
      ? {
          residualBits:
            process.env.ABLATION_RESIDUAL_BITS === 'same' ? null : +process.env.ABLATION_RESIDUAL_BITS,
        }
      : {}),
  }),
);
const arr = await core
  .readNpy(`${runDir}/images.npy`)
  .catch(() => core.readNpy(`${runDir}/images/images.npy`));
const images = tf.tensor4d(arr.data, arr.shape);
const profile = core.calibrate(
  new core.GraphRunner(folding.graph),
  images,
  plan.activationBits.keys(),
  (n) => ({ bits: plan.activationBits.get(n) }),
  { method: calib },
);
const ranges = new Map(Object.entries(profile.ranges));
const test = await core.loadFashionMnist(
  process.env.DFQ_FASHION_MNIST_DIR ?? core.DEFAULT_FASHION_MNIST_DIR,
  'test',
);
const accuracy = async (q) =>
  (
    await core.evaluateGraphTop1(
      q.graph,
      test,
      graph.normalization,
      { limit: +evalN },
      core.activationFakeQuant(q),
    )
  ).accuracy;
const quantizers = (process.env.ABLATION_QUANTIZERS ?? 'rtn,recon').split(',');
const result = {
  wb: +wb,
  ab: +ab,
  firstLast,
  steps: +steps,
  overrides: JSON.parse(overrides),
  images: arr.shape[0],
};
for (const quantizer of quantizers) {
  const t0 = Date.now();
  const built = await core.buildQuantizedModel(folding.graph, plan, ranges, images, {
    quantizer,
    steps: +steps,
    seed: Number(process.env.ABLATION_SEED ?? 1),
    accumulatorBits: 32,
    overrides: JSON.parse(overrides),
  });
  result[quantizer] = {
    accuracy: await accuracy(built.model),
    seconds: (Date.now() - t0) / 1000,
    changedFromNearest: built.training?.changedFromNearest ?? 0,
    blocks: built.training?.blocks?.map((b) => [
      b.output,
      +b.nearestError.toPrecision(3),
      +b.hardError.toPrecision(3),
    ]),
  };
  console.error(
    `recon-ablation: ${quantizer} ${(100 * result[quantizer].accuracy).toFixed(2)}% in ${result[quantizer].seconds} s`,
  );
}
console.log(JSON.stringify(result));
