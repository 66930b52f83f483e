import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { SYNTHESIS_METHODS } from '@dfq/contract';
import { loadOnnxModel } from '../onnx/load-onnx.js';
import type { GraphNode, InputNormalization, ModelGraph, WeightTensor } from './graph.js';
import { type KerasLayerJson, SUPPORTED_LAYERS, toGraphNodes, unsupportedReason } from './keras-layer.js';
import { checkModelJsonShape } from './model-json-shape.js';
import { ModelLoadError } from './model-load-error.js';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

interface ModelJson {
  format?: string;
  modelTopology?: {
    class_name?: string;
    config?: unknown;
    model_config?: { class_name?: string; config?: unknown };
  };
  weightsManifest?: { paths: string[]; weights: WeightSpec[] }[];
  userDefinedMetadata?: Record<string, unknown>;
}

export interface LoadModelOptions {
  /** Overrides for the input normalization read from userDefinedMetadata. */
  inputMean?: number[];
  inputStd?: number[];
  /** Refuse a model without BatchNorm (default true: data-free synthesis needs its statistics). */
  requireBatchNorm?: boolean;
}

export interface LoadedModel {
  graph: ModelGraph;
  /** Where the normalization came from, for the report. */
  normalizationSource: 'options' | 'metadata' | 'default';
}

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2 };

async function readModelJson(path: string): Promise<ModelJson> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : String(err);
    throw new ModelLoadError(
      `Model file ${path} ${why}. Pass the path of a TF.js Layers model.json (exported with tensorflowjs_converter or model.save()).`,
      { file: path },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelLoadError(
      `Model file ${path} is not valid JSON (${(err as Error).message}). Is the file truncated?`,
      {
        file: path,
      },
    );
  }
  checkModelJsonShape(text, json, path);
  return json as ModelJson;
}

/** Reads every shard named by the manifest and checks it holds exactly the bytes the manifest needs. */
async function readWeights(modelPath: string, manifest: NonNullable<ModelJson['weightsManifest']>) {
  const dir = dirname(modelPath);
  const weights = new Map<string, WeightTensor>();
  for (const group of manifest) {
    const buffers: Buffer[] = [];
    for (const shard of group.paths) {
      const shardPath = join(dir, shard);
      try {
        buffers.push(await readFile(shardPath));
      } catch {
        throw new ModelLoadError(
          `Weight shard ${shardPath} named in ${modelPath} is missing. Copy every file listed in weightsManifest next to model.json.`,
          { file: shardPath },
        );
      }
    }
    const data = Buffer.concat(buffers);
    let needed = 0;
    for (const spec of group.weights) {
      const dtype = spec.quantization?.dtype ?? spec.dtype;
      const size = BYTES_PER_ELEMENT[dtype];
      if (size === undefined) {
        throw new ModelLoadError(
          `Weight ${spec.name} in ${modelPath} has dtype ${dtype}, which dfq cannot read.`,
          {
            file: modelPath,
          },
        );
      }
      needed += size * spec.shape.reduce((a, b) => a * b, 1);
    }
    if (data.length !== needed) {
      throw new ModelLoadError(
        `Weight shards ${group.paths.join(', ')} hold ${data.length} bytes but ${modelPath} describes ${needed}. ` +
          'A shard is truncated, corrupt or from another model: re-export or re-copy the model.',
        { file: join(dir, group.paths[group.paths.length - 1] ?? '') },
      );
    }
    let offset = 0;
    for (const spec of group.weights) {
      const count = spec.shape.reduce((a, b) => a * b, 1);
      const q = spec.quantization;
      const values = new Float32Array(count);
      if (q?.dtype === 'uint8' || q?.dtype === 'uint16') {
        // TF.js's affine weight quantization: value = q * scale + min.
        const raw =
          q.dtype === 'uint8'
            ? data.subarray(offset, offset + count)
            : new Uint16Array(
                data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + 2 * count),
              );
        for (let i = 0; i < count; i++) values[i] = (raw[i] ?? 0) * (q.scale ?? 1) + (q.min ?? 0);
        offset += count * (q.dtype === 'uint8' ? 1 : 2);
      } else if (spec.dtype === 'float32') {
        values.set(
          new Float32Array(data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + 4 * count)),
        );
        offset += 4 * count;
      } else {
        const ints = new Int32Array(
          data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + 4 * count),
        );
        values.set(ints);
        offset += 4 * count;
      }
      weights.set(spec.name, { shape: spec.shape, data: values });
    }
  }
  return weights;
}

