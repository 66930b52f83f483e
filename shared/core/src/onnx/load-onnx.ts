import { readFile } from 'node:fs/promises';
import type {
  Activation,
  BatchNormNode,
  GraphNode,
  ModelGraph,
  Padding,
  WeightTensor,
} from '../model/graph.js';
import type { LoadedModel, LoadModelOptions } from '../model/load-model.js';
import { normalizationFrom, requireBatchNorm } from '../model/load-model.js';
import { jsonDepth, MAX_JSON_DEPTH } from '../model/model-json-shape.js';
import { ModelLoadError } from '../model/model-load-error.js';
import { forEachKernelIndex } from './kernel-layout.js';
import { floatAttr, intAttr, intsAttr, onnx, stringAttr, tensorValues } from './onnx-proto.js';

/**
 * Reads an ONNX CNN (as PyTorch's exporter writes it) into dfq's graph, NCHW to NHWC once here:
 * kernels to HWIO (depthwise [kh, kw, C, multiplier]), dense rows after a flattened feature map
 * reordered from CHW to HWC, and ONNX's explicit pads turned into TF-style 'same' where they agree
 * or a zero-padding node where they do not. Anything outside the operator set is refused up front,
 * by node name.
 */

/** The ONNX operators dfq maps, and how (for the error listing what is supported). */
export const ONNX_OPERATORS = [
  'Conv',
  'BatchNormalization',
  'Relu',
  'Clip',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'LeakyRelu',
  'PRelu',
  'GlobalMaxPool',
  'Mul',
  'Concat',
  'Softmax',
  'Add',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'Flatten',
  'Reshape',
  'Gemm',
  'MatMul',
  'Pad',
  'Dropout',
  'Identity',
  'Constant',
] as const;

const REEXPORT =
  'torch.onnx.export(model, example, "model.onnx", training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)';

/** A tensor flowing between dfq nodes: which node makes it, its NHWC shape without the batch. */
interface Value {
  node: string;
  shape: number[];
  /** Set on a flattened feature map: the [H, W, C] whose CHW order ONNX's dense rows follow. */
  flattenedFrom?: [number, number, number];
}

interface Constant {
  dims: number[];
  values: Float32Array | number[];
}

/** 'a/b.c/b.c.d/Conv' style exporter names to 'b.c.d.Conv': module path plus operator. */
function readableName(raw: string): string {
  const parts = raw.split('/').filter(Boolean);
  const kept = parts.filter((p, i) => !(parts[i + 1]?.startsWith(`${p}.`) ?? false));
  return kept.join('.').replace(/[^A-Za-z0-9_.:-]/g, '_') || 'node';
}

