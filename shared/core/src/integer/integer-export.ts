import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { IntegerModel, IntegerNode } from './integer-model.js';
import { packWeights, unpackWeights, type WeightEncoding, weightEncoding } from './weight-packing.js';

/**
 * An IntegerModel on disk: `integer-model.json` (graph, shapes, bits, zero points, dyadic
 * multipliers and shifts, clamp bounds, accumulator widths, and where each array lies) beside
 * `integer-weights.bin` (packed weights, int32 biases and lookup tables, little-endian, each
 * array starting on a 4-byte boundary).
 */

export const INTEGER_MODEL_FILE = 'integer-model.json';
export const INTEGER_WEIGHTS_FILE = 'integer-weights.bin';
const FORMAT = 'dfq-integer-model';
const VERSION = 1;

/** Where one array lies in integer-weights.bin. */
export interface BinarySection {
  offset: number;
  bytes: number;
  count: number;
  encoding: WeightEncoding | 'int32';
}

/** The node fields stored in the binary file; every other field is plain JSON. */
const BINARY_FIELDS = ['weights', 'bias', 'table'] as const;
type BinaryField = (typeof BINARY_FIELDS)[number];

export interface IntegerModelJson {
  format: typeof FORMAT;
  version: number;
  name: string;
  inputName: string;
  outputName: string;
  normalization: IntegerModel['normalization'];
  weightsFile: string;
  weightsBytes: number;
  nodes: Record<string, unknown>[];
}

function int32Bytes(values: Int32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setInt32(4 * i, values[i] as number, true);
  return out;
}

function encode(
  node: IntegerNode,
  field: BinaryField,
  values: Int32Array,
): { data: Uint8Array; encoding: BinarySection['encoding'] } {
  if (field === 'weights' && 'weightBits' in node) {
    return { data: packWeights(values, node.weightBits), encoding: weightEncoding(node.weightBits) };
  }
  return { data: int32Bytes(values), encoding: 'int32' };
}

export async function saveIntegerModel(
  model: IntegerModel,
  dir: string,
): Promise<{ json: string; weights: string }> {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const nodes = model.nodes.map((node) => {
    const json: Record<string, unknown> = { ...node };
    for (const field of BINARY_FIELDS) {
      const values = (node as unknown as Record<string, unknown>)[field];
      if (!(values instanceof Int32Array)) continue;
      const { data, encoding } = encode(node, field, values);
      const section: BinarySection = { offset, bytes: data.length, count: values.length, encoding };
      const padded = Math.ceil(data.length / 4) * 4;
      chunks.push(data, new Uint8Array(padded - data.length));
      offset += padded;
      json[field] = section;
    }
    return json;
  });
  const bin = new Uint8Array(offset);
  let at = 0;
  for (const chunk of chunks) {
    bin.set(chunk, at);
    at += chunk.length;
  }
  const doc: IntegerModelJson = {
    format: FORMAT,
    version: VERSION,
    name: model.name,
    inputName: model.inputName,
    outputName: model.outputName,
    normalization: model.normalization,
    weightsFile: INTEGER_WEIGHTS_FILE,
    weightsBytes: bin.length,
    nodes,
  };
  const json = join(dir, INTEGER_MODEL_FILE);
  const weights = join(dir, INTEGER_WEIGHTS_FILE);
  // Weights first: a model.json that exists always names a complete weights file.
  await writeFileAtomic(weights, bin);
  await writeFileAtomic(json, `${JSON.stringify(doc)}\n`);
  return { json, weights };
}

function decode(
  bin: Uint8Array,
  section: BinarySection,
  node: Record<string, unknown>,
  file: string,
): Int32Array {
  const { offset, bytes, count, encoding } = section;
  if (!Number.isInteger(offset) || offset < 0 || offset + bytes > bin.length)
    throw new Error(
      `${file}: ${node.name} has an array at bytes [${offset}, ${offset + bytes}) beyond the file's ${bin.length}`,
    );
  const data = bin.subarray(offset, offset + bytes);
  if (encoding === 'int32') {
    if (bytes !== count * 4)
      throw new Error(`${file}: ${node.name} int32 array of ${count} values in ${bytes} bytes`);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return Int32Array.from({ length: count }, (_, i) => view.getInt32(4 * i, true));
  }
  const bits = node.weightBits as number;
  try {
    return unpackWeights(data, bits, count, encoding);
  } catch (error) {
    throw new Error(`${file}: ${node.name}: ${(error as Error).message}`);
  }
}

/** Reads back what saveIntegerModel wrote; the result equals the saved model exactly. */
export async function loadIntegerModel(dir: string): Promise<IntegerModel> {
  const jsonPath = join(dir, INTEGER_MODEL_FILE);
  const doc = JSON.parse(await readFile(jsonPath, 'utf8')) as IntegerModelJson;
  if (doc.format !== FORMAT || doc.version !== VERSION)
    throw new Error(
      `${jsonPath} is not a ${FORMAT} version ${VERSION} file (format ${doc.format}, version ${doc.version})`,
    );
  const binPath = join(dir, doc.weightsFile);
  const bin = new Uint8Array(await readFile(binPath));
  if (bin.length !== doc.weightsBytes)
    throw new Error(
      `${binPath} holds ${bin.length} bytes; ${jsonPath} expects ${doc.weightsBytes}. Is it truncated?`,
    );
  const nodes = doc.nodes.map((json) => {
    const node: Record<string, unknown> = { ...json };
    for (const field of BINARY_FIELDS) {
      const section = json[field] as BinarySection | undefined;
      if (section) node[field] = decode(bin, section, json, binPath);
    }
    return node as unknown as IntegerNode;
  });
  return {
    name: doc.name,
    inputName: doc.inputName,
    outputName: doc.outputName,
    normalization: doc.normalization,
    nodes,
  };
}
