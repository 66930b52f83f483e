import { describe, it } from 'vitest';
import { caseLabel, drawCase, filterShape, inputShape, outputShape, randomConvCase } from './conv_cases.js';
import { expectBackendsAgree, Rng, tf } from './helpers.js';

describe('DepthwiseConv2dNative', () => {
  it('matches cpu on random geometries and channel multipliers', async () => {
    const rng = new Rng(11);
    for (let i = 0; i < 30; i++) {
      const c = randomConvCase(rng, { depthwise: true, dilation: true, rounding: true });
      const v = drawCase(rng, c, true);
      await expectBackendsAgree(
        caseLabel(c),
        () =>
          tf.depthwiseConv2d(
            tf.tensor4d(v.x, inputShape(c)),
            tf.tensor4d(v.filter, filterShape(c)),
            c.strides,
            c.pad,
            'NHWC',
            c.dilations,
            c.dimRoundingMode,
          ),
        ['DepthwiseConv2dNative'],
      );
    }
  });

  it('gradients (backprop input and filter) match cpu', async () => {
    const rng = new Rng(12);
    for (let i = 0; i < 20; i++) {
      const c = randomConvCase(rng, { depthwise: true, dilation: false, rounding: false });
      const v = drawCase(rng, c, true);
      await expectBackendsAgree(`grad ${caseLabel(c)}`, () => {
        const dy = tf.tensor4d(v.dy, outputShape(c, true));
        const loss = (x: tf.Tensor, filter: tf.Tensor) =>
          tf.sum(tf.mul(tf.depthwiseConv2d(x as tf.Tensor4D, filter as tf.Tensor4D, c.strides, c.pad), dy));
        return tf.grads(loss)([tf.tensor4d(v.x, inputShape(c)), tf.tensor4d(v.filter, filterShape(c))]);
      }, [
        'DepthwiseConv2dNative',
        'DepthwiseConv2dNativeBackpropInput',
        'DepthwiseConv2dNativeBackpropFilter',
      ]);
    }
  });
});

describe('FusedDepthwiseConv2D', () => {
  it('matches cpu with bias and activations', async () => {
    const rng = new Rng(13);
    for (const activation of ['linear', 'relu', 'relu6', 'prelu', 'sigmoid'] as const) {
      const drawn = randomConvCase(rng, { depthwise: true, dilation: true, rounding: false });
      // tf.fused.depthwiseConv2d takes no explicit pads.
      const c = typeof drawn.pad === 'object' ? { ...drawn, pad: 'same' as const } : drawn;
      const v = drawCase(rng, c, true);
      const channels = c.inChannels * c.outChannels;
      const bias = rng.values(channels);
      const slopes = rng.values(channels);
      await expectBackendsAgree(
        `${activation} ${caseLabel(c)}`,
        () =>
          tf.fused.depthwiseConv2d({
            x: tf.tensor4d(v.x, inputShape(c)),
            filter: tf.tensor4d(v.filter, filterShape(c)),
            strides: c.strides,
            pad: c.pad as 'same' | 'valid' | number,
            dilations: c.dilations,
            bias: tf.tensor1d(bias),
            activation,
            ...(activation === 'prelu' ? { preluActivationWeights: tf.tensor1d(slopes) } : {}),
          }),
        ['FusedDepthwiseConv2D'],
      );
    }
  });
});
