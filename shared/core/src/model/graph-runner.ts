import * as tf from '@tensorflow/tfjs';
import { type FrozenConv2d, frozenConv2d } from './frozen-conv2d.js';
import { channelAffine, channelAffineMoments } from './fused-ops.js';
import type { Activation, GraphNode, ModelGraph, WeightTensor } from './graph.js';
import { nodeWeights } from './graph.js';

export interface GraphRunOptions {
  /** Node names whose outputs the caller wants back (e.g. BatchNorm inputs for synthesis). */
  taps?: ReadonlySet<string>;
  /**
   * BatchNorm node names whose input's per-channel batch mean and variance the caller wants (the
   * BatchNorm-statistics loss): computed in the same pass as the BatchNorm where the backend fuses them.
   */
  moments?: ReadonlySet<string>;
  /** Rewrites a node's output before its consumers see it (activation fake-quantization). */
  transform?: (node: GraphNode, output: tf.Tensor) => tf.Tensor;
  /**
   * Trainable stand-ins for a layer's kernel or bias (node name -> tensor), for weight training:
   * such a layer runs through tf.conv2d/matMul, whose gradients reach the kernel.
   */
  kernels?: ReadonlyMap<string, tf.Tensor>;
  biases?: ReadonlyMap<string, tf.Tensor>;
  /**
   * Dispose each node's intermediates and output as soon as nothing downstream needs them, so
   * memory holds a few activations instead of the whole forward pass. Only for inference: a
   * gradient needs the intermediates kept.
   */
  releaseEarly?: boolean;
}

export interface ChannelMoments {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

export interface RunResult {
  output: tf.Tensor;
  taps: Map<string, tf.Tensor>;
  /** Per BatchNorm named in options.moments: its input's batch moments. */
  moments: Map<string, ChannelMoments>;
}

export function applyActivation(x: tf.Tensor, activation: Activation): tf.Tensor {
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'softmax':
      return tf.softmax(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'hard_sigmoid':
      // Keras 2's and TF.js's definition (Keras 3 uses relu6(x + 3) / 6).
      return tf.tidy(() => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1));
    case 'swish':
      return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
    case 'hard_swish':
      return tf.tidy(() => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6)));
    case 'gelu':
      // The exact (erf) form, as Keras's and TF.js's default.
      return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))));
  }
}

/**
 * Executes a ModelGraph with plain tf ops and frozen weights: gradients flow to the input only
 * (what synthesis needs), so no weight-gradient kernel is ever called; the wasm backend has
 * none for Conv2D. Owns one tensor per weight; call dispose() when done.
 */
export class GraphRunner {
  private readonly weights = new Map<WeightTensor, tf.Tensor>();
  /** BatchNorm as y = x * scale + shift, precomputed per layer. */
  private readonly affine = new Map<string, { scale: tf.Tensor1D; shift: tf.Tensor1D }>();
  private readonly convs = new Map<string, FrozenConv2d>();

  constructor(readonly graph: ModelGraph) {
    for (const node of graph.nodes) {
      for (const w of nodeWeights(node)) this.weights.set(w, tf.tensor(w.data, w.shape, 'float32'));
      if (node.op === 'conv2d') {
        this.convs.set(
          node.name,
          frozenConv2d(this.w(node.kernel) as tf.Tensor4D, node.strides, node.padding, node.dilations),
        );
      }
      if (node.op === 'batchNorm') {
        // tf.batchNorm's gradient tiles its statistics to the input's full shape, which costs more
        // than the convolutions' backward pass on wasm; a broadcast multiply-add does not.
        const scale = node.gamma.data.map(
          (g, c) => g / Math.sqrt((node.movingVariance.data[c] as number) + node.epsilon),
        );
        const shift = node.beta.data.map(
          (b, c) => b - (node.movingMean.data[c] as number) * (scale[c] as number),
        );
        this.affine.set(node.name, { scale: tf.tensor1d(scale), shift: tf.tensor1d(shift) });
      }
    }
  }

  private w(weight: WeightTensor): tf.Tensor {
    const t = this.weights.get(weight);
    if (!t) throw new Error('weight not owned by this runner');
    return t;
  }

  /** Runs the graph on a normalized NHWC batch. Call inside tf.tidy or dispose the result. */
  run(input: tf.Tensor, options: GraphRunOptions = {}): RunResult {
    const values = new Map<string, tf.Tensor>();
    const taps = new Map<string, tf.Tensor>();
    const moments = new Map<string, ChannelMoments>();
    if (options.releaseEarly && options.moments?.size) {
      throw new Error(
        'GraphRunner: moments are for gradient runs, which keep intermediates; not with releaseEarly',
      );
    }
    const release = options.releaseEarly ? this.releaser(input, values, options.taps) : null;
    for (const [index, node] of this.graph.nodes.entries()) {
      const args = node.inputs.map((name) => {
        const v = values.get(name);
        if (!v) throw new Error(`node ${node.name} reads ${name} before it is computed`);
        return v;
      });
      const compute = () => {
        const out =
          node.op === 'batchNorm' && options.moments?.has(node.name)
            ? this.batchNormWithMoments(node.name, args[0] as tf.Tensor, moments)
            : this.evaluate(node, node.op === 'input' ? [input] : args, options);
        return options.transform ? options.transform(node, out) : out;
      };
      values.set(node.name, release ? tf.tidy(compute) : compute());
      if (options.taps?.has(node.name)) taps.set(node.name, values.get(node.name) as tf.Tensor);
      release?.(index);
    }
    const output = values.get(this.graph.outputName);
    if (!output) throw new Error(`output ${this.graph.outputName} was never computed`);
    return { output, taps, moments };
  }

