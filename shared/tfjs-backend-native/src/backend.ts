import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { BackendValues, DataId, DataType } from '@tensorflow/tfjs-core';
import { isOutputMemory, releaseOutput, retainOutput } from './output-memory.js';

/**
 * The 'native' backend. Tensor storage, memory accounting and every kernel without a native version are
 * the cpu backend's; the registered kernels decide which calls go to oneDNN. The one change to storage:
 * native kernel outputs are freed when their last tensor is disposed, not when V8 gets round to it.
 */
export class NativeBackend extends MathBackendCPU {
  /** `free` frees an output array's memory at once (the addon's release); null leaves it to the GC. */
  constructor(private readonly free: ((buffer: ArrayBuffer) => boolean) | null = null) {
    super();
    // MathBackendCPU's first write prints a banner recommending tfjs-node, which is beside the point
    // for this backend; the flag that triggers it is private, hence the cast.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    retainOutput(values);
    return super.write(values, shape, dtype);
  }

  override move(
    dataId: DataId,
    values: BackendValues,
    shape: number[],
    dtype: DataType,
    refCount: number,
  ): void {
    retainOutput(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId)?.values : undefined;
    const removed = super.disposeData(dataId, force);
    if (removed && values !== undefined && this.free !== null) releaseOutput(values, this.free);
    return removed;
  }

  // Reads hand out copies of output memory, since the original is freed when its tensor is disposed.
  override readSync(dataId: DataId): BackendValues {
    const values = super.readSync(dataId);
    return isOutputMemory(values) && ArrayBuffer.isView(values) ? (values as Float32Array).slice() : values;
  }
}
