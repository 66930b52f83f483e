#!/usr/bin/env node
// For a finished run: on each of its synthetic images, the fake-quantized model's top two classes and
// their logit margin beside the integer model's class. Shows whether a disagreement is a near-tie (the
// fake-quantized model computes in float32, the integer model exactly; deep networks carry a one-step
// difference in an early layer through to the logits). Needs the run's images (not --no-save-images).
//   node scripts/agreement-margins.mjs <run dir>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '@dfq/core';
import * as tf from '@tensorflow/tfjs';

const dir = process.argv[2];
if (!dir) throw new Error('usage: agreement-margins.mjs <run dir>');
await core.selectBackend('auto');
const modelJson = join(dir, 'quantized-model/model.json');
const { graph } = await core.loadModel(modelJson, { requireBatchNorm: false });
const meta = JSON.parse(readFileSync(modelJson, 'utf8')).userDefinedMetadata.dfq;
const quantized = { graph, activations: new Map(Object.entries(meta.activationQuantization)) };
const integer = await core.loadIntegerModel(join(dir, 'integer-model'));
const images = core.decodeNpy(readFileSync(join(dir, 'images/images.npy')), 'images.npy');
const count = images.shape[0];
const runner = new core.GraphRunner(graph);
const logits = tf.tidy(() =>
  runner.predict(tf.tensor(images.data, images.shape), core.activationFakeQuant(quantized)).arraySync(),
);
const { predictions } = await core.runIntegerOnNormalized(integer, images.data, count);
let same = 0;
for (let i = 0; i < count; i++) {
  const [first, second] = logits[i].map((v, k) => [v, k]).sort((a, b) => b[0] - a[0]);
  const agrees = first[1] === predictions[i];
  if (agrees) same++;
  console.log(
    `image ${i}: fake-quantized ${first[1]} by ${(first[0] - second[0]).toFixed(4)} over ${second[1]}; integer ${predictions[i]}${agrees ? '' : '  <- differs'}`,
  );
}
console.log(`agreement ${same}/${count}`);
