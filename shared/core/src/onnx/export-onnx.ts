import { modelFootprint } from '../model/footprint.js';
import type { Activation, GraphNode, ModelGraph, Padding } from '../model/graph.js';
import { inputNode } from '../model/graph.js';
import { gridSourceResolver } from '../quantization/quantization-plan.js';
import type { QuantizedModel } from '../quantization/quantize-model.js';
import { roundHalfEven } from '../util/round.js';
import { forEachKernelIndex, onnxKernelDims } from './kernel-layout.js';
import { DataType, onnx } from './onnx-proto.js';

/**
 * dfq's graph as an ONNX model, for runtimes to load: the quantized model in QDQ form (per-channel
 * weights, int8 or, where they could saturate ORT's u8s8 kernels, uint8 around 128; int32 biases;
 * all behind DequantizeLinear, each quantized activation through a
 * QuantizeLinear/DequantizeLinear pair on its uint8 grid), or the float model. The layout is NCHW
 * inside; the input is NCHW when the source was ONNX, else NHWC like the TF.js source, transposed once.
 * Opset 13: per-axis QuantizeLinear/DequantizeLinear.
 */

export const ONNX_OPSET = 13;

export interface OnnxExportOptions {
  /** 'nchw' (an ONNX source) or 'nhwc' (a TF.js source). */
  inputLayout: 'nchw' | 'nhwc';
  producer: string;
}

export interface OnnxExport {
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  /** [batch, ...] with batch -1 (dynamic). */
  inputShape: number[];
}

/** An ONNX source keeps its NCHW input in the export; a TF.js one its NHWC input. */
export function onnxInputLayout(graph: ModelGraph): 'nchw' | 'nhwc' {
  const source = graph.metadata.source as { format?: string } | undefined;
  return source?.format === 'onnx' ? 'nchw' : 'nhwc';
}

/** Collects nodes and initializers with unique tensor names. */
class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private used = new Set<string>();

  name(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  node(
    opType: string,
    inputs: string[],
    outputBase: string,
    attributes: onnx.IAttributeProto[] = [],
  ): string {
    const output = this.name(outputBase);
    this.nodes.push({ opType, input: inputs, output: [output], name: output, attribute: attributes });
    return output;
  }

  private tensor(base: string, dims: number[], dataType: number, raw: Uint8Array): string {
    const name = this.name(base);
    this.initializers.push({ name, dims, dataType, rawData: raw });
    return name;
  }

  floats(base: string, dims: number[], values: ArrayLike<number>): string {
    return this.tensor(base, dims, DataType.FLOAT, bytesOf(Float32Array.from(values)));
  }

  int8(base: string, dims: number[], values: ArrayLike<number>): string {
    return this.tensor(base, dims, DataType.INT8, bytesOf(Int8Array.from(values)));
  }

  uint8(base: string, dims: number[], values: ArrayLike<number>): string {
    return this.tensor(base, dims, DataType.UINT8, bytesOf(Uint8Array.from(values)));
  }

  int32(base: string, dims: number[], values: ArrayLike<number>): string {
    return this.tensor(base, dims, DataType.INT32, bytesOf(Int32Array.from(values)));
  }

  int64(base: string, dims: number[], values: number[]): string {
    return this.tensor(base, dims, DataType.INT64, bytesOf(BigInt64Array.from(values.map(BigInt))));
  }
}

/**
 * Whether uint8 activations times these int8 weights could overflow the int16 sums of product
 * pairs that ONNX Runtime's u8s8 kernels use on x86 CPUs without VNNI (AVX2's vpmaddubsw): two
 * products of 255 x |q| exceed 32,767 once |q| > 64, that is for 8-bit weights. ORT's own advice
 * for that saturation is the u8u8 form, which such layers are exported in; narrower weights keep
 * int8 (and ORT's faster u8s8 path), where no pair can overflow.
 */
function mayOverflowPairSums(q: ArrayLike<number>): boolean {
  let most = 0;
  for (let i = 0; i < q.length; i++) most = Math.max(most, Math.abs(q[i] as number));
  return 2 * 255 * most > 32_767;
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const ints = (name: string, values: number[]): onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INTS,
  ints: values,
});
const int = (name: string, value: number): onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INT,
  i: value,
});

