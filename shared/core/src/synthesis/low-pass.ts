import * as tf from '@tensorflow/tfjs';

/**
 * A Gaussian low-pass filter over an NHWC batch, channel by channel, with mirrored borders so an
 * image's edge keeps its level. Synthetic images carry high-frequency texture that real images lack
 * (SynQ, ICLR 2025, filters it away before quantizing); the weights are a normalized, separable
 * Gaussian, so the result stays inside the pixel box the input was in.
 */
export function lowPassImages(images: tf.Tensor4D, sigma: number): tf.Tensor4D {
  if (!(sigma > 0)) throw new Error(`low-pass sigma must be above 0 (got ${sigma})`);
  const radius = Math.max(1, Math.ceil(2 * sigma));
  const taps = Array.from({ length: 2 * radius + 1 }, (_, i) =>
    Math.exp(-((i - radius) ** 2) / (2 * sigma ** 2)),
  );
  const total = taps.reduce((a, b) => a + b, 0);
  const channels = images.shape[3];
  const [height, width] = [images.shape[1], images.shape[2]];
  if (height <= radius || width <= radius)
    throw new Error(
      `low-pass sigma ${sigma} needs images over ${radius} pixels wide (got ${height}x${width})`,
    );
  return tf.tidy(() => {
    const kernel1d = tf.tensor1d(taps.map((t) => t / total));
    const along = (x: tf.Tensor4D, axis: 1 | 2): tf.Tensor4D => {
      const shape: [number, number, number, number] =
        axis === 1 ? [2 * radius + 1, 1, channels, 1] : [1, 2 * radius + 1, channels, 1];
      const kernel = kernel1d
        .reshape([2 * radius + 1, 1, 1])
        .tile([1, channels, 1])
        .reshape(shape) as tf.Tensor4D;
      const pad: [number, number][] = [
        [0, 0],
        axis === 1 ? [radius, radius] : [0, 0],
        axis === 2 ? [radius, radius] : [0, 0],
        [0, 0],
      ];
      return tf.depthwiseConv2d(tf.mirrorPad(x, pad, 'reflect'), kernel, 1, 'valid');
    };
    return along(along(images, 1), 2);
  });
}