  private batchNormWithMoments(name: string, x: tf.Tensor, into: Map<string, ChannelMoments>): tf.Tensor {
    const { scale, shift } = this.affine.get(name) as { scale: tf.Tensor1D; shift: tf.Tensor1D };
    const { y, mean, variance } = channelAffineMoments(x, scale, shift);
    into.set(name, { mean, variance });
    return y;
  }

  /** Logits (or the model's final activation) for a batch; the caller owns the result. */
  predict(input: tf.Tensor, transform?: GraphRunOptions['transform']): tf.Tensor {
    return tf.tidy(() => this.run(input, { releaseEarly: true, ...(transform ? { transform } : {}) }).output);
  }

  /**
   * After node `index` ran: disposes every value whose last reader was that node, unless it is the
   * caller's input, a tap, the output, or the same tensor another live name still holds (linear
   * activations and identities pass their input through).
   */
  private releaser(input: tf.Tensor, values: Map<string, tf.Tensor>, taps?: ReadonlySet<string>) {
    const lastReader = new Map<string, number>();
    this.graph.nodes.forEach((node, i) => {
      for (const name of node.inputs) lastReader.set(name, i);
    });
    return (index: number) => {
      for (const [name, at] of lastReader) {
        if (at !== index || name === this.graph.outputName || taps?.has(name)) continue;
        const t = values.get(name);
        values.delete(name);
        if (!t || t === input || [...values.values()].includes(t)) continue;
        t.dispose();
      }
    };
  }

  private evaluate(node: GraphNode, args: tf.Tensor[], options: GraphRunOptions): tf.Tensor {
    const x = args[0] as tf.Tensor;
    const kernel = options.kernels?.get(node.name);
    const bias =
      options.biases?.get(node.name) ?? ('bias' in node && node.bias ? this.w(node.bias) : undefined);
    switch (node.op) {
      case 'input':
      case 'identity':
        return x;
      case 'conv2d': {
        let y: tf.Tensor = kernel
          ? tf.conv2d(
              x as tf.Tensor4D,
              kernel as tf.Tensor4D,
              node.strides,
              node.padding,
              'NHWC',
              node.dilations,
            )
          : (this.convs.get(node.name) as FrozenConv2d).apply(x as tf.Tensor4D);
        if (bias) y = tf.add(y, bias);
        return applyActivation(y, node.activation);
      }
      case 'depthwiseConv2d': {
        let y: tf.Tensor = tf.depthwiseConv2d(
          x as tf.Tensor4D,
          (kernel ?? this.w(node.kernel)) as tf.Tensor4D,
          node.strides,
          node.padding,
          'NHWC',
          node.dilations,
        );
        if (bias) y = tf.add(y, bias);
        return applyActivation(y, node.activation);
      }
      case 'dense': {
        const flat = x.rank === 2 ? x : x.reshape([-1, x.shape[x.rank - 1] as number]);
        let y: tf.Tensor = tf.matMul(flat as tf.Tensor2D, (kernel ?? this.w(node.kernel)) as tf.Tensor2D);
        if (bias) y = tf.add(y, bias);
        return applyActivation(y, node.activation);
      }
      case 'batchNorm': {
        const { scale, shift } = this.affine.get(node.name) as { scale: tf.Tensor1D; shift: tf.Tensor1D };
        return channelAffine(x, scale, shift);
      }
      case 'activation':
        return applyActivation(x, node.activation);
      case 'add':
        return applyActivation(
          args.length === 2 ? tf.add(x, args[1] as tf.Tensor) : tf.addN(args),
          node.activation,
        );
      case 'zeroPad':
        return tf.pad(x, [[0, 0], node.padding[0], node.padding[1], [0, 0]]);
      case 'maxPool':
        return tf.maxPool(x as tf.Tensor4D, node.poolSize, node.strides, node.padding);
      case 'avgPool':
        return tf.avgPool(x as tf.Tensor4D, node.poolSize, node.strides, node.padding);
      case 'globalAvgPool':
        return tf.mean(x, [1, 2], node.keepDims === true);
      case 'concat':
        return tf.concat(args, -1);
      case 'multiply':
        return tf.mul(x, args[1] as tf.Tensor);
      case 'reshape':
        return x.reshape([x.shape[0] as number, ...node.shape]);
      case 'leakyRelu':
        return tf.prelu(x, this.w(node.alpha));
      case 'channelAffine':
        // One value (Rescaling) or one per channel (Normalization): broadcast either way.
        return tf.tidy(() => tf.add(tf.mul(x, this.w(node.scale)), this.w(node.offset)));
      case 'globalMaxPool':
        return tf.max(x, [1, 2], node.keepDims === true);
      case 'crop': {
        const [[t, b], [l, r]] = node.cropping;
        const [, h = 0, w = 0] = x.shape;
        return tf.slice(x, [0, t, l, 0], [-1, h - t - b, w - l - r, -1]);
      }
      case 'upsample': {
        const [, h = 0, w = 0] = x.shape;
        return tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [h * node.size[0], w * node.size[1]]);
      }
      case 'flatten':
        return x.reshape([x.shape[0] as number, -1]);
    }
  }

  dispose(): void {
    for (const t of this.weights.values()) t.dispose();
    for (const { scale, shift } of this.affine.values()) tf.dispose([scale, shift]);
    for (const conv of this.convs.values()) conv.dispose();
    this.convs.clear();
    this.weights.clear();
    this.affine.clear();
  }
}