/** TF's 'same' pads for one spatial axis: the odd pixel at the end. */
function samePads(size: number, window: number, stride: number, dilation: number): [number, number] {
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + (window - 1) * dilation + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** ONNX pads [top, left, bottom, right] for a window over an [h, w, c] input. */
function padsFor(
  padding: Padding,
  shape: number[],
  window: [number, number],
  strides: [number, number],
  dilations: [number, number] = [1, 1],
): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  const [t, b] = samePads(shape[0] ?? 1, window[0], strides[0], dilations[0]);
  const [l, r] = samePads(shape[1] ?? 1, window[1], strides[1], dilations[1]);
  return [t, l, b, r];
}

/** HWIO (or depthwise [kh, kw, C, multiplier]) kernel-order values to ONNX's [O, I/group, kh, kw]. */
function toOnnxKernel(node: GraphNode & { kernel: { shape: number[] } }, values: ArrayLike<number>) {
  const depthwise = node.op === 'depthwiseConv2d';
  const data = new Float64Array(values.length);
  forEachKernelIndex(node.kernel.shape, depthwise, (dfq, onnx) => {
    data[onnx] = values[dfq] as number;
  });
  return { dims: onnxKernelDims(node.kernel.shape, depthwise), data };
}

/** Dense [in, out] values to Gemm's transposed B [out, in]. */
function toGemmWeight(shape: number[], values: ArrayLike<number>): { dims: number[]; data: Float64Array } {
  const [inputs = 1, units = 1] = shape;
  const data = new Float64Array(values.length);
  for (let i = 0; i < inputs; i++)
    for (let u = 0; u < units; u++) data[u * inputs + i] = values[i * units + u] as number;
  return { dims: [units, inputs], data };
}

function activationNode(b: GraphBuilder, activation: Activation, x: string, base: string): string {
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      return b.node('Relu', [x], `${base}_relu`);
    case 'relu6':
      return b.node(
        'Clip',
        [x, b.floats(`${base}_min`, [], [0]), b.floats(`${base}_max`, [], [6])],
        `${base}_relu6`,
      );
    case 'sigmoid':
      return b.node('Sigmoid', [x], `${base}_sigmoid`);
    case 'hard_sigmoid':
      return b.node('HardSigmoid', [x], `${base}_hard_sigmoid`, [
        { name: 'alpha', type: onnx.AttributeProto.AttributeType.FLOAT, f: 0.2 },
        { name: 'beta', type: onnx.AttributeProto.AttributeType.FLOAT, f: 0.5 },
      ]);
    case 'swish':
      return b.node('Mul', [x, b.node('Sigmoid', [x], `${base}_gate`)], `${base}_swish`);
    case 'hard_swish': {
      // HardSwish itself is opset 14: x · hard_sigmoid(x) with alpha 1/6, beta 1/2.
      const gate = b.node('HardSigmoid', [x], `${base}_gate`, [
        { name: 'alpha', type: onnx.AttributeProto.AttributeType.FLOAT, f: 1 / 6 },
        { name: 'beta', type: onnx.AttributeProto.AttributeType.FLOAT, f: 0.5 },
      ]);
      return b.node('Mul', [x, gate], `${base}_hard_swish`);
    }
    case 'gelu': {
      // Gelu itself is opset 20: x/2 · (1 + erf(x/√2)).
      const erf = b.node(
        'Erf',
        [b.node('Mul', [x, b.floats(`${base}_rsqrt2`, [], [Math.SQRT1_2])], `${base}_scaled`)],
        `${base}_erf`,
      );
      const onePlus = b.node('Add', [erf, b.floats(`${base}_one`, [], [1])], `${base}_cdf2`);
      return b.node(
        'Mul',
        [b.node('Mul', [x, b.floats(`${base}_half`, [], [0.5])], `${base}_half_x`), onePlus],
        `${base}_gelu`,
      );
    }
    case 'tanh':
      return b.node('Tanh', [x], `${base}_tanh`);
    case 'softmax':
      return b.node('Softmax', [x], `${base}_softmax`, [int('axis', -1)]);
  }
}

/**
 * Writes `graph` as ONNX. With `quantized`, weights, biases and activations go on the quantized
 * model's grids (its graph must be `quantized.graph`); without, everything stays float.
 */
