import {
  addStep,
  avgPoolStep,
  concatStep,
  cropStep,
  globalAvgPoolStep,
  globalMaxPoolStep,
  lookupStep,
  maxPoolStep,
  multiplyStep,
  upsampleStep,
  zeroPadStep,
} from './integer-kernels.js';
import {
  type IntegerGrid,
  type IntegerModel,
  type IntegerNode,
  integerInput,
  integerOutput,
} from './integer-model.js';
import { conv2dStep, denseStep, depthwiseStep, type LayerStats, type Step } from './weighted-kernels.js';

/**
 * Runs an IntegerModel with integer multiply, add, compare and shift only, over flat typed
 * arrays, one image at a time (a layer's buffers stay in cache). Integers are float64 values
 * holding integers: products and sums stay below 2^53, so every operation is exact, and the
 * accumulator's width is emulated by checking and wrapping the exact sum.
 */

export interface IntegerRunResult {
  /** [batch, classes]: the output node's integers; real value (v - zeroPoint) · scale on its grid. */
  logits: Int32Array;
  /** Per conv/dense layer: outputs whose exact sum left the accumulator's range (and wrapped). */
  overflows: Map<string, number>;
  /** Per conv/dense layer: the largest |Σ q_w·(q_x - z_x)| seen, before the bias. */
  maxAbsAccumulator: Map<string, number>;
}

interface Compiled {
  steps: Step[];
  input: Int32Array;
  output: Int32Array;
  stats: Map<string, LayerStats>;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Buffers for one image and a closure per node that computes its buffer from its inputs'. */
function compile(model: IntegerModel): Compiled {
  const buffers = new Map<string, Int32Array>();
  const shapes = new Map<string, number[]>();
  const grids = new Map<string, IntegerGrid>();
  const stats = new Map<string, LayerStats>();
  const steps: Step[] = [];
  const read = (node: IntegerNode, i = 0): Int32Array => {
    const b = buffers.get(node.inputs[i] as string);
    if (!b) throw new Error(`integer node ${node.name} reads ${node.inputs[i]} before it is computed`);
    return b;
  };
  for (const node of model.nodes) {
    const inShape = shapes.get(node.inputs[0] ?? '') ?? [];
    const inGrid = grids.get(node.inputs[0] ?? '') ?? node.grid;
    shapes.set(node.name, node.shape);
    grids.set(node.name, node.grid);
    // Reshapes alias their input's buffer: no copy, no step.
    if (node.op === 'flatten' || node.op === 'identity') {
      buffers.set(node.name, read(node));
      continue;
    }
    const y = new Int32Array(size(node.shape));
    buffers.set(node.name, y);
    switch (node.op) {
      case 'input':
        break;
      case 'conv2d':
      case 'depthwiseConv2d':
      case 'dense': {
        const s: LayerStats = { overflows: 0, maxAbs: 0 };
        stats.set(node.name, s);
        if (node.op === 'dense') steps.push(denseStep(node, inGrid, read(node), y, s));
        else if (node.op === 'conv2d') steps.push(conv2dStep(node, inShape, inGrid, read(node), y, s));
        else steps.push(depthwiseStep(node, inShape, read(node), y, s));
        break;
      }
      case 'add':
        steps.push(
          addStep(
            node,
            node.inputs.map((_, i) => read(node, i)),
            y,
          ),
        );
        break;
      case 'concat':
        steps.push(
          concatStep(
            node,
            node.inputs.map((_, i) => read(node, i)),
            y,
          ),
        );
        break;
      case 'multiply':
        steps.push(
          multiplyStep(
            node,
            node.inputs.map((_, i) => read(node, i)),
            y,
          ),
        );
        break;
      case 'globalMaxPool':
        steps.push(globalMaxPoolStep(node, read(node), y));
        break;
      case 'crop':
        steps.push(cropStep(node, inShape, read(node), y));
        break;
      case 'upsample':
        steps.push(upsampleStep(node, inShape, read(node), y));
        break;
      case 'zeroPad':
        steps.push(zeroPadStep(node, inShape, read(node), y));
        break;
      case 'maxPool':
        steps.push(maxPoolStep(node, inShape, read(node), y));
        break;
      case 'avgPool':
        steps.push(avgPoolStep(node, inShape, read(node), y));
        break;
      case 'globalAvgPool':
        steps.push(globalAvgPoolStep(node, inShape, read(node), y));
        break;
      case 'lookup':
        steps.push(lookupStep(node, read(node), y));
        break;
    }
  }
  const input = buffers.get(integerInput(model).name) as Int32Array;
  const output = buffers.get(integerOutput(model).name) as Int32Array;
  return { steps, input, output, stats };
}

/**
 * Runs `batch` images (NHWC integers on the input node's grid, e.g. from quantizePixels) through
 * the integer model. Logits come back on the output node's grid; their argmax is the prediction.
 */
export function runInteger(model: IntegerModel, input: Int32Array, batch: number): IntegerRunResult {
  const inNode = integerInput(model);
  const perImage = size(inNode.shape);
  if (input.length !== perImage * batch)
    throw new RangeError(
      `input holds ${input.length} values; ${batch} images of [${inNode.shape}] need ${perImage * batch}`,
    );
  const max = 2 ** (inNode.grid.bits ?? 31) - 1;
  for (let i = 0; i < input.length; i++) {
    const v = input[i] as number;
    if (!(v >= 0 && v <= max))
      throw new RangeError(`input value ${v} at ${i} is outside the input grid [0, ${max}]`);
  }
  const compiled = compile(model);
  const classes = compiled.output.length;
  const logits = new Int32Array(batch * classes);
  for (let b = 0; b < batch; b++) {
    compiled.input.set(input.subarray(b * perImage, (b + 1) * perImage));
    for (const step of compiled.steps) step();
    logits.set(compiled.output, b * classes);
  }
  const overflows = new Map<string, number>();
  const maxAbsAccumulator = new Map<string, number>();
  for (const [name, s] of compiled.stats) {
    overflows.set(name, s.overflows);
    maxAbsAccumulator.set(name, s.maxAbs);
  }
  return { logits, overflows, maxAbsAccumulator };
}
