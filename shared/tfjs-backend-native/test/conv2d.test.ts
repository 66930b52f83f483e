import { describe, it } from 'vitest';
import { caseLabel, drawCase, filterShape, inputShape, outputShape, randomConvCase } from './conv_cases.js';
import { expectBackendsAgree, Rng, tf } from './helpers.js';

describe('Conv2D', () => {
  it('matches cpu on random geometries (strides, dilations, same/valid/explicit/rounded pads)', async () => {
    const rng = new Rng(1);
    for (let i = 0; i < 40; i++) {
      const c = randomConvCase(rng, { depthwise: false, dilation: true, rounding: true });
      const v = drawCase(rng, c, false);
      await expectBackendsAgree(
        caseLabel(c),
        () =>
          tf.conv2d(
            tf.tensor4d(v.x, inputShape(c)),
            tf.tensor4d(v.filter, filterShape(c)),
            c.strides,
            c.pad,
            'NHWC',
            c.dilations,
            c.dimRoundingMode,
          ),
        ['Conv2D'],
      );
    }
  });

  it('gradients (Conv2DBackpropInput, Conv2DBackpropFilter) match cpu', async () => {
    const rng = new Rng(2);
    for (let i = 0; i < 30; i++) {
      const c = randomConvCase(rng, { depthwise: false, dilation: false, rounding: false });
      const v = drawCase(rng, c, false);
      await expectBackendsAgree(`grad ${caseLabel(c)}`, () => {
        const dy = tf.tensor4d(v.dy, outputShape(c, false));
        const loss = (x: tf.Tensor, filter: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, c.strides, c.pad), dy));
        return tf.grads(loss)([tf.tensor4d(v.x, inputShape(c)), tf.tensor4d(v.filter, filterShape(c))]);
      }, ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']);
    }
  });

  it('conv2dTranspose (Conv2DBackpropInput called directly) matches cpu', async () => {
    const rng = new Rng(3);
    for (let i = 0; i < 10; i++) {
      const drawn = randomConvCase(rng, { depthwise: false, dilation: false, rounding: false });
      // conv2dTranspose takes no explicit pads.
      const c = typeof drawn.pad === 'object' ? { ...drawn, pad: 'same' as const } : drawn;
      const v = drawCase(rng, c, false);
      await expectBackendsAgree(
        `transpose ${caseLabel(c)}`,
        () =>
          tf.conv2dTranspose(
            tf.tensor4d(v.dy, outputShape(c, false)),
            tf.tensor4d(v.filter, filterShape(c)),
            inputShape(c),
            c.strides,
            c.pad as 'same' | 'valid' | number,
          ),
        ['Conv2DBackpropInput'],
      );
    }
  });
});

describe('FusedConv2D', () => {
  const activations = ['linear', 'relu', 'relu6', 'leakyrelu', 'prelu', 'sigmoid', 'elu'] as const;

  it('matches cpu for every activation, with and without bias', async () => {
    const rng = new Rng(4);
    for (const activation of activations) {
      for (const withBias of [false, true]) {
        const c = randomConvCase(rng, { depthwise: false, dilation: true, rounding: false });
        const v = drawCase(rng, c, false);
        const channels = c.outChannels;
        const bias = rng.values(channels).map((b) => b * 2);
        // PReLU slopes per channel, or a single one broadcast to all.
        const slopes = rng.next() < 0.5 ? rng.values(channels) : rng.values(1);
        await expectBackendsAgree(
          `${activation} bias=${withBias} ${caseLabel(c)}`,
          () =>
            tf.fused.conv2d({
              x: tf.tensor4d(v.x, inputShape(c)),
              filter: tf.tensor4d(v.filter, filterShape(c)),
              strides: c.strides,
              pad: c.pad,
              dilations: c.dilations,
              ...(withBias ? { bias: tf.tensor1d(bias) } : {}),
              activation,
              ...(activation === 'prelu' ? { preluActivationWeights: tf.tensor1d(slopes) } : {}),
              ...(activation === 'leakyrelu' ? { leakyreluAlpha: 0.15 } : {}),
            }),
          ['FusedConv2D'],
        );
      }
    }
  });

  it('gradients through a fused conv with bias and relu match cpu', async () => {
    const rng = new Rng(5);
    for (let i = 0; i < 6; i++) {
      const c = randomConvCase(rng, { depthwise: false, dilation: false, rounding: false });
      const v = drawCase(rng, c, false);
      const bias = rng.values(c.outChannels);
      await expectBackendsAgree(`fused grad ${caseLabel(c)}`, () => {
        const dy = tf.tensor4d(v.dy, outputShape(c, false));
        const loss = (x: tf.Tensor, filter: tf.Tensor, bias: tf.Tensor) => {
          const y = tf.fused.conv2d({
            x: x as tf.Tensor4D,
            filter: filter as tf.Tensor4D,
            strides: c.strides,
            pad: c.pad,
            bias,
            activation: 'relu',
          });
          return tf.sum(tf.mul(y, dy));
        };
        return tf.grads(loss)([
          tf.tensor4d(v.x, inputShape(c)),
          tf.tensor4d(v.filter, filterShape(c)),
          tf.tensor1d(bias),
        ]);
      }, ['Conv2DBackpropInput', 'Conv2DBackpropFilter']);
    }
  });
});