export function exportOnnx(
  graph: ModelGraph,
  options: OnnxExportOptions,
  quantized?: QuantizedModel,
): OnnxExport {
  const b = new GraphBuilder();
  const { shapes } = modelFootprint(graph);
  const gridSource = gridSourceResolver(graph);
  const tensorOf = new Map<string, string>();
  const input = inputNode(graph);
  const [h = 1, w = 1, c = 1] = input.shape;
  const inputName = b.name('input');
  // Reserved before any node takes it: a layer may itself be called 'logits'.
  const outputName = b.name('logits');
  const inputShape = options.inputLayout === 'nchw' ? [-1, c, h, w] : [-1, h, w, c];

  const read = (name: string): string => {
    const t = tensorOf.get(name);
    if (!t) throw new Error(`ONNX export: ${name} is read before it is written`);
    return t;
  };
  /**
   * The scale of an 8-bit grid a node's input lies on, for an int32 bias on s_in * s_w (what ORT's
   * QLinearConv takes); null keeps the bias float. Below 8 bits half an accumulator step is a tenth
   * of an output step, so rounding the bias would move outputs the fake-quantized model keeps
   * (dfq's own integer model carries that remainder; QDQ has no place for it).
   */
  const inputScale = (node: GraphNode): number | null => {
    const grid = quantized?.activations.get(gridSource(node.inputs[0] ?? ''));
    return grid && grid.bits >= 8 ? grid.scale : null;
  };

  for (const node of graph.nodes) {
    let y: string;
    switch (node.op) {
      case 'input':
        y =
          options.inputLayout === 'nchw'
            ? inputName
            : b.node('Transpose', [inputName], 'input_nchw', [ints('perm', [0, 3, 1, 2])]);
        break;
      case 'conv2d':
      case 'depthwiseConv2d':
      case 'dense': {
        const x = read(node.inputs[0] ?? '');
        const wq = quantized?.weights.get(node.name);
        const values = wq ? wq.q : node.kernel.data;
        const kernel =
          node.op === 'dense' ? toGemmWeight(node.kernel.shape, values) : toOnnxKernel(node, values);
        const channels = kernel.dims[0] ?? 1;
        let weight: string;
        let bias: string | undefined;
        if (wq) {
          // Exact either way: int8 q with zero point 0, or uint8 q + 128 with zero point 128.
          const unsigned = mayOverflowPairSums(kernel.data);
          weight = b.node(
            'DequantizeLinear',
            unsigned
              ? [
                  b.uint8(
                    `${node.name}_w_q`,
                    kernel.dims,
                    Array.from(kernel.data, (q) => q + 128),
                  ),
                  b.floats(`${node.name}_w_scale`, [channels], wq.scales),
                  b.uint8(`${node.name}_w_zero`, [channels], new Uint8Array(channels).fill(128)),
                ]
              : [
                  b.int8(`${node.name}_w_q`, kernel.dims, kernel.data),
                  b.floats(`${node.name}_w_scale`, [channels], wq.scales),
                  b.int8(`${node.name}_w_zero`, [channels], new Int8Array(channels)),
                ],
            `${node.name}_w`,
            [int('axis', 0)],
          );
          const sIn = inputScale(node);
          if (node.bias && sIn !== null) {
            // int32 on the accumulator's scale s_in * s_w[c], as integer-only runtimes add it.
            const scales = Float32Array.from(wq.scales, (s) => s * sIn);
            bias = b.node(
              'DequantizeLinear',
              [
                b.int32(
                  `${node.name}_b_q`,
                  [channels],
                  Array.from(node.bias.data, (v, i) => roundHalfEven(v / (scales[i] as number))),
                ),
                b.floats(`${node.name}_b_scale`, [channels], scales),
                b.int32(`${node.name}_b_zero`, [channels], new Int32Array(channels)),
              ],
              `${node.name}_b`,
              [int('axis', 0)],
            );
          }
        } else {
          weight = b.floats(`${node.name}_w`, kernel.dims, kernel.data);
        }
        if (node.bias && !bias) bias = b.floats(`${node.name}_b`, [channels], node.bias.data);
        if (node.op === 'dense') {
          y = b.node('Gemm', [x, weight, ...(bias ? [bias] : [])], node.name, [int('transB', 1)]);
        } else {
          const [kh = 1, kw = 1, ci = 1] = node.kernel.shape;
          y = b.node('Conv', [x, weight, ...(bias ? [bias] : [])], node.name, [
            int('group', node.op === 'depthwiseConv2d' ? ci : 1),
            ints('kernel_shape', [kh, kw]),
            ints('strides', node.strides),
            ints('dilations', node.dilations),
            ints(
              'pads',
              padsFor(
                node.padding,
                shapes.get(node.inputs[0] ?? '') ?? [],
                [kh, kw],
                node.strides,
                node.dilations,
              ),
            ),
          ]);
        }
        y = activationNode(b, node.activation, y, node.name);
        break;
      }
      case 'batchNorm': {
        const n = node.gamma.data.length;
        y = b.node(
          'BatchNormalization',
          [
            read(node.inputs[0] ?? ''),
            b.floats(`${node.name}_gamma`, [n], node.gamma.data),
            b.floats(`${node.name}_beta`, [n], node.beta.data),
            b.floats(`${node.name}_mean`, [n], node.movingMean.data),
            b.floats(`${node.name}_var`, [n], node.movingVariance.data),
          ],
          node.name,
          [{ name: 'epsilon', type: onnx.AttributeProto.AttributeType.FLOAT, f: node.epsilon }],
        );
        break;
      }
      case 'activation':
        y = activationNode(b, node.activation, read(node.inputs[0] ?? ''), node.name);
        break;
      case 'add':
        y = b.node('Add', node.inputs.map(read), node.name);
        y = activationNode(b, node.activation, y, node.name);
        break;
      case 'zeroPad': {
        const [[t, bo], [l, r]] = node.padding;
        y = b.node(
          'Pad',
          [read(node.inputs[0] ?? ''), b.int64(`${node.name}_pads`, [8], [0, 0, t, l, 0, 0, bo, r])],
          node.name,
        );
        break;
      }
      case 'maxPool':
      case 'avgPool':
        y = b.node(
          node.op === 'maxPool' ? 'MaxPool' : 'AveragePool',
          [read(node.inputs[0] ?? '')],
          node.name,
          [
            ints('kernel_shape', node.poolSize),
            ints('strides', node.strides),
            ints(
              'pads',
              padsFor(node.padding, shapes.get(node.inputs[0] ?? '') ?? [], node.poolSize, node.strides),
            ),
          ],
        );
        break;
      case 'concat':
        y = b.node('Concat', node.inputs.map(read), node.name, [int('axis', 1)]);
        break;
      case 'leakyRelu': {
        const x = read(node.inputs[0] ?? '');
        const n = node.alpha.data.length;
        y =
          n === 1
            ? b.node('LeakyRelu', [x], node.name, [
                {
                  name: 'alpha',
                  type: onnx.AttributeProto.AttributeType.FLOAT,
                  f: node.alpha.data[0] as number,
                },
              ])
            : b.node('PRelu', [x, b.floats(`${node.name}_slope`, [n, 1, 1], node.alpha.data)], node.name);
        break;
      }
      case 'channelAffine': {
        const n = node.scale.data.length;
        const scaled = b.node(
          'Mul',
          [read(node.inputs[0] ?? ''), b.floats(`${node.name}_scale`, [n, 1, 1], node.scale.data)],
          `${node.name}_scaled`,
        );
        y = b.node('Add', [scaled, b.floats(`${node.name}_offset`, [n, 1, 1], node.offset.data)], node.name);
        break;
      }
      case 'globalMaxPool': {
        const pooled = b.node(
          'GlobalMaxPool',
          [read(node.inputs[0] ?? '')],
          node.keepDims ? node.name : `${node.name}_4d`,
        );
        y = node.keepDims ? pooled : b.node('Flatten', [pooled], node.name);
        break;
      }
      case 'crop': {
        const [h = 0, w = 0] = shapes.get(node.inputs[0] ?? '') ?? [];
        const [[t, bo], [l, r]] = node.cropping;
        y = b.node(
          'Slice',
          [
            read(node.inputs[0] ?? ''),
            b.int64(`${node.name}_starts`, [2], [t, l]),
            b.int64(`${node.name}_ends`, [2], [h - bo, w - r]),
            b.int64(`${node.name}_axes`, [2], [2, 3]),
          ],
          node.name,
        );
        break;
      }
      case 'upsample':
        // Nearest with floor of asymmetric coordinates: each input pixel repeated, as the integer model does.
        y = b.node(
          'Resize',
          [read(node.inputs[0] ?? ''), '', b.floats(`${node.name}_scales`, [4], [1, 1, ...node.size])],
          node.name,
          [
            {
              name: 'mode',
              type: onnx.AttributeProto.AttributeType.STRING,
              s: new TextEncoder().encode('nearest'),
            },
            {
              name: 'coordinate_transformation_mode',
              type: onnx.AttributeProto.AttributeType.STRING,
              s: new TextEncoder().encode('asymmetric'),
            },
            {
              name: 'nearest_mode',
              type: onnx.AttributeProto.AttributeType.STRING,
              s: new TextEncoder().encode('floor'),
            },
          ],
        );
        break;
      case 'multiply':
        // A [1, 1, C] gate is [N, C, 1, 1] here, which ONNX broadcasts over height and width.
        y = b.node('Mul', node.inputs.map(read), node.name);
        break;
      case 'reshape': {
        // dfq reshapes row-major NHWC data: go to NHWC, reshape, and back to NCHW for a 3-d result.
        const source = shapes.get(node.inputs[0] ?? '') ?? [];
        let x = read(node.inputs[0] ?? '');
        if (source.length === 3)
          x = b.node('Transpose', [x], `${node.name}_nhwc`, [ints('perm', [0, 2, 3, 1])]);
        x = b.node(
          'Reshape',
          [x, b.int64(`${node.name}_shape`, [node.shape.length + 1], [-1, ...node.shape])],
          `${node.name}_flat`,
        );
        y = node.shape.length === 3 ? b.node('Transpose', [x], node.name, [ints('perm', [0, 3, 1, 2])]) : x;
        break;
      }
      case 'globalAvgPool':
        if (node.keepDims) {
          y = b.node('GlobalAveragePool', [read(node.inputs[0] ?? '')], node.name);
          break;
        }
        // dfq's global pool drops the 1x1 spatial axes, as Keras's does.
        y = b.node(
          'Flatten',
          [b.node('GlobalAveragePool', [read(node.inputs[0] ?? '')], `${node.name}_4d`)],
          node.name,
        );
        break;
      case 'flatten': {
        // dfq flattens in HWC order (its dense kernels' row order): back to NHWC first.
        const source = shapes.get(node.inputs[0] ?? '') ?? [];
        let x = read(node.inputs[0] ?? '');
        if (source.length === 3)
          x = b.node('Transpose', [x], `${node.name}_nhwc`, [ints('perm', [0, 2, 3, 1])]);
        y = b.node('Flatten', [x], node.name);
        break;
      }
      case 'identity':
        y = read(node.inputs[0] ?? '');
        break;
    }
    const grid = quantized?.activations.get(node.name);
    if (grid) {
      if (grid.bits > 8)
        throw new Error(
          `ONNX export: ${node.name} has ${grid.bits}-bit activations; QDQ export takes at most 8`,
        );
      const scale = b.floats(`${node.name}_a_scale`, [], [grid.scale]);
      const zero = b.uint8(`${node.name}_a_zero`, [], [grid.zeroPoint]);
      // Below 8 bits the grid ends before uint8 does: clip to its ends first, as dfq's quantizer does.
      const clipped =
        grid.bits < 8
          ? b.node(
              'Clip',
              [
                y,
                b.floats(`${node.name}_a_min`, [], [-grid.zeroPoint * grid.scale]),
                b.floats(`${node.name}_a_max`, [], [(2 ** grid.bits - 1 - grid.zeroPoint) * grid.scale]),
              ],
              `${node.name}_a_clip`,
            )
          : y;
      const q = b.node('QuantizeLinear', [clipped, scale, zero], `${node.name}_a_q`);
      y = b.node('DequantizeLinear', [q, scale, zero], `${node.name}_a`);
    }
    tensorOf.set(node.name, y);
  }

  const last = read(graph.outputName);
  b.nodes.push({ opType: 'Identity', input: [last], output: [outputName], name: outputName });
  const outShape = shapes.get(graph.outputName) ?? [];
  const valueInfo = (name: string, dims: number[]): onnx.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: dims.map((d) => (d < 0 ? { dimParam: 'batch' } : { dimValue: d })) },
      },
    },
  });
  const model: onnx.IModelProto = {
    irVersion: 7,
    producerName: options.producer,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    graph: {
      name: graph.name,
      node: b.nodes,
      initializer: b.initializers,
      input: [valueInfo(inputName, inputShape)],
      output: [valueInfo(outputName, [-1, ...outShape])],
    },
    metadataProps: [
      { key: 'inputMean', value: JSON.stringify(graph.normalization.mean) },
      { key: 'inputStd', value: JSON.stringify(graph.normalization.std) },
      ...(quantized ? [{ key: 'dfq', value: JSON.stringify({ format: 'qdq' }) }] : []),
    ],
  };
  return { bytes: onnx.ModelProto.encode(model).finish(), inputName, outputName, inputShape };
}
