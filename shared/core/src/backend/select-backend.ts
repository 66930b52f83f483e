import { BACKEND_CHOICES, type BackendRequest } from '@dfq/contract';
import * as tf from '@tensorflow/tfjs';
import { type FusedOpsProvider, useFusedOps } from '../model/fused-ops.js';

export interface BackendAttempt {
  backend: Exclude<BackendRequest, 'auto'>;
  ok: boolean;
  reason?: string;
}

export interface BackendChoice {
  requested: BackendRequest;
  /** dfq's name for what was chosen. */
  name: Exclude<BackendRequest, 'auto'>;
  /** The TF.js backend name in force (e.g. 'tensorflow' for tfjs-node). */
  tfBackend: string;
  /** What was tried, in order, and why each failure failed: printed and recorded in reports. */
  attempts: BackendAttempt[];
}

const AUTO_ORDER: Exclude<BackendRequest, 'auto'>[] = ['tfjs-node-gpu', 'tfjs-node', 'native', 'wasm', 'cpu'];

// A variable specifier keeps bundlers and tsc from resolving optional packages at build time.
async function optionalImport(specifier: string): Promise<Record<string, unknown>> {
  return (await import(specifier)) as Record<string, unknown>;
}

function message(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return 'not installed';
  return text.split('\n')[0] ?? text;
}

/** Makes one backend available to TF.js; resolves to its TF.js name or throws why not. */
async function activate(backend: Exclude<BackendRequest, 'auto'>): Promise<string> {
  switch (backend) {
    case 'tfjs-node-gpu':
    case 'tfjs-node': {
      await optionalImport(`@tensorflow/${backend}`);
      if (!tf.findBackend('tensorflow')) {
        throw new Error(
          `@tensorflow/${backend} loaded but registered no backend with this copy of @tensorflow/tfjs`,
        );
      }
      return 'tensorflow';
    }
    case 'native': {
      if (process.env.DFQ_NATIVE === 'off') throw new Error('disabled by DFQ_NATIVE=off');
      const mod = await optionalImport('@dfq/tfjs-backend-native');
      const register = mod.registerNativeBackend as (() => { ok: boolean; reason?: string }) | undefined;
      const result = register?.();
      if (!result?.ok) throw new Error(result?.reason ?? 'registerNativeBackend is missing');
      useFusedOps((mod.fusedOps as FusedOpsProvider | undefined) ?? null);
      return 'native';
    }
    case 'wasm':
      await optionalImport('@tensorflow/tfjs-backend-wasm');
      return 'wasm';
    case 'cpu':
      return 'cpu';
  }
}

/**
 * Picks the tensor backend. `auto` takes the first of tfjs-node-gpu, tfjs-node, native, wasm,
 * cpu that loads and initialises; a named backend that fails is an error, not a silent fallback.
 */
export async function selectBackend(requested: BackendRequest = 'auto'): Promise<BackendChoice> {
  if (!BACKEND_CHOICES.includes(requested)) {
    throw new Error(`unknown backend ${String(requested)}; choose one of ${BACKEND_CHOICES.join(', ')}`);
  }
  // Production mode skips per-op debug checks and the console banner urging tfjs-node.
  tf.enableProdMode();
  const candidates = requested === 'auto' ? AUTO_ORDER : [requested];
  const attempts: BackendAttempt[] = [];
  for (const backend of candidates) {
    try {
      const tfBackend = await activate(backend);
      if (!(await tf.setBackend(tfBackend)))
        throw new Error(`tf.setBackend('${tfBackend}') failed to initialise`);
      await tf.ready();
      attempts.push({ backend, ok: true });
      return { requested, name: backend, tfBackend, attempts };
    } catch (err) {
      attempts.push({ backend, ok: false, reason: message(err) });
    }
  }
  const why = attempts.map((a) => `${a.backend}: ${a.reason}`).join('; ');
  throw new Error(`no usable tensor backend for '${requested}' (${why})`);
}

/** Reads DFQ_BACKEND, validating it. */
export function backendFromEnv(env: NodeJS.ProcessEnv = process.env): BackendRequest | undefined {
  const value = env.DFQ_BACKEND;
  if (value === undefined || value === '') return undefined;
  if (!(BACKEND_CHOICES as readonly string[]).includes(value)) {
    throw new Error(`DFQ_BACKEND=${value} is not one of ${BACKEND_CHOICES.join(', ')}`);
  }
  return value as BackendRequest;
}
