import * as tf from '@tensorflow/tfjs';
import { fusedSteGradient } from '../model/fused-ops.js';
import { type AffineParams, fakeQuantize } from './activation-quantizer.js';

/** dy where x lies inside the grid's range, else 0 (the composite of the fused kernel). */
function steGradient(dy: tf.Tensor, x: tf.Tensor, p: AffineParams): tf.Tensor {
  const fused = fusedSteGradient(dy, x, p);
  if (fused) return fused;
  const lo = -p.zeroPoint * p.scale;
  const hi = (2 ** p.bits - 1 - p.zeroPoint) * p.scale;
  return tf.mul(dy, tf.logicalAnd(tf.greaterEqual(x, lo), tf.lessEqual(x, hi)).cast('float32'));
}

/**
 * Fake quantization with a learnable step size (LSQ, Esser et al. 2020), the step held as its log
 * so it stays positive under Adam; the zero point stays where calibration put it. Gradients: the
 * clipped straight-through estimator for x, and LSQ's for the step: round(x/s) - x/s inside the
 * range, the clipped level minus the zero point outside it. Times s for the log, that is
 * sum(dy * (y - inside * x)) = sum(dy * y) - sum(dx * x): two products of tensors already at hand.
 * The step is read once per call (one small sync), so the rounding runs in the backend's fused kernel.
 */
export function fakeQuantizeLearnedStep(
  x: tf.Tensor,
  logStep: tf.Scalar,
  zeroPoint: number,
  bits: number,
): tf.Tensor {
  const p: AffineParams = { bits, zeroPoint, scale: Math.exp(logStep.dataSync()[0] as number) };
  const op = tf.customGrad(((input: tf.Tensor, _logS: tf.Scalar, save: tf.GradSaveFunc) => {
    const y = fakeQuantize(input, p);
    save([input, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [v, out] = saved as [tf.Tensor, tf.Tensor];
        const dx = steGradient(dy, v, p);
        return [dx, tf.sub(tf.sum(tf.mul(dy, out)), tf.sum(tf.mul(dx, v)))];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
    a: tf.Tensor,
    b: tf.Tensor,
  ) => tf.Tensor;
  return op(x, logStep);
}

/** A trainable log step starting at a calibrated grid's step (`trainable` false: held fixed). */
export function logStepVariable(name: string, p: AffineParams, trainable = true): tf.Variable {
  // A variable shares its initial tensor's data; tidy releases the initial tensor's own handle.
  return tf.tidy(() => tf.variable(tf.scalar(Math.log(p.scale)), trainable, `${name}/log_step`));
}

/** The grids learned log steps stand for, each on its calibrated grid's bits and zero point. */
export async function learnedGrids(
  logSteps: Map<string, tf.Variable>,
  calibrated: ReadonlyMap<string, AffineParams>,
): Promise<Map<string, AffineParams>> {
  const grids = new Map<string, AffineParams>();
  for (const [name, logStep] of logSteps)
    grids.set(name, learnedParams(calibrated.get(name) as AffineParams, (await logStep.data())[0] as number));
  return grids;
}

/** The affine grid a learned log step stands for. */
export function learnedParams(init: AffineParams, logStep: number): AffineParams {
  return { bits: init.bits, zeroPoint: init.zeroPoint, scale: Math.exp(logStep) };
}
