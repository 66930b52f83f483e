// The parts of a TF.js Layers model.json dfq reads, checked for shape before anything uses them, so a
// hostile or damaged file is refused with the field at fault instead of failing deep in the loader.
import { ModelLoadError } from './model-load-error.js';

/** Deeper nesting than any exported model has; bounds every recursive walk of the file's values. */
export const MAX_JSON_DEPTH = 64;
/** Dimensions of one weight, and values of one weight (2^31 floats would be 8 GiB). */
const MAX_RANK = 8;
const MAX_WEIGHT_VALUES = 2 ** 31 - 1;

/** The deepest nesting of arrays and objects in JSON text, counted without parsing it. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) deepest = Math.max(deepest, ++depth);
    else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return deepest;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Throws a ModelLoadError naming `path` and the field (as `weightsManifest[0].weights[2].shape`)
 * unless the text nests at most MAX_JSON_DEPTH deep, is an object with an object `modelTopology`,
 * and every weight of `weightsManifest` has a string name, a shape of non-negative integers and a
 * string dtype, in groups with string `paths`.
 */
export function checkModelJsonShape(text: string, json: unknown, path: string): void {
  const refuse = (field: string, what: string): never => {
    throw new ModelLoadError(
      `${path}: ${field} ${what}. Is this a TF.js Layers model.json (tensorflowjs_converter --output_format tfjs_layers_model)?`,
      { file: path },
    );
  };
  const depth = jsonDepth(text);
  if (depth > MAX_JSON_DEPTH)
    refuse(
      'the file',
      `nests ${depth} levels deep; a model needs far fewer and dfq reads at most ${MAX_JSON_DEPTH}`,
    );
  if (!isObject(json)) refuse('the file', `is ${json === null ? 'null' : typeof json}, not a JSON object`);
  const root = json as Record<string, unknown>;
  if (!isObject(root.modelTopology)) refuse('modelTopology', 'is missing or not an object');
  if (root.userDefinedMetadata !== undefined && !isObject(root.userDefinedMetadata))
    refuse('userDefinedMetadata', 'is not an object');
  const manifest = root.weightsManifest;
  if (manifest === undefined) return;
  if (!Array.isArray(manifest)) refuse('weightsManifest', 'is not an array');
  for (const [g, item] of (manifest as unknown[]).entries()) {
    const at = `weightsManifest[${g}]`;
    if (!isObject(item)) refuse(at, 'is not an object');
    const group = item as Record<string, unknown>;
    if (!Array.isArray(group.paths) || !group.paths.every((p: unknown) => typeof p === 'string' && p !== ''))
      refuse(`${at}.paths`, 'is not a list of shard file names');
    if (!Array.isArray(group.weights)) refuse(`${at}.weights`, 'is not an array');
    for (const [w, entry] of (group.weights as unknown[]).entries()) {
      const here = `${at}.weights[${w}]`;
      if (!isObject(entry)) refuse(here, 'is not an object');
      const spec = entry as Record<string, unknown>;
      if (typeof spec.name !== 'string' || spec.name === '')
        refuse(`${here}.name`, 'is missing or not a string');
      const name = `${here}.shape (weight ${String(spec.name)})`;
      if (!Array.isArray(spec.shape)) refuse(name, 'is missing or not an array');
      const shape = spec.shape as unknown[];
      if (shape.length > MAX_RANK) refuse(name, `has ${shape.length} dimensions; at most ${MAX_RANK}`);
      if (!shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0))
        refuse(name, `is ${JSON.stringify(shape)}; dimensions must be non-negative integers`);
      const count = (shape as number[]).reduce((a, b) => a * b, 1);
      if (count > MAX_WEIGHT_VALUES) refuse(name, `holds ${count} values; at most ${MAX_WEIGHT_VALUES}`);
      if (typeof spec.dtype !== 'string') refuse(`${here}.dtype`, 'is missing or not a string');
      if (spec.quantization !== undefined && !isObject(spec.quantization))
        refuse(`${here}.quantization`, 'is not an object');
    }
  }
}
