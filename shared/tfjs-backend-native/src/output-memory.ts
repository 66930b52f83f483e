/**
 * Memory of kernel outputs, freed the moment the last tensor using it is disposed.
 *
 * A tensor's array is otherwise freed only when V8 collects it. Native kernels allocate output arrays
 * so fast that collection lags tens of MB behind, which made a native run peak higher than the same
 * run on the slower cpu backend (bench/synthesis-memory.mjs: before this, peak RSS of direct synthesis
 * fell from ~480 to ~440 MiB when garbage was collected every 20 ms; now it is ~427 MiB either way).
 * Only arrays allocated here are ever freed early: one a user handed to tf.tensor() stays theirs, and
 * reads of ours return copies, so nothing outside the backend can hold an array that is later detached.
 */
import type { BackendValues } from '@tensorflow/tfjs-core';

/** How many stored tensors use each output array's memory (slices may share one). */
const storedTensors = new WeakMap<ArrayBufferLike, number>();

/**
 * An output array for a kernel that writes every element: uninitialised memory, skipping the zeroing a
 * Float32Array gets (with the allocator tuned at registration, it is recycled heap memory, so this also
 * avoids page faults; see tuneAllocator in native/addon.cc).
 */
export function allocOutput(size: number): Float32Array {
  const bytes = size * Float32Array.BYTES_PER_ELEMENT;
  const buffer = takeFreed(bytes) ?? Buffer.allocUnsafeSlow(bytes).buffer;
  liveBytes += bytes;
  peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
  storedTensors.set(buffer, 0);
  return new Float32Array(buffer, 0, size);
}

/**
 * Freed output arrays kept for the next output of the same byte size, oldest first. A training loop
 * allocates the same shapes every step; fresh memory for each costs a page fault per 4 KiB, which on a
 * 224x224 model took longer than the kernels themselves (a ReLU gradient over 26 MB: 3.6 ms on reused
 * memory, 9.8 ms on fresh). Bounded by `poolLimit`; beyond it the oldest are freed, and so is any array
 * not reused within MAX_IDLE_MS (a loop reuses its arrays within one step; arrays of a finished phase
 * would otherwise stay resident: the example's W8A8 run peaked at 612 MiB instead of 382).
 */
const MAX_IDLE_MS = 1000;
/**
 * Bytes of output arrays in use, and their peak: the pool keeps at most that peak (and at least
 * MIN_POOL_BYTES), so it scales with the work. Measured on the example's W8A8 run (`dfq run --model
 * examples/resnet-fmnist-a/model.json --eval`): 419 MiB peak, 46 s; with DFQ_NATIVE_POOL_MIB=0,
 * 279 MiB, 62 s. Half the peak as the bound made 28x28 synthesis markedly slower again.
 */
let liveBytes = 0;
let peakLiveBytes = 0;
const MIN_POOL_BYTES = 32 * 1024 * 1024;
const freed: ArrayBuffer[] = [];
/** When each array in `freed` was freed (performance.now()), in the same order. */
const freedAt: number[] = [];
let freedBytes = 0;
export const DEFAULT_POOL_LIMIT = 512 * 1024 * 1024;

/** DFQ_NATIVE_POOL_MIB overrides the default (0: no pool), e.g. on a host where every MiB counts. */
function limitFromEnv(): number | null {
  const text = process.env.DFQ_NATIVE_POOL_MIB;
  if (text === undefined || text === '') return null;
  const mib = Number(text);
  if (!Number.isFinite(mib) || mib < 0)
    throw new RangeError(`DFQ_NATIVE_POOL_MIB must be a number of MiB >= 0, got '${text}'`);
  return mib * 1024 * 1024;
}

let poolLimit = limitFromEnv() ?? DEFAULT_POOL_LIMIT;

/** Caps the bytes of freed output arrays kept for reuse (0 frees every array at once). */
export function setOutputPoolLimit(bytes: number): void {
  poolLimit = Math.max(0, bytes);
  while (freedBytes > poolLimit) evictOldest();
}

let freeBuffer: ((buffer: ArrayBuffer) => boolean) | null = null;

function evictOldest(): void {
  const oldest = freed.shift();
  freedAt.shift();
  if (oldest === undefined) return;
  freedBytes -= oldest.byteLength;
  freeBuffer?.(oldest);
}

function evictIdle(now: number): void {
  while (freedAt.length > 0 && now - (freedAt[0] as number) > MAX_IDLE_MS) evictOldest();
}

function takeFreed(bytes: number): ArrayBuffer | null {
  evictIdle(performance.now());
  // Search from the newest: it is the likeliest to be in cache.
  for (let i = freed.length - 1; i >= 0; i--) {
    const buffer = freed[i] as ArrayBuffer;
    if (buffer.byteLength !== bytes) continue;
    freed.splice(i, 1);
    freedAt.splice(i, 1);
    freedBytes -= bytes;
    return buffer;
  }
  return null;
}

/** The pool's bound now: the configured limit, scaled to the work seen so far. */
function poolBound(): number {
  return Math.min(poolLimit, Math.max(MIN_POOL_BYTES, peakLiveBytes));
}

function keepOrFree(buffer: ArrayBuffer, free: (buffer: ArrayBuffer) => boolean): void {
  freeBuffer = free;
  liveBytes -= buffer.byteLength;
  const bound = poolBound();
  if (buffer.byteLength > bound) {
    free(buffer);
    return;
  }
  const now = performance.now();
  freed.push(buffer);
  freedAt.push(now);
  freedBytes += buffer.byteLength;
  evictIdle(now);
  while (freedBytes > bound) evictOldest();
}

function ownedBuffer(values: BackendValues | undefined): ArrayBufferLike | null {
  if (values == null || !ArrayBuffer.isView(values)) return null;
  return storedTensors.has(values.buffer) ? values.buffer : null;
}

/**
 * Whether `values` is the whole of an output array that exactly one stored tensor uses: a kernel may
 * then overwrite it as its own output (the caller disposes that tensor next, as a training step does).
 */
export function isSoleOutput(values: BackendValues | undefined): boolean {
  const buffer = ownedBuffer(values);
  return (
    buffer !== null &&
    storedTensors.get(buffer) === 1 &&
    (values as Float32Array).byteOffset === 0 &&
    (values as Float32Array).byteLength === buffer.byteLength
  );
}

/** Whether `values` lives in memory this module may free; reads must then hand out copies. */
export function isOutputMemory(values: BackendValues | undefined): boolean {
  return ownedBuffer(values) !== null;
}

/** Counts a tensor now stored on `values`. */
export function retainOutput(values: BackendValues | undefined): void {
  const buffer = ownedBuffer(values);
  if (buffer !== null) storedTensors.set(buffer, (storedTensors.get(buffer) ?? 0) + 1);
}

/** Uncounts a tensor disposed from `values`; frees the memory when no stored tensor uses it any more. */
export function releaseOutput(
  values: BackendValues | undefined,
  free: (buffer: ArrayBuffer) => boolean,
): void {
  const buffer = ownedBuffer(values);
  if (buffer === null) return;
  const remaining = (storedTensors.get(buffer) as number) - 1;
  if (remaining > 0) {
    storedTensors.set(buffer, remaining);
    return;
  }
  storedTensors.delete(buffer);
  keepOrFree(buffer as ArrayBuffer, free);
}
