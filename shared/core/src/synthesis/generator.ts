import * as tf from '@tensorflow/tfjs';
import { tfSeed } from '../util/rng.js';

/**
 * A class-conditional generator after GDFQ's (DESIGN.md §2), sized for small inputs: a class
 * embedding is added to a Gaussian latent; dense -> C×(s/4)² -> BN -> ×2 upsample -> conv3×3 -> BN ->
 * LeakyReLU -> ×2 upsample -> conv3×3 -> BN -> LeakyReLU -> conv3×3 -> BN without affine (GDFQ's
 * last layer), clipped to the box real inputs occupy. Weights are plain tf.Variables so they can be saved and reloaded.
 */
export interface GeneratorShape {
  latent: number;
  classes: number;
  height: number;
  width: number;
  channels: number;
  /** Feature channels after the dense layer; the second conv block uses half. */
  width1: number;
}

export type GeneratorWeights = Record<string, { shape: number[]; data: Float32Array }>;

const LEAK = 0.2;

export class Generator {
  readonly variables = new Map<string, tf.Variable>();

  constructor(
    readonly shape: GeneratorShape,
    seed: number,
    weights?: GeneratorWeights,
  ) {
    const { latent, classes, height, width, channels, width1 } = shape;
    if (height % 4 !== 0 || width % 4 !== 0)
      throw new Error(`generator needs input sides divisible by 4, got ${height}x${width}`);
    const h4 = height / 4;
    const w4 = width / 4;
    const width2 = Math.max(8, width1 / 2);
    const specs: [string, number[], 'normal' | 'zeros' | 'ones'][] = [
      ['embedding', [classes, latent], 'normal'],
      ['dense/kernel', [latent, width1 * h4 * w4], 'normal'],
      ['dense/bias', [width1 * h4 * w4], 'zeros'],
      ['bn0/gamma', [width1], 'ones'],
      ['bn0/beta', [width1], 'zeros'],
      ['conv1/kernel', [3, 3, width1, width1], 'normal'],
      ['bn1/gamma', [width1], 'ones'],
      ['bn1/beta', [width1], 'zeros'],
      ['conv2/kernel', [3, 3, width1, width2], 'normal'],
      ['bn2/gamma', [width2], 'ones'],
      ['bn2/beta', [width2], 'zeros'],
      ['conv3/kernel', [3, 3, width2, channels], 'normal'],
    ];
    specs.forEach(([name, dims, init], i) => {
      const saved = weights?.[name];
      const fanIn = name === 'embedding' ? 1 : dims.slice(0, -1).reduce((a, b) => a * b, 1);
      const initial = saved
        ? tf.tensor(saved.data, saved.shape)
        : init === 'zeros'
          ? tf.zeros(dims)
          : init === 'ones'
            ? tf.ones(dims)
            : tf.randomNormal(dims, 0, Math.sqrt(2 / fanIn), 'float32', tfSeed(seed * 101 + i));
      this.variables.set(
        name,
        tf.variable(
          initial,
          true,
          `gen_${seed}_${name.replace('/', '_')}_${Math.random().toString(36).slice(2)}`,
        ),
      );
      initial.dispose();
    });
  }

  private v(name: string): tf.Variable {
    return this.variables.get(name) as tf.Variable;
  }

  /** Training-mode batch norm: normalizes with the batch's own statistics. */
  private bn(x: tf.Tensor, name: string): tf.Tensor {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return x
      .sub(mean)
      .div(variance.add(1e-5).sqrt())
      .mul(this.v(`${name}/gamma`))
      .add(this.v(`${name}/beta`));
  }

  /** Images in normalized input space for latents z [n, latent] and integer labels [n]. */
  generate(z: tf.Tensor2D, labels: tf.Tensor1D, low: number[], high: number[]): tf.Tensor4D {
    return tf.tidy(() => {
      const { height, width, width1 } = this.shape;
      const n = z.shape[0];
      // GDFQ multiplies the latent by the class embedding; since z is symmetric, that keeps only
      // |embedding| and the generator must read the class from variances. Adding it puts the
      // class in the mean, which a dense layer reads directly.
      const embedded = tf.gather(this.v('embedding'), labels).add(z);
      let x: tf.Tensor = tf.matMul(embedded, this.v('dense/kernel') as tf.Tensor2D).add(this.v('dense/bias'));
      x = this.bn(x.reshape([n, height / 4, width / 4, width1]), 'bn0');
      x = tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [height / 2, width / 2]);
      x = tf.leakyRelu(
        this.bn(tf.conv2d(x as tf.Tensor4D, this.v('conv1/kernel') as tf.Tensor4D, 1, 'same'), 'bn1'),
        LEAK,
      );
      x = tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [height, width]);
      x = tf.leakyRelu(
        this.bn(tf.conv2d(x as tf.Tensor4D, this.v('conv2/kernel') as tf.Tensor4D, 1, 'same'), 'bn2'),
        LEAK,
      );
      x = tf.conv2d(x as tf.Tensor4D, this.v('conv3/kernel') as tf.Tensor4D, 1, 'same');
      // A final affine-free BN gives every batch mean 0 and std 1 per channel, the statistics of
      // normalized real data; values outside the pixel box are clipped as a real image would be.
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const normalized = x.sub(mean).div(variance.add(1e-5).sqrt());
      return normalized.maximum(tf.tensor1d(low)).minimum(tf.tensor1d(high)) as tf.Tensor4D;
    });
  }

  weights(): GeneratorWeights {
    const out: GeneratorWeights = {};
    for (const [name, v] of this.variables)
      out[name] = { shape: v.shape, data: v.dataSync() as Float32Array };
    return out;
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }
}
