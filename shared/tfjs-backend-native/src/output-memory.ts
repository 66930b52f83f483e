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
  const buffer = Buffer.allocUnsafeSlow(size * Float32Array.BYTES_PER_ELEMENT).buffer;
  storedTensors.set(buffer, 0);
  return new Float32Array(buffer, 0, size);
}

function ownedBuffer(values: BackendValues | undefined): ArrayBufferLike | null {
  if (values == null || !ArrayBuffer.isView(values)) return null;
  return storedTensors.has(values.buffer) ? values.buffer : null;
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
  free(buffer as ArrayBuffer);
}
