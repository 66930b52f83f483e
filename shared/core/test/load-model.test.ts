import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, ModelLoadError } from '../src/index.js';
import { copyOfExampleModel, EXAMPLE_MODEL } from './helpers.js';

async function loadError(path: string): Promise<ModelLoadError> {
  const err = await loadModel(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelLoadError);
  return err as ModelLoadError;
}

describe('loading a TF.js Layers model', () => {
  it('reads the example ResNet-8: every layer, weight and the input normalization', async () => {
    const { graph, normalizationSource } = await loadModel(EXAMPLE_MODEL);
    expect(graph.nodes).toHaveLength(33);
    const ops = graph.nodes.map((n) => n.op);
    expect(ops.filter((o) => o === 'conv2d')).toHaveLength(9);
    expect(ops.filter((o) => o === 'batchNorm')).toHaveLength(9);
    expect(ops.filter((o) => o === 'add')).toHaveLength(3);
    expect(graph.normalization).toEqual({ mean: [0.286], std: [0.353] });
    expect(normalizationSource).toBe('metadata');
    expect(graph.outputName).toBe('fc');
  });

  it('accepts the model directory as well as model.json', async () => {
    const { graph } = await loadModel(join(EXAMPLE_MODEL, '..'));
    expect(graph.name).toBe('resnet8_fmnist');
  });

  it('lets flags override the normalization in metadata', async () => {
    const loaded = await loadModel(EXAMPLE_MODEL, { inputMean: [0.5], inputStd: [0.25] });
    expect(loaded.graph.normalization).toEqual({ mean: [0.5], std: [0.25] });
    expect(loaded.normalizationSource).toBe('options');
  });

  it('names a missing model.json', async () => {
    const err = await loadError('/nonexistent/model.json');
    expect(err.message).toMatch(/\/nonexistent\/model.json does not exist/);
    expect(err.file).toBe('/nonexistent/model.json');
  });

  it('names a corrupt model.json', async () => {
    const { modelPath } = await copyOfExampleModel();
    const text = await readFile(modelPath, 'utf8');
    await writeFile(modelPath, text.slice(0, text.length / 2));
    expect((await loadError(modelPath)).message).toMatch(/not valid JSON.*truncated/);
  });

  it('refuses a graph model with a pointer to the right converter flag', async () => {
    const { modelPath } = await copyOfExampleModel((json) => {
      json.format = 'graph-model';
    });
    expect((await loadError(modelPath)).message).toMatch(/not a TF.js Layers model.*tfjs_layers_model/);
  });

  it('names a missing shard', async () => {
    const { modelPath, shardPath } = await copyOfExampleModel();
    await rm(shardPath);
    const err = await loadError(modelPath);
    expect(err.message).toMatch(/group1-shard1of1.bin.*missing/);
    expect(err.file).toBe(shardPath);
  });

  it('names a short shard and the byte counts', async () => {
    const { modelPath, shardPath } = await copyOfExampleModel();
    await truncate(shardPath, 1000);
    expect((await loadError(modelPath)).message).toMatch(/hold 1000 bytes but .* describes 313704/);
  });

  it('lists every unsupported layer at once', async () => {
    const { modelPath } = await copyOfExampleModel((json) => {
      const layers = json.modelTopology.config.layers;
      layers[3].config.activation = 'elu';
      layers[4].class_name = 'Conv3D';
      layers[9].class_name = 'LSTM';
    });
    const err = await loadError(modelPath);
    expect(err.layers).toEqual(['stem_relu', 'layer1_0_a_conv', 'layer1_0_add']);
    expect(err.message).toMatch(/3 layer\(s\)/);
    expect(err.message).toMatch(/stem_relu: activation "elu"/);
    expect(err.message).toMatch(/layer1_0_a_conv: layer type Conv3D/);
    expect(err.message).toMatch(/Supported layer types: InputLayer/);
  });

  it('names the layer whose weights hold NaN or Infinity', async () => {
    const { modelPath, shardPath } = await copyOfExampleModel();
    const shard = await readFile(shardPath);
    // layer1_0_a_conv/kernel starts after stem_conv/kernel (144 floats) and stem_bn's four 16-vectors.
    shard.writeFloatLE(Number.NaN, 4 * (144 + 64 + 5));
    await writeFile(shardPath, shard);
    const err = await loadError(modelPath);
    expect(err.layers).toEqual(['layer1_0_a_conv']);
    expect(err.message).toMatch(/layer1_0_a_conv\/kernel .* NaN or Infinity/);
  });

  it('explains why a model without BatchNorm cannot be synthesized for', async () => {
    const { modelPath } = await copyOfExampleModel((json) => {
      for (const layer of json.modelTopology.config.layers) {
        if (layer.class_name === 'BatchNormalization') layer.class_name = 'Dropout';
      }
    });
    expect((await loadError(modelPath)).message).toMatch(/no BatchNormalization layer.*mean and variance/s);
    // ...but it loads when the caller does not need BN statistics.
    const { graph } = await loadModel(modelPath, { requireBatchNorm: false });
    expect(graph.nodes.filter((n) => n.op === 'batchNorm')).toHaveLength(0);
    expect(graph.nodes.filter((n) => n.op === 'conv2d')).toHaveLength(9);
  });
});
