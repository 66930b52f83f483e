import { join } from 'node:path';
import * as core from '@dfq/core';
import * as tf from '@tensorflow/tfjs';

const [model, out] = process.argv.slice(2);
const store = new core.ArtifactStore(out);
const config = core.resolveRunConfig({
  ...core.DEFAULT_CONFIG,
  modelPath: model,
  outDir: out,
  images: 16,
  iterations: 10,
  synthBatchSize: 8,
  saveImages: false,
});
const env = { store, prefix: '', onEvent: () => {} };
const synthesis = await core.synthesizeStage(config, env);
const calibration = await core.calibrateStage(config, synthesis, env);
const q = await core.quantizeStage(config, { synthesis, calibration }, env);
const { built, integer, synthetic } = q;
const n = synthetic.shape[0];
const [, ...image] = synthetic.shape;
const size = image.reduce((a, b) => a * b, 1);
const runner = new core.GraphRunner(built.model.graph);
const fq = tf
  .tidy(() =>
    runner.predict(tf.tensor(synthetic.data, synthetic.shape), core.activationFakeQuant(built.model)),
  )
  .arraySync();
const outNode = core.integerOutput(integer);
console.log('output grid', JSON.stringify(outNode.grid ?? outNode.output ?? Object.keys(outNode)));
const grid = core.integerInput(integer).grid;
for (let i = 0; i < n; i++) {
  const qx = core.quantizeNormalized(synthetic.data.subarray(i * size, (i + 1) * size), grid);
  const { logits } = core.runInteger(integer, qx, 1);
  const row = fq[i];
  const order = [...row.keys()].sort((a, b) => row[b] - row[a]);
  const iorder = [...logits.keys()].sort((a, b) => logits[b] - logits[a]);
  console.log(
    i,
    'fq',
    order[0],
    row[order[0]].toFixed(5),
    order[1],
    row[order[1]].toFixed(5),
    '| int',
    iorder[0],
    logits[iorder[0]],
    iorder[1],
    logits[iorder[1]],
    order[0] === iorder[0] ? '' : 'DIFFER',
  );
}
