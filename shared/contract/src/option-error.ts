import type { RunOptionKey } from './run-options.js';

/** How a caller names an option: the CLI by its flag, the API by its request field. */
export type OptionNamer = (key: RunOptionKey) => string;

/**
 * A run's options do not fit together, or do not fit the model or the machine. The message is
 * written against option keys; each front end phrases it in its own terms with `phrase`.
 */
export class RunOptionError extends Error {
  override readonly name = 'RunOptionError';

  constructor(private readonly explain: (name: OptionNamer) => string) {
    super(explain((key) => key));
  }

  phrase(name: OptionNamer): string {
    return this.explain(name);
  }
}

/** The run needs more than a budget allows (memory, for now): services answer it with 413. */
export class RunTooLargeError extends RunOptionError {}