/** Names of the layers feeding a functional-model layer, for Keras 2 and Keras 3 inbound_nodes. */
function inboundNames(layer: KerasLayerJson): string[] {
  const nodes = layer.inbound_nodes ?? [];
  const names: string[] = [];
  const visit = (item: unknown): void => {
    if (Array.isArray(item)) {
      if (typeof item[0] === 'string' && typeof item[1] === 'number') names.push(item[0]);
      else for (const x of item) visit(x);
    } else if (item && typeof item === 'object') {
      const obj = item as Record<string, unknown>;
      const history = (obj.config as Record<string, unknown> | undefined)?.keras_history;
      if (obj.class_name === '__keras_tensor__' && Array.isArray(history)) names.push(String(history[0]));
      else if (obj.args !== undefined) visit(obj.args);
    }
  };
  // Only the first call of a layer matters: shared layers are not supported by this converter.
  visit(nodes[0]);
  return names;
}

interface Topology {
  name: string;
  layers: KerasLayerJson[];
  inputLayers: string[];
  outputLayers: string[];
  sequential: boolean;
}

function readTopology(json: ModelJson, path: string): Topology {
  const topo = json.modelTopology?.model_config ?? json.modelTopology;
  if (json.format === 'graph-model' || !topo || !topo.class_name) {
    throw new ModelLoadError(
      `${path} is not a TF.js Layers model (format: ${json.format ?? 'missing'}). dfq reads Keras-style layers models; ` +
        'convert with tensorflowjs_converter --output_format tfjs_layers_model.',
      { file: path },
    );
  }
  const config = topo.config as Record<string, unknown> | KerasLayerJson[];
  const layers = (Array.isArray(config) ? config : (config.layers as KerasLayerJson[] | undefined)) ?? [];
  const sequential = topo.class_name === 'Sequential';
  const name =
    (!Array.isArray(config) && typeof config.name === 'string' ? config.name : undefined) ?? 'model';
  if (sequential) return { name, layers, inputLayers: [], outputLayers: [], sequential };
  const ends = (key: string): string[] =>
    ((config as Record<string, unknown>)[key] as unknown[][] | undefined)?.map((e) => String(e[0])) ?? [];
  return { name, layers, inputLayers: ends('input_layers'), outputLayers: ends('output_layers'), sequential };
}

/** The input normalization: the caller's options, else the model's metadata, else none. */
export function normalizationFrom(
  metadata: Record<string, unknown>,
  options: LoadModelOptions,
  path: string,
): { normalization: InputNormalization; source: LoadedModel['normalizationSource'] } {
  const asList = (v: unknown): number[] | undefined =>
    typeof v === 'number'
      ? [v]
      : Array.isArray(v) && v.every((x) => typeof x === 'number')
        ? (v as number[])
        : undefined;
  if (options.inputMean || options.inputStd) {
    return {
      normalization: { mean: options.inputMean ?? [0], std: options.inputStd ?? [1] },
      source: 'options',
    };
  }
  const mean = asList(metadata.inputMean);
  const std = asList(metadata.inputStd);
  if (mean && std) {
    if (std.some((s) => !(s > 0))) {
      throw new ModelLoadError(
        `${path}: userDefinedMetadata.inputStd must be positive, got ${JSON.stringify(std)}.`,
        {
          file: path,
        },
      );
    }
    return { normalization: { mean, std }, source: 'metadata' };
  }
  return { normalization: { mean: [0], std: [1] }, source: 'default' };
}

/**
 * Refuses a model without BatchNorm unless the caller allows it: data-free synthesis has nothing to
 * match without the statistics. `howToKeep` says how to export the model with them.
 */
export function requireBatchNorm(
  nodes: readonly GraphNode[],
  path: string,
  options: LoadModelOptions,
  howToKeep: string,
): void {
  if (options.requireBatchNorm === false || nodes.some((n) => n.op === 'batchNorm')) return;
  throw new ModelLoadError(
    `${path} has no BatchNormalization layer. Data-free synthesis recreates inputs by matching the mean and ` +
      'variance that BatchNorm layers recorded during training; without them there is nothing to match. ' +
      `Use a synthesis method that needs no BatchNorm statistics (${Object.entries(SYNTHESIS_METHODS)
        .filter(([, m]) => !m.needsBatchNorm)
        .map(([name]) => name)
        .join(', ')}) for such a model, or ${howToKeep}.`,
    { file: path },
  );
}

/**
 * Loads a model from disk into dfq's graph form, without tfjs-node: a TF.js Layers model.json (or
 * its directory), or an ONNX file (.onnx).
 * Every problem is reported as a ModelLoadError that names the file or layers at fault.
 */
