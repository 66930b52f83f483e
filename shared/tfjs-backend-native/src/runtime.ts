// The loaded addon together with the governor of its thread count, created once per process.
import { loadAddon, type NativeAddon } from './addon.js';
import { ThreadGovernor } from './threads.js';

export interface Runtime {
  /** The addon, with its multi-threaded (oneDNN) calls preceded by a thread-count check. */
  addon: NativeAddon;
  governor: ThreadGovernor;
}

export type RuntimeLoad = ({ ok: true } & Runtime) | { ok: false; reason: string };

let runtime: RuntimeLoad | undefined;

export function nativeRuntime(): RuntimeLoad {
  runtime ??= createRuntime();
  return runtime;
}

function createRuntime(): RuntimeLoad {
  const load = loadAddon();
  if (!load.ok) return load;
  const raw = load.addon;
  // An explicit OMP_NUM_THREADS is the user's choice: keep it fixed.
  const ompThreads = process.env.OMP_NUM_THREADS;
  const maxThreads = raw.info().threads;
  const governor = new ThreadGovernor(maxThreads, (n) => raw.setThreads(n), ompThreads ? maxThreads : null);
  const addon: NativeAddon = {
    ...raw,
    convForward: (...args) => {
      governor.tick();
      raw.convForward(...args);
    },
    convBackwardData: (...args) => {
      governor.tick();
      raw.convBackwardData(...args);
    },
    convBackwardFilter: (...args) => {
      governor.tick();
      raw.convBackwardFilter(...args);
    },
    matMul: (...args) => {
      governor.tick();
      raw.matMul(...args);
    },
  };
  return { ok: true, addon, governor };
}
