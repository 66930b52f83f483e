#!/usr/bin/env node
// Ablation of the mean-field quantizer on one saved synthetic image set (a run's images.npy):
// round-to-nearest vs pmf/pgd with the given steps, learning rate, final beta, temperature, range
// estimator and feature-term weight, top-1 on the first N test images. Used for the defaults in
// shared/core/src/quantization/mean-field.ts.
//   node scripts/pmf-ablation.mjs <run dir> <w bits> <a bits> [softmax|sparsemax] [steps] [lr] [betaEnd] [T] [N] [calib] [featureWeight]
import { join, resolve } from 'node:path';
import * as core from '@dfq/core';
import * as tf from '@tensorflow/tfjs';

const [
  runDir,
  wb,
  ab,
  projection = 'softmax',
  steps = '200',
  lr = '5e-3',
  betaEnd = '300',
  T = '4',
  evalN = '2000',
  calib = 'kl',
  fw = '0',
] = process.argv.slice(2);
const backend = await core.selectBackend('native');
console.log('backend', backend.name);
const { graph, folding, plan } = await core.prepareModel(
  core.resolveRunConfig({
    ...core.DEFAULT_CONFIG,
    modelPath: join(resolve(import.meta.dirname, '..'), 'examples/resnet-fmnist-a/model.json'),
    outDir: runDir,
    weightBits: +wb,
    activationBits: +ab,
  }),
);
const arr = await core
  .readNpy(`${runDir}/images.npy`)
  .catch(() => core.readNpy(`${runDir}/images/images.npy`));
const images = tf.tensor4d(arr.data, arr.shape);
const calRunner = new core.GraphRunner(folding.graph);
const profile = core.calibrate(
  calRunner,
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
async function acc(q) {
  const a = await core.evaluateGraphTop1(
    q.graph,
    test,
    graph.normalization,
    { limit: +evalN },
    core.activationFakeQuant(q),
  );
  return a.accuracy;
}
const rtn = core.quantizeModel(folding.graph, plan, ranges);
console.log('RTN', await acc(rtn));
const t0 = Date.now();
const res = await core.trainMeanField(folding.graph, rtn, images, {
  ...core.DEFAULT_MEAN_FIELD,
  projection,
  steps: +steps,
  learningRate: +lr,
  betaEnd: +betaEnd,
  temperature: +T,
  featureWeight: +fw,
  seed: 1,
  onProgress: (p) => {
    if (p.step % 25 === 0 || p.step === 1)
      console.log(
        `step ${p.step} beta ${p.beta.toFixed(1)} loss ${p.loss.toFixed(4)} ${p.seconds.toFixed(1)}s mem ${tf.memory().numTensors}`,
      );
  },
});
console.log(
  'trained',
  (Date.now() - t0) / 1000,
  's changed',
  res.changedFromNearest,
  'loss',
  res.lossInitial,
  res.lossFinal,
);
const pmf = core.quantizeModel(folding.graph, plan, ranges, res);
console.log(projection, await acc(pmf), 'rss', process.resourceUsage().maxRSS / 1024);
