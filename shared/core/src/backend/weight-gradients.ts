import { RunOptionError, type RunOptionKey } from '@dfq/contract';
import * as tf from '@tensorflow/tfjs';

/** Whether the backend in force can train weights (has the convolution's filter gradient). */
export function hasWeightGradients(): boolean {
  return tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
}

/**
 * Refuses a method that trains weights on a backend without weight gradients, naming the
 * options that ask for it and what to change.
 */
export function requireWeightGradients(
  wanted: { option: RunOptionKey; value: string; instead: string }[],
): void {
  if (wanted.length === 0 || hasWeightGradients()) return;
  const backend = tf.getBackend();
  throw new RunOptionError((name) => {
    const asked = wanted.map((w) => `${name(w.option)} ${w.value}`).join(' and ');
    const instead = wanted.map((w) => `${name(w.option)} ${w.instead}`).join(' and ');
    return (
      `${asked} trains weights and needs weight gradients, which the ${backend} backend lacks ` +
      `(no Conv2DBackpropFilter); use ${name('backend')} native (or cpu, much slower), or ${instead}`
    );
  });
}
