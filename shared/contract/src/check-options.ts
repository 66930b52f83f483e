import { RunOptionError } from './option-error.js';
import type { RunSettings } from './run-options.js';
import { SYNTHESIS_METHODS, synthesisMethodFor } from './synthesis-methods.js';

/**
 * Checks that need only the options (not the model or the backend), so every front end refuses
 * a run that cannot work before anything is queued or computed.
 */
export function checkRunSettings(settings: RunSettings): void {
  if (SYNTHESIS_METHODS[synthesisMethodFor(settings)].needsEvalData && settings.evalDir === null)
    throw new RunOptionError(
      (name) =>
        `${name('synth')} ${settings.synth} reads its images from the evaluation data's training split: set ${name('evalDir')} too`,
    );
}

/** A run whose weight bits are chosen per layer (any of the mixed-precision targets set). */
export function wantsMixedPrecision(
  settings: Pick<RunSettings, 'sizeBudget' | 'bopsBudget' | 'maxDrop'>,
): boolean {
  return settings.sizeBudget !== null || settings.bopsBudget !== null || settings.maxDrop !== null;
}
