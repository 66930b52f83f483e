// Adam over tensors keyed by name, for the training loops (mean-field scores, scales and biases; the
// pixels of direct synthesis). The backend's fused step (one pass per tensor) where offered, else the
// same formula as TF.js ops, as tf.train.adam computes it.
import * as tf from '@tensorflow/tfjs';
import { fusedAdamStep } from '../model/fused-ops.js';

export interface AdamSettings {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  /** tf.train.adam's default is the backend's epsilon, 1e-7 for float32. */
  epsilon?: number;
}

export class Adam {
  learningRate: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly moments = new Map<string, { m: tf.Tensor; v: tf.Tensor }>();
  private readonly steps = new Map<string, number>();

  constructor(settings: AdamSettings) {
    this.learningRate = settings.learningRate;
    this.beta1 = settings.beta1 ?? 0.9;
    this.beta2 = settings.beta2 ?? 0.999;
    this.epsilon = settings.epsilon ?? 1e-7;
  }

  /** `value` moved one step against `grad`; the caller owns the result and keeps owning `value`. */
  step(name: string, value: tf.Tensor, grad: tf.Tensor): tf.Tensor {
    const t = (this.steps.get(name) ?? 0) + 1;
    this.steps.set(name, t);
    const previous = this.moments.get(name) ?? { m: tf.zerosLike(value), v: tf.zerosLike(value) };
    const settings = {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      step: t,
    };
    const next =
      fusedAdamStep(value, previous.m, previous.v, grad, settings) ??
      tf.tidy(() => {
        const m = previous.m.mul(this.beta1).add(grad.mul(1 - this.beta1));
        const v = previous.v.mul(this.beta2).add(grad.square().mul(1 - this.beta2));
        const mHat = m.div(1 - this.beta1 ** t);
        const vHat = v.div(1 - this.beta2 ** t);
        return { m, v, value: value.add(mHat.div(vHat.sqrt().add(this.epsilon)).mul(-this.learningRate)) };
      });
    tf.dispose([previous.m, previous.v]);
    // Kept: steps may run inside the caller's tf.tidy, and the moments outlive it.
    this.moments.set(name, { m: tf.keep(next.m), v: tf.keep(next.v) });
    return next.value;
  }

  /** One step for each variable, assigned in place. */
  applyGradients(pairs: readonly { variable: tf.Variable; grad: tf.Tensor }[]): void {
    for (const { variable, grad } of pairs) {
      const next = this.step(variable.name, variable, grad);
      variable.assign(next);
      next.dispose();
    }
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) tf.dispose([m, v]);
    this.moments.clear();
  }
}