export async function loadOnnxModel(path: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelLoadError(
      `Model file ${path} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}. Pass the path of an ONNX model (.onnx).`,
      { file: path },
    );
  }
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new ModelLoadError(
      `${path} is not an ONNX model (${(err as Error).message}). Is the file truncated, or another format with an .onnx name?`,
      { file: path },
    );
  }
  const g = model.graph;
  if (!g?.node || g.node.length === 0)
    throw new ModelLoadError(`${path} holds no ONNX graph (no nodes).`, { file: path });
  const opset = Number(model.opsetImport?.find((o) => !o.domain)?.version ?? 0);

  const unsupported = g.node
    .filter((n) => !(ONNX_OPERATORS as readonly string[]).includes(n.opType ?? ''))
    .map((n) => `  - ${n.name || n.output?.[0]} (${n.opType}): not a supported operator`);
  if (unsupported.length > 0)
    throw new ModelLoadError(
      `${path} has ${unsupported.length} node(s) dfq cannot quantize:\n${unsupported.join('\n')}\n` +
        `Supported ONNX operators: ${ONNX_OPERATORS.join(', ')}.`,
      {
        file: path,
        layers: g.node.filter((n) => !ONNX_OPERATORS.includes(n.opType as never)).map((n) => n.name ?? ''),
      },
    );

  const constants = new Map<string, Constant>();
  for (const t of g.initializer ?? [])
    constants.set(t.name ?? '', { dims: (t.dims ?? []).map(Number), values: tensorValues(t) });
  const values = new Map<string, Value>();
  const nodes: GraphNode[] = [];
  const names = new Set<string>();
  const unique = (raw: string): string => {
    const base = readableName(raw);
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };
  const fail = (n: onnx.INodeProto, why: string): never => {
    throw new ModelLoadError(`${path}: node ${n.name || n.output?.[0]} (${n.opType}): ${why}`, {
      file: path,
      layers: [n.name ?? ''],
    });
  };

  const input = g.input?.find((i) => !constants.has(i.name ?? ''));
  const dims = input?.type?.tensorType?.shape?.dim?.map((d) => Number(d.dimValue ?? 0)) ?? [];
  if (!input || dims.length !== 4 || dims.slice(1).some((d) => !(d > 0)))
    throw new ModelLoadError(
      `${path}: dfq needs one image input of shape [batch, channels, height, width] with fixed channels and size; ` +
        `found ${input ? `${input.name} [${dims.join(', ')}]` : 'none'}.`,
      { file: path },
    );
  const [, c = 0, h = 0, w = 0] = dims;
  const inputName = unique(input.name ?? 'input');
  nodes.push({ op: 'input', name: inputName, inputs: [], shape: [h, w, c] });
  values.set(input.name ?? '', { node: inputName, shape: [h, w, c] });

  const constantOf = (n: onnx.INodeProto, i: number): Constant => {
    const k = constants.get(n.input?.[i] ?? '');
    return k ?? fail(n, `input ${i} (${n.input?.[i]}) must be a constant (an initializer)`);
  };
  const computed = (n: onnx.INodeProto, i = 0): Value => {
    const v = values.get(n.input?.[i] ?? '');
    return v ?? fail(n, `input ${n.input?.[i]} is not computed by an earlier node`);
  };
  const tensor = (k: Constant): WeightTensor => ({ shape: k.dims, data: Float32Array.from(k.values) });
  const add = (node: GraphNode, output: string, value: Omit<Value, 'node'>): void => {
    nodes.push(node);
    values.set(output, { node: node.name, ...value });
  };
  /** A zero-padding node in front of `v` when explicit pads are needed. */
  const padded = (n: onnx.INodeProto, v: Value, pad: [[number, number], [number, number]]): Value => {
    const name = unique(`${n.name || n.output?.[0]}_pad`);
    const [ih = 0, iw = 0, ic = 0] = v.shape;
    nodes.push({ op: 'zeroPad', name, inputs: [v.node], padding: pad });
    return { node: name, shape: [ih + pad[0][0] + pad[0][1], iw + pad[1][0] + pad[1][1], ic] };
  };

  for (const n of g.node) {
    const out = n.output?.[0] ?? '';
    const name = () => unique(n.name || out);
    switch (n.opType) {
      case 'Constant': {
        const t = n.attribute?.find((a) => a.name === 'value')?.t;
        if (!t) fail(n, 'only tensor-valued Constants are read');
        constants.set(out, {
          dims: (t?.dims ?? []).map(Number),
          values: tensorValues(t as onnx.ITensorProto),
        });
        break;
      }
      case 'Identity':
      case 'Dropout': {
        const k = constants.get(n.input?.[0] ?? '');
        if (k) constants.set(out, k);
        else values.set(out, computed(n));
        break;
      }
      case 'Conv': {
        const v = computed(n);
        const weight = constantOf(n, 1);
        const [o = 0, cg = 0, kh = 0, kw = 0] = weight.dims;
        const [ih = 0, iw = 0, ic = 0] = v.shape;
        const group = intAttr(n, 'group', 1);
        const strides = (intsAttr(n, 'strides') ?? [1, 1]) as [number, number];
        const dilations = (intsAttr(n, 'dilations') ?? [1, 1]) as [number, number];
        const plan = planPadding(n, [ih, iw], [kh, kw], strides, dilations, fail);
        const src = plan.pad ? padded(n, v, plan.pad) : v;
        const bias = n.input?.[2] ? tensor(constantOf(n, 2)) : undefined;
        const depthwise = group === ic && cg === 1 && o % ic === 0;
        if (!(group === 1 && cg === ic) && !depthwise)
          fail(
            n,
            `grouped convolution (group ${group} of ${ic} channels) is supported only as depthwise (group = channels)`,
          );
        // dfq's layout: HWIO, or [kh, kw, C, multiplier] for depthwise.
        const shape = depthwise ? [kh, kw, ic, o / ic] : [kh, kw, ic, o];
        const kernel = new Float32Array(weight.values.length);
        forEachKernelIndex(shape, depthwise, (dfq, onnx) => {
          kernel[dfq] = weight.values[onnx] as number;
        });
        const node: GraphNode = {
          op: depthwise ? 'depthwiseConv2d' : 'conv2d',
          name: name(),
          inputs: [src.node],
          kernel: { shape, data: kernel },
          strides,
          padding: plan.padding,
          dilations,
          activation: 'linear',
          ...(bias ? { bias } : {}),
        };
        add(node, out, { shape: [plan.out[0], plan.out[1], o] });
        break;
      }
      case 'BatchNormalization': {
        const v = computed(n);
        const node: BatchNormNode = {
          op: 'batchNorm',
          name: name(),
          inputs: [v.node],
          gamma: tensor(constantOf(n, 1)),
          beta: tensor(constantOf(n, 2)),
          movingMean: tensor(constantOf(n, 3)),
          movingVariance: tensor(constantOf(n, 4)),
          epsilon: floatAttr(n, 'epsilon', 1e-5),
        };
        add(node, out, { shape: v.shape });
        break;
      }
      case 'Concat': {
        const inputs = (n.input ?? []).map((_, i) => computed(n, i));
        const axis = intAttr(n, 'axis', 1);
        if ((axis !== 1 && axis !== -3) || inputs.some((v) => v.shape.length !== 3))
          fail(n, 'only concatenation of feature maps along channels (axis 1) is supported');
        const [ch = 0, cw = 0] = inputs[0]?.shape ?? [];
        const channels = inputs.reduce((sum, v) => sum + (v.shape[2] ?? 0), 0);
        add({ op: 'concat', name: name(), inputs: inputs.map((v) => v.node) }, out, {
          shape: [ch, cw, channels],
        });
        break;
      }
      case 'Mul': {
        const [a, b] = [computed(n, 0), computed(n, 1)];
        const gate = (g: Value, x: Value) =>
          g.shape.length === 3 && g.shape[0] === 1 && g.shape[1] === 1 && g.shape[2] === x.shape[2];
        const same = a.shape.join() === b.shape.join();
        if (!same && !gate(a, b) && !gate(b, a))
          fail(n, `only equal shapes or a [C, 1, 1] gate multiply ([${a.shape}] × [${b.shape}])`);
        add({ op: 'multiply', name: name(), inputs: [a.node, b.node] }, out, {
          shape: !same && gate(a, b) ? b.shape : a.shape,
        });
        break;
      }
      case 'HardSwish': {
        const v = computed(n);
        add({ op: 'activation', name: name(), inputs: [v.node], activation: 'hard_swish' }, out, {
          shape: v.shape,
        });
        break;
      }
      case 'LeakyRelu':
      case 'PRelu': {
        const v = computed(n);
        const alpha =
          n.opType === 'LeakyRelu'
            ? Float32Array.of(floatAttr(n, 'alpha', 0.01))
            : Float32Array.from(constantOf(n, 1).values);
        if (alpha.length !== 1 && alpha.length !== v.shape.at(-1))
          fail(n, `a slope of ${alpha.length} values is neither one nor one per channel`);
        add(
          { op: 'leakyRelu', name: name(), inputs: [v.node], alpha: { shape: [alpha.length], data: alpha } },
          out,
          {
            shape: v.shape,
          },
        );
        break;
      }
      case 'GlobalMaxPool': {
        const v = computed(n);
        add({ op: 'globalMaxPool', name: name(), inputs: [v.node], keepDims: true }, out, {
          shape: [1, 1, v.shape[2] ?? 0],
        });
        break;
      }
      case 'HardSigmoid': {
        const v = computed(n);
        if (
          Math.abs(floatAttr(n, 'alpha', 0.2) - 0.2) > 1e-6 ||
          Math.abs(floatAttr(n, 'beta', 0.5) - 0.5) > 1e-6
        )
          fail(n, 'only HardSigmoid(alpha=0.2, beta=0.5) (Keras 2 / TF.js) is supported');
        add({ op: 'activation', name: name(), inputs: [v.node], activation: 'hard_sigmoid' }, out, {
          shape: v.shape,
        });
        break;
      }
      case 'Relu':
      case 'Sigmoid':
      case 'Softmax':
      case 'Clip': {
        const v = computed(n);
        let activation: Activation =
          n.opType === 'Relu' ? 'relu' : n.opType === 'Sigmoid' ? 'sigmoid' : 'softmax';
        if (n.opType === 'Softmax' && v.shape.length !== 1)
          fail(n, 'softmax is supported over class logits only');
        if (n.opType === 'Clip') {
          const bound = (i: number, attr: string, fallback: number): number =>
            opset >= 11
              ? n.input?.[i]
                ? Number(constantOf(n, i).values[0])
                : fallback
              : floatAttr(n, attr, fallback);
          const lo = bound(1, 'min', -Infinity);
          const hi = bound(2, 'max', Infinity);
          if (lo === 0 && hi === 6) activation = 'relu6';
          else if (lo === 0 && hi === Infinity) activation = 'relu';
          else fail(n, `Clip(${lo}, ${hi}) is not ReLU or ReLU6`);
        }
        add({ op: 'activation', name: name(), inputs: [v.node], activation }, out, { shape: v.shape });
        break;
      }
      case 'Add': {
        const [a, b] = [0, 1].map((i) => values.get(n.input?.[i] ?? ''));
        const k = constants.get(n.input?.[0] ?? '') ?? constants.get(n.input?.[1] ?? '');
        const v = a ?? b;
        if (k && v) {
          // MatMul + Add is how some exporters write a dense layer: the constant becomes its bias.
          const dense = nodes.find((x) => x.name === v.node);
          if (dense?.op !== 'dense' || dense.bias)
            fail(n, 'adding a constant is supported only as the bias of a MatMul');
          if (dense?.op === 'dense')
            dense.bias = { shape: [k.values.length], data: Float32Array.from(k.values) };
          values.set(out, v);
          break;
        }
        if (!a || !b) return fail(n, 'both inputs must be computed tensors');
        if (a.shape.join() !== b.shape.join())
          fail(n, `broadcasting add ([${a.shape}] + [${b.shape}]) is not supported`);
        add({ op: 'add', name: name(), inputs: [a.node, b.node], activation: 'linear' }, out, {
          shape: a.shape,
        });
        break;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const v = computed(n);
        const [kh = 1, kw = 1] = intsAttr(n, 'kernel_shape') ?? [];
        const strides = (intsAttr(n, 'strides') ?? [1, 1]) as [number, number];
        if ((intsAttr(n, 'dilations') ?? [1, 1]).some((d) => d !== 1))
          fail(n, 'dilated pooling is not supported');
        const plan = planPadding(n, [v.shape[0] ?? 0, v.shape[1] ?? 0], [kh, kw], strides, [1, 1], fail);
        const countsPad = n.opType === 'AveragePool' && intAttr(n, 'count_include_pad', 0) === 1;
        // TF's 'same' average leaves the padding out of the count: a counted pad must be real zeros.
        if (countsPad && plan.padding === 'same') plan.pad = plan.samePads;
        if (intAttr(n, 'ceil_mode', 0) === 1 && plan.ceilDiffers)
          fail(n, 'ceil_mode=1 changes the output size here; export with ceil_mode=False');
        let src = v;
        if (plan.pad) {
          // Zero padding equals ONNX's for max pooling only when no input is negative, and for average
          // pooling only when the pad counts in the average.
          const producer = nodes.find((x) => x.name === v.node);
          const nonNegative =
            producer &&
            'activation' in producer &&
            ['relu', 'relu6', 'sigmoid', 'softmax'].includes(producer.activation);
          if (n.opType === 'MaxPool' && !nonNegative)
            fail(
              n,
              'max pooling with these pads reads padding only after a ReLU here; pad as TF "same" instead',
            );
          if (n.opType === 'AveragePool' && !countsPad)
            fail(n, 'average pooling with these pads and count_include_pad=0 is not supported');
          src = padded(n, v, plan.pad);
        }
        add(
          {
            op: n.opType === 'MaxPool' ? 'maxPool' : 'avgPool',
            name: name(),
            inputs: [src.node],
            poolSize: [kh, kw],
            strides,
            padding: plan.padding,
          },
          out,
          { shape: [plan.out[0], plan.out[1], v.shape[2] ?? 0] },
        );
        break;
      }
      case 'GlobalAveragePool': {
        // ONNX keeps [C, 1, 1]: so does dfq (keepDims), for a gate multiply or a 1x1 conv after it.
        const v = computed(n);
        add({ op: 'globalAvgPool', name: name(), inputs: [v.node], keepDims: true }, out, {
          shape: [1, 1, v.shape[2] ?? 0],
        });
        break;
      }
      case 'Flatten':
      case 'Reshape': {
        const v = computed(n);
        if (n.opType === 'Flatten' && intAttr(n, 'axis', 1) !== 1)
          fail(n, 'only Flatten(axis=1) is supported');
        if (n.opType === 'Reshape') {
          const target = constantOf(n, 1).values;
          const size = v.shape.reduce((x, y) => x * y, 1);
          const flat = target.length === 2 && (target[1] === -1 || target[1] === size);
          if (!flat) fail(n, `only a reshape to [batch, features] is supported, not [${Array.from(target)}]`);
        }
        if (v.shape.length === 1) {
          values.set(out, { node: v.node, shape: v.shape });
          break;
        }
        const [fh = 0, fw = 0, fc = 0] = v.shape;
        add({ op: 'flatten', name: name(), inputs: [v.node] }, out, {
          shape: [fh * fw * fc],
          ...(fh * fw > 1 ? { flattenedFrom: [fh, fw, fc] as [number, number, number] } : {}),
        });
        break;
      }
      case 'Gemm':
      case 'MatMul': {
        const v = computed(n);
        if (v.shape.length !== 1) fail(n, `a dense layer needs flat features; its input is [${v.shape}]`);
        if (n.opType === 'Gemm' && intAttr(n, 'transA', 0) !== 0)
          fail(n, 'Gemm with transA=1 is not supported');
        const weight = constantOf(n, 1);
        const transB = n.opType === 'Gemm' && intAttr(n, 'transB', 0) === 1;
        const alpha = n.opType === 'Gemm' ? floatAttr(n, 'alpha', 1) : 1;
        const beta = n.opType === 'Gemm' ? floatAttr(n, 'beta', 1) : 1;
        const [d0 = 0, d1 = 0] = weight.dims;
        const [inputs, units] = transB ? [d1, d0] : [d0, d1];
        if (inputs !== v.shape[0]) fail(n, `weight [${weight.dims}] does not take ${v.shape[0]} features`);
        // Row r of the kernel multiplies feature r in ONNX's order: CHW when a feature map was flattened.
        const [fh, fw, fc] = v.flattenedFrom ?? [1, 1, inputs];
        const kernel = new Float32Array(inputs * units);
        for (let y = 0; y < fh; y++)
          for (let x = 0; x < fw; x++)
            for (let ch = 0; ch < fc; ch++) {
              const onnxRow = (ch * fh + y) * fw + x;
              const row = (y * fw + x) * fc + ch;
              for (let u = 0; u < units; u++)
                kernel[row * units + u] =
                  alpha * (weight.values[transB ? u * inputs + onnxRow : onnxRow * units + u] as number);
            }
        const c = n.opType === 'Gemm' && n.input?.[2] ? constantOf(n, 2) : undefined;
        if (c && c.values.length !== units) fail(n, `bias of ${c.values.length} values for ${units} units`);
        add(
          {
            op: 'dense',
            name: name(),
            inputs: [v.node],
            kernel: { shape: [inputs, units], data: kernel },
            activation: 'linear',
            ...(c ? { bias: { shape: [units], data: Float32Array.from(c.values, (b) => beta * b) } } : {}),
          },
          out,
          { shape: [units] },
        );
        break;
      }
      case 'Pad': {
        const v = computed(n);
        if (stringAttr(n, 'mode', 'constant') !== 'constant')
          fail(n, 'only constant (zero) padding is supported');
        const pads = opset >= 11 ? Array.from(constantOf(n, 1).values) : (intsAttr(n, 'pads') ?? []);
        const fill =
          opset >= 11 && n.input?.[2] ? Number(constantOf(n, 2).values[0]) : floatAttr(n, 'value', 0);
        const [nb, cb, hb = 0, wb = 0, ne, ce, he = 0, we = 0] = pads;
        if (fill !== 0 || nb || cb || ne || ce || pads.length !== 8)
          fail(n, 'only zero padding of height and width is supported');
        values.set(
          out,
          padded(n, v, [
            [hb, he],
            [wb, we],
          ]),
        );
        break;
      }
    }
  }

  const output = values.get(g.output?.[0]?.name ?? '');
  if (!output || (g.output?.length ?? 0) !== 1)
    throw new ModelLoadError(`${path}: dfq needs a model with exactly one output computed by its nodes.`, {
      file: path,
    });
  requireBatchNorm(nodes, path, options, `re-export it with them kept: ${REEXPORT}`);
  const metadata: Record<string, unknown> = {};
  for (const p of model.metadataProps ?? []) {
    try {
      // Only values nested no deeper than a model.json may be are read as JSON; others stay text.
      if (jsonDepth(p.value ?? '') > MAX_JSON_DEPTH) throw new Error('too deep');
      metadata[p.key ?? ''] = JSON.parse(p.value ?? '');
    } catch {
      metadata[p.key ?? ''] = p.value;
    }
  }
  const { normalization, source } = normalizationFrom(metadata, options, path);
  const graph: ModelGraph = {
    name: g.name || readableName(path.replace(/^.*\//, '').replace(/\.onnx$/, '')),
    nodes,
    inputName,
    outputName: output.node,
    normalization,
    metadata: { ...metadata, source: { format: 'onnx', opset, producer: model.producerName ?? null } },
  };
  return { graph, normalizationSource: source };
}

/**
 * How to express ONNX's explicit pads (or auto_pad) for a window of size k: TF-style 'same' when the
 * pads are exactly TF's (the odd pixel at the end), 'valid' when there are none, else 'valid' after a
 * zero-padding node. Also the output size and whether ceil_mode would change it.
 */
function planPadding(
  n: onnx.INodeProto,
  size: [number, number],
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number],
  fail: (n: onnx.INodeProto, why: string) => never,
): {
  padding: Padding;
  pad?: [[number, number], [number, number]];
  samePads: [[number, number], [number, number]];
  out: [number, number];
  ceilDiffers: boolean;
} {
  const effective = kernel.map((k, i) => (k - 1) * (dilations[i] ?? 1) + 1);
  const same = size.map((s, i) => {
    const st = strides[i] ?? 1;
    const total = Math.max((Math.ceil(s / st) - 1) * st + (effective[i] ?? 1) - s, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)] as [number, number];
  });
  const autoPad = stringAttr(n, 'auto_pad', 'NOTSET');
  let pads: [[number, number], [number, number]];
  if (autoPad === 'SAME_UPPER') pads = [same[0] as [number, number], same[1] as [number, number]];
  else if (autoPad === 'SAME_LOWER')
    pads = same.map(([a, b]) => [b, a]) as [[number, number], [number, number]];
  else if (autoPad === 'VALID')
    pads = [
      [0, 0],
      [0, 0],
    ];
  else {
    const [t = 0, l = 0, b = 0, r = 0] = intsAttr(n, 'pads') ?? [];
    pads = [
      [t, b],
      [l, r],
    ];
  }
  if (pads.flat().some((p) => p < 0)) fail(n, 'negative pads are not supported');
  const out = size.map(
    (s, i) =>
      Math.floor((s + (pads[i]?.[0] ?? 0) + (pads[i]?.[1] ?? 0) - (effective[i] ?? 1)) / (strides[i] ?? 1)) +
      1,
  ) as [number, number];
  const ceilDiffers = size.some(
    (s, i) => (s + (pads[i]?.[0] ?? 0) + (pads[i]?.[1] ?? 0) - (effective[i] ?? 1)) % (strides[i] ?? 1) !== 0,
  );
  if (pads.flat().every((p) => p === 0)) return { padding: 'valid', samePads: pads, out, ceilDiffers };
  if (pads.every((p, i) => p[0] === same[i]?.[0] && p[1] === same[i]?.[1]))
    return { padding: 'same', samePads: pads, out, ceilDiffers };
  return { padding: 'valid', pad: pads, samePads: pads, out, ceilDiffers };
}