export async function loadModel(modelPath: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const path = resolve(modelPath);
  if (path.toLowerCase().endsWith('.onnx')) return loadOnnxModel(path, options);
  if ((await stat(path).catch(() => undefined))?.isDirectory())
    return loadModel(join(path, 'model.json'), options);
  const json = await readModelJson(path);
  const topology = readTopology(json, path);

  const unsupported = topology.layers
    .map((layer) => ({ layer, why: unsupportedReason(layer) }))
    .filter((x) => x.why !== undefined);
  if (unsupported.length > 0) {
    const lines = unsupported.map(({ layer, why }) => `  - ${layer.config.name ?? layer.name}: ${why}`);
    throw new ModelLoadError(
      `${path} has ${unsupported.length} layer(s) dfq cannot quantize:\n${lines.join('\n')}\n` +
        `Supported layer types: ${SUPPORTED_LAYERS.join(', ')}.`,
      { file: path, layers: unsupported.map(({ layer }) => String(layer.config.name ?? layer.name)) },
    );
  }

  const weights = await readWeights(path, json.weightsManifest ?? []);
  const lookup = (layer: string, suffix: string): WeightTensor | undefined => {
    const exact = weights.get(`${layer}/${suffix}`);
    if (exact) return exact;
    for (const [name, w] of weights) if (name.endsWith(`/${layer}/${suffix}`)) return w;
    return undefined;
  };

  const nodes: GraphNode[] = [];
  let previous: string | undefined;
  for (const layer of topology.layers) {
    const name = String(layer.config.name ?? layer.name);
    const require = (suffix: string): WeightTensor => {
      const w = lookup(name, suffix);
      if (!w) {
        throw new ModelLoadError(
          `Layer ${name} in ${path} needs weight ${name}/${suffix}, which the manifest lacks.`,
          {
            file: path,
            layers: [name],
          },
        );
      }
      for (const v of w.data) {
        if (!Number.isFinite(v)) {
          throw new ModelLoadError(
            `Weight ${name}/${suffix} of layer ${name} contains NaN or Infinity: the model is corrupt or diverged in training.`,
            { file: path, layers: [name] },
          );
        }
      }
      return w;
    };
    let inputs: string[];
    if (topology.sequential) {
      if (previous === undefined && layer.class_name !== 'InputLayer') {
        const shape = (layer.config.batch_input_shape ?? layer.config.batch_shape) as
          | (number | null)[]
          | undefined;
        if (!shape)
          throw new ModelLoadError(`${path}: the first layer ${name} has no batch_input_shape.`, {
            file: path,
          });
        const inputName = `${name}_input`;
        nodes.push({ op: 'input', name: inputName, inputs: [], shape: shape.slice(1).map(Number) });
        previous = inputName;
      }
      inputs = previous === undefined ? [] : [previous];
    } else {
      inputs = inboundNames(layer);
    }
    nodes.push(...toGraphNodes(layer, name, inputs, require, (suffix) => lookup(name, suffix)));
    previous = name;
  }

  const inputName = topology.sequential ? nodes[0]?.name : topology.inputLayers[0];
  const outputName = topology.sequential ? nodes[nodes.length - 1]?.name : topology.outputLayers[0];
  if (!inputName || !outputName || topology.inputLayers.length > 1 || topology.outputLayers.length > 1) {
    throw new ModelLoadError(`${path}: dfq needs a model with exactly one input and one output.`, {
      file: path,
    });
  }
  requireBatchNorm(nodes, path, options, 'export it before folding BatchNorm away');
  const metadata = json.userDefinedMetadata ?? {};
  const { normalization, source } = normalizationFrom(metadata, options, path);
  return {
    graph: {
      name: topology.name,
      nodes: sortTopologically(nodes, path),
      inputName,
      outputName,
      normalization,
      metadata,
    },
    normalizationSource: source,
  };
}

function sortTopologically(nodes: GraphNode[], path: string): GraphNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const done = new Set<string>();
  const order: GraphNode[] = [];
  const visiting = new Set<string>();
  const visit = (node: GraphNode): void => {
    if (done.has(node.name)) return;
    if (visiting.has(node.name))
      throw new ModelLoadError(`${path}: layer ${node.name} is part of a cycle.`, { file: path });
    visiting.add(node.name);
    for (const src of node.inputs) {
      const from = byName.get(src);
      if (!from) {
        throw new ModelLoadError(
          `${path}: layer ${node.name} reads from ${src}, which is not a layer of the model.`,
          {
            file: path,
            layers: [node.name],
          },
        );
      }
      visit(from);
    }
    visiting.delete(node.name);
    done.add(node.name);
    order.push(node);
  };
  for (const node of nodes) visit(node);
  return order;
}
