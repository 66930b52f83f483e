/** Lets timers and I/O run (progress messages, lock renewals, cancellation polls) inside long tensor loops. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
