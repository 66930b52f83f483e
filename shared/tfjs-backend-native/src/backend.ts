import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/**
 * The 'native' backend. Tensor storage, memory accounting and every kernel without a native version are
 * the cpu backend's; the registered kernels decide which calls go to oneDNN.
 */
export class NativeBackend extends MathBackendCPU {
  constructor() {
    super();
    // MathBackendCPU's first write prints a banner recommending tfjs-node, which is beside the point
    // for this backend; the flag that triggers it is private, hence the cast.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }
}
