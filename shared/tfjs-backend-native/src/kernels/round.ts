// Round: half to even (std::nearbyint in the default rounding mode), as the cpu kernel's banker's
// rounding; on the path of every fake-quantized activation.
import { Round } from '@tensorflow/tfjs-core';
import { UnaryOpCode } from '../addon.js';
import { unaryKernel } from './unary.js';

export const round = unaryKernel<Record<string, never>>(Round, UnaryOpCode.round, () => 0);
