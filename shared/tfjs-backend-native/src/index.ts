// TF.js backend 'native': the cpu backend, with its hot kernels replaced by a Node-API addon (oneDNN
// for convolutions and matrix products, plain C++ for the memory-bound ones).
import * as tf from '@tensorflow/tfjs-core';
import type { AddonInfo } from './addon.js';
import { NativeBackend } from './backend.js';
import { fusedOps, installFusedOps } from './fused-ops.js';
import { nativeKernels } from './kernels/registry.js';
import { nativeRuntime } from './runtime.js';

export type { FusedOps } from './fused-ops.js';
export type { KernelCounts } from './kernels/stats.js';
/** Per replaced kernel: calls served by the addon and calls handed to the cpu kernel, since the last reset. */
export {
  kernelStats as nativeKernelStats,
  resetKernelStats as resetNativeKernelStats,
} from './kernels/stats.js';
export { setOutputPoolLimit } from './output-memory.js';
/** Fused ops of the training loops (available() says whether 'native' is in force). */
export { fusedOps, NativeBackend };

export const NATIVE_BACKEND_NAME = 'native';

/** Names of the kernels the addon replaces (calls it can't serve still go to the cpu kernel). */
export const nativeKernelNames: readonly string[] = nativeKernels.map((k) => k.kernelName);

export type RegisterResult = { ok: true } | { ok: false; reason: string };

export interface RegisterOptions {
  /**
   * TF.js picks the highest-priority backend when none is set. The default, 0, is below 'cpu' (1), so
   * 'native' is used only after tf.setBackend('native').
   */
  priority?: number;
}

let registered: RegisterResult | undefined;

/**
 * Registers the 'native' backend and its kernels. Idempotent: later calls return the first result.
 * Returns ok: false, with the reason, when the addon is unavailable; nothing is registered then.
 */
export function registerNativeBackend(options: RegisterOptions = {}): RegisterResult {
  registered ??= register(options.priority ?? 0);
  return registered;
}

function register(priority: number): RegisterResult {
  const load = nativeRuntime();
  if (!load.ok) return { ok: false, reason: load.reason };
  // Process-wide, and worth it: fresh output arrays otherwise cost as much as the kernels filling them.
  load.addon.tuneAllocator();
  // Another copy of this module (e.g. a second build) may already have registered the backend.
  if (tf.findBackendFactory(NATIVE_BACKEND_NAME) == null) {
    tf.registerBackend(
      NATIVE_BACKEND_NAME,
      () => new NativeBackend((buffer) => load.addon.release(buffer)),
      priority,
    );
  }
  const overrides = new Map(nativeKernels.map((k) => [k.kernelName, k]));
  for (const config of tf.getKernelsForBackend('cpu')) {
    if (tf.getKernel(config.kernelName, NATIVE_BACKEND_NAME) !== undefined) continue;
    const override = overrides.get(config.kernelName);
    const kernelFunc = override ? override.make(load.addon, config.kernelFunc) : config.kernelFunc;
    tf.registerKernel({ ...config, backendName: NATIVE_BACKEND_NAME, kernelFunc });
  }
  installFusedOps(load.addon);
  return { ok: true };
}

export type NativeBackendInfo =
  | ({ available: true; threadMode: 'auto' | 'fixed' } & AddonInfo)
  | { available: false; reason: string };

/**
 * oneDNN's version, the instruction set it dispatches to and its current thread count, or why the addon
 * is unavailable. `threadMode` 'auto' means the count follows the load of other processes (threads.ts).
 */
export function nativeBackendInfo(): NativeBackendInfo {
  const load = nativeRuntime();
  if (!load.ok) return { available: false, reason: load.reason };
  return { available: true, threadMode: load.governor.mode, ...load.addon.info() };
}

/**
 * Fixes how many threads oneDNN uses, or with 'auto' (the default unless OMP_NUM_THREADS is set) lets the
 * count follow the machine's load: all cores when idle, one fewer per core other processes keep busy.
 * Returns false if the addon is unavailable.
 */
export function setNativeThreads(threads: number | 'auto'): boolean {
  if (threads !== 'auto' && (!Number.isInteger(threads) || threads < 1)) {
    throw new RangeError(`threads must be a positive integer or 'auto', got ${threads}`);
  }
  const load = nativeRuntime();
  if (load.ok) load.governor.pin(threads === 'auto' ? null : threads);
  return load.ok;
}

/** Drops the cached oneDNN primitives (they are rebuilt on demand). */
export function clearNativeCaches(): void {
  const load = nativeRuntime();
  if (load.ok) load.addon.clearCache();
}
