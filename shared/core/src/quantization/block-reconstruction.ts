import type { DistillationProgress } from '@dfq/contract';
import * as tf from '@tensorflow/tfjs';
import { requireWeightGradients } from '../backend/weight-gradients.js';
import type { GraphNode, ModelGraph, WeightedNode } from '../model/graph.js';
import { isWeighted, outputChannelIndexer } from '../model/graph.js';
import { GraphRunner } from '../model/graph-runner.js';
import { Adam } from '../util/adam.js';
import { seededRandom } from '../util/rng.js';
import { yieldToEventLoop } from '../util/yield.js';
import { type AffineParams, fakeQuantize } from './activation-quantizer.js';
import { type Block, blockGraph, partitionBlocks } from './blocks.js';
import { fakeQuantizeLearnedStep, learnedGrids, logStepVariable } from './learned-step.js';
import { DEFAULT_MEAN_FIELD, expectedLevels, levelScores, likeliestLevels } from './mean-field.js';
import type { QuantizedModel } from './quantize-model.js';
import { type ChannelQuantized, channelQuantized, weightLevels } from './weight-quantizer.js';

export interface ReconstructionOptions {
  /** Optimization steps per block. */
  iterations: number;
  batchSize: number;
  /** Adam step for the rounding variables; weight scales and activation steps use a tenth of it. */
  learningRate: number;
  /** Weight of the rounding regularizer (AdaRound's λ; BRECQ's 0.01). */
  roundingWeight: number;
  /** The regularizer's exponent, annealed from start to end after the warm-up share of the steps. */
  betaStart: number;
  betaEnd: number;
  warmup: number;
  /** Learn each quantized activation's step size (LSQ) instead of keeping the calibrated one. */
  learnActivationSteps: boolean;
  /**
   * Learn a block's output step in the block that reads it (QDrop's placement), against that block's
   * output error, instead of in the block that makes it, against its own. A step chosen by its own
   * block only minimizes the rounding error of the tensor itself; the next block sees what that
   * rounding costs downstream. The last block keeps its own output's step.
   */
  learnOutputStepsDownstream: boolean;
  /**
   * Anneal the activation steps' learning rate to zero over each block's steps (cosine, as BRECQ
   * does), so the steps settle instead of ending wherever the last batches pushed them.
   */
  annealStepRate: boolean;
  /**
   * The same for the weight scales (and biases), except in blocks with binary weights: their scales
   * must follow sign flips until the last step.
   */
  annealScaleRate: boolean;
  /** Learn each output channel's weight scale beside the rounding. */
  learnWeightScales: boolean;
  /** Learn each layer's bias beside the rounding (it stays float until the int32 export). */
  learnBiases: boolean;
  /** The rounding variable: AdaRound's, or a mean-field distribution over all levels. */
  rounding: RoundingRelaxationName;
  /** QDrop: probability that an activation keeps its full-precision value in a training step (0: off). */
  dropProbability: number;
  /** Blocks with binary-weight layers learn at this step, for this many times the iterations. */
  binaryLearningRate: number;
  binaryIterationsFactor: number;
  seed: number;
  onProgress?: (p: DistillationProgress) => void;
  /** Called when a block is done, with its figures. */
  onBlock?: (b: BlockFigures, index: number, count: number) => void;
}

export const DEFAULT_RECONSTRUCTION: Omit<ReconstructionOptions, 'seed' | 'iterations'> = {
  batchSize: 32,
  learningRate: 1e-2,
  roundingWeight: 0.01,
  betaStart: 20,
  betaEnd: 2,
  warmup: 0.2,
  learnActivationSteps: true,
  learnOutputStepsDownstream: true,
  // Example model, W4A4, image seeds 0/2/3 (quantizer seed = image seed), 300 steps, full test split:
  // own-block steps at constant rates 91.54/91.19/91.33%; steps learned downstream 91.21/91.45/91.33;
  // rates annealed 91.49/91.44/91.25; both 91.46/91.47/91.53. Annealing binary blocks' scales at W1A8:
  // 86.78/85.22/87.70 against 87.86/86.84/87.12 with steps only.
  annealStepRate: true,
  annealScaleRate: true,
  learnWeightScales: true,
  learnBiases: false,
  // Example model, 256 direct images (seed 0), 300 steps per block, full test split
  // (scripts/recon-ablation.mjs): mean-field vs AdaRound rounding at W4A4 91.31 vs 91.16%, W3A3 89.51
  // vs 88.26%, W2A8 89.93 vs 85.80%, W1A8 69.19 vs 59.21%. AdaRound only moves a weight to an adjacent
  // level; a distribution over all levels can also move it across zero, which ternary and binary need.
  rounding: 'meanfield',
  dropProbability: 0.5,
  // Binary weights must travel farther (a sign flip, not a neighbouring level). W1A8, mean-field
  // rounding, every block at one rate and step count: 300 steps at 0.01 gave 69.19 / 58.02 / 63.93%
  // (image seeds 0, 2, 3), 600 at 0.03 gave 81.61 / 77.84 / 80.92%; 1,200 at 0.03 82.01%, 600 at 0.1
  // 81.66%, 300 at 0.1 79.24% (seed 0). The same change at W2A8 measured 89.97 vs 89.93%, so only
  // binary blocks get it: 79.48 / 77.68 / 81.08% as this default. Reproduce with
  // `ABLATION_QUANTIZERS=recon node scripts/recon-ablation.mjs <images> 1 8 <steps> 10000 '<settings>'`,
  // settings {"learningRate":r,"binaryLearningRate":r,"binaryIterationsFactor":1} for one rate r.
  binaryLearningRate: 0.03,
  binaryIterationsFactor: 2,
};

interface BlockBudget {
  iterations: number;
  learningRate: number;
  /** Whether the weight scales' rate is annealed. */
  annealScales: boolean;
}

/** How long and how fast a block learns: binary-weight blocks get their own budget. */
function blockBudget(block: Block, init: QuantizedModel, options: ReconstructionOptions): BlockBudget {
  const binary = block.nodes.some((n) => init.weights.get(n.name)?.bits === 1);
  return binary
    ? {
        iterations: Math.round(options.iterations * options.binaryIterationsFactor),
        learningRate: options.binaryLearningRate,
        annealScales: false,
      }
    : {
        iterations: options.iterations,
        learningRate: options.learningRate,
        annealScales: options.annealScaleRate,
      };
}

export interface BlockFigures {
  /** The block's output node and its weighted layers. */
  output: string;
  layers: string[];
  /** Reconstruction error (sum over channels, mean over positions) at the first and last step. */
  lossInitial: number;
  lossFinal: number;
  /** The same error with hard rounding, measured on all images after the block is done. */
  hardError: number;
  /** Round-to-nearest's error for the same block input, for comparison. */
  nearestError: number;
  /** Which the block keeps: the learned rounding, or round-to-nearest where that came closer. */
  kept: 'learned' | 'nearest';
  /** Its optimizer steps and the rounding variables' learning rate. */
  steps: number;
  learningRate: number;
  seconds: number;
}

export interface ReconstructionResult {
  weights: Map<string, ChannelQuantized>;
  biases: Map<string, Float32Array>;
  /** Activation grids with learned steps (only those learned). */
  activations: Map<string, AffineParams>;
  blocks: BlockFigures[];
  trainedLayers: string[];
  lossInitial: number;
  lossFinal: number;
  changedFromNearest: number;
  seconds: number;
}

// AdaRound's rectified sigmoid stretch: h(V) = clip(sigmoid(V) * (ζ - γ) + γ, 0, 1).
const ZETA = 1.1;
const GAMMA = -0.1;

/**
 * How a layer's choice of grid level is relaxed while it is learned. Both start at the FP32 weight
 * (in expectation) and end on the grid: AdaRound moves each weight between its two adjacent levels
 * under an annealed regularizer; mean-field keeps a distribution over all levels and sharpens it.
 */
interface RoundingRelaxation {
  /** The trainable rounding state (AdaRound's V, or the level scores). */
  variable: tf.Variable;
  /** Relaxed levels (grid units) in the node's shape at sharpness `beta`. */
  soft(beta: number): tf.Tensor;
  /** The regularizer toward a hard choice, or null where sharpening alone ends on the grid. */
  penalty(beta: number): tf.Scalar | null;
  /** The chosen level of every weight. */
  hard(): Promise<Int32Array>;
  dispose(): void;
}

/** The relaxation's sharpness at step `it` of `n`, and whether its regularizer is on. */
interface RoundingSchedule {
  at(it: number, n: number): { beta: number; regularize: boolean };
}

/** One layer's learned state: rounding, per-channel scales, and bias. */
interface LayerRounding {
  node: WeightedNode;
  init: ChannelQuantized;
  relaxation: RoundingRelaxation;
  logScale: tf.Variable;
  bias: tf.Variable;
  channels: number;
}

const rectifiedSigmoid = (v: tf.Tensor) =>
  tf.clipByValue(tf.add(tf.mul(tf.sigmoid(v), ZETA - GAMMA), GAMMA), 0, 1);

// A variable shares its initial tensor's data; tidy releases the initial tensor's own handle.
const variable = (make: () => tf.Tensor, name: string) => tf.tidy(() => tf.variable(make(), true, name));

function adaRound(node: WeightedNode, init: ChannelQuantized): RoundingRelaxation {
  const { of } = outputChannelIndexer(node);
  // Binary's levels are -1 and 1, two units apart; every other grid is spaced by one.
  const gap = init.bits === 1 ? 2 : 1;
  const low = -init.maxLevel;
  const high = init.maxLevel;
  const n = node.kernel.data.length;
  const lowerLevels = new Float32Array(n);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = (node.kernel.data[i] as number) / (init.scales[of(i)] as number);
    const l = Math.min(high - gap, Math.max(low, low + Math.floor((x - low) / gap) * gap));
    const rest = Math.min(1, Math.max(0, (x - l) / gap));
    lowerLevels[i] = l;
    // The inverse of h at the weight's own position, so the soft weight starts at the FP32 value.
    v[i] = Math.log((rest - GAMMA) / (ZETA - rest));
  }
  const lower = tf.tensor(lowerLevels, node.kernel.shape);
  const rounding = variable(() => tf.tensor(v, node.kernel.shape), `${node.name}/rounding`);
  return {
    variable: rounding,
    soft: () => tf.add(lower, tf.mul(rectifiedSigmoid(rounding), gap)),
    // AdaRound's regularizer: pushes every h(V) to 0 or 1 as β falls.
    penalty: (beta) => {
      const h = rectifiedSigmoid(rounding);
      return tf.sum(tf.sub(1, tf.pow(tf.abs(tf.sub(tf.mul(h, 2), 1)), beta))) as tf.Scalar;
    },
    hard: async () => {
      const levels = tf.tidy(() =>
        tf.add(lower, tf.mul(tf.cast(tf.greaterEqual(rounding, 0), 'float32'), gap)),
      );
      const q = Int32Array.from((await levels.data()) as Float32Array, Math.round);
      levels.dispose();
      return q;
    },
    dispose: () => tf.dispose([lower, rounding]),
  };
}

function meanFieldRounding(node: WeightedNode, init: ChannelQuantized): RoundingRelaxation {
  const levelValues = weightLevels(init.bits, init.maxLevel);
  const levels = tf.tensor1d(levelValues);
  const scores = variable(() => levelScores(node, init), `${node.name}/level_scores`);
  return {
    variable: scores,
    soft: (beta) => expectedLevels(scores as tf.Tensor2D, levels, beta).reshape(node.kernel.shape),
    penalty: () => null,
    hard: () => likeliestLevels(scores as tf.Tensor2D, levelValues),
    dispose: () => tf.dispose([levels, scores]),
  };
}

/** The rounding variables block reconstruction can learn, each with its sharpness schedule. */
export const ROUNDING_RELAXATIONS = {
  adaround: {
    make: adaRound,
    // β falls linearly from start to end after the warm-up, during which the regularizer is off.
    schedule: (o: ReconstructionOptions): RoundingSchedule => ({
      at: (it, n) => {
        const warm = Math.floor(n * o.warmup);
        const progress = it < warm ? 0 : (it - warm) / Math.max(1, n - warm);
        return { beta: o.betaEnd + (o.betaStart - o.betaEnd) * (1 - progress), regularize: it >= warm };
      },
    }),
    label: 'rectified sigmoid between adjacent levels (AdaRound)',
  },
  meanfield: {
    make: meanFieldRounding,
    // Inverse temperature grown geometrically over the steps, as pmf does.
    schedule: (): RoundingSchedule => ({
      at: (it, n) => ({
        beta:
          DEFAULT_MEAN_FIELD.betaStart *
          (DEFAULT_MEAN_FIELD.betaEnd / DEFAULT_MEAN_FIELD.betaStart) ** (it / Math.max(1, n - 1)),
        regularize: false,
      }),
    }),
    label: 'softmax over all grid levels (mean-field)',
  },
} as const;

export type RoundingRelaxationName = keyof typeof ROUNDING_RELAXATIONS;

function layerRounding(
  node: WeightedNode,
  init: ChannelQuantized,
  relaxation: RoundingRelaxationName,
): LayerRounding {
  const { channels } = outputChannelIndexer(node);
  return {
    node,
    init,
    relaxation: ROUNDING_RELAXATIONS[relaxation].make(node, init),
    logScale: variable(() => tf.tensor1d(init.scales.map(Math.log)), `${node.name}/log_scale`),
    bias: variable(
      () => (node.bias ? tf.tensor1d(node.bias.data) : tf.zeros([channels])),
      `${node.name}/bias`,
    ),
    channels,
  };
}

/** Kernel from levels (grid units, the node's shape) times the per-channel scale. */
function scaled(r: LayerRounding, levels: tf.Tensor): tf.Tensor {
  return tf.mul(levels.reshape([-1, r.channels]), tf.exp(r.logScale)).reshape(r.node.kernel.shape);
}

/** BRECQ's reconstruction error: squared error summed over channels, averaged over batch and positions. */
function reconstructionError(student: tf.Tensor, teacher: tf.Tensor): tf.Scalar {
  return tf.mean(tf.sum(tf.square(tf.sub(student, teacher)), -1)) as tf.Scalar;
}

/**
 * QDrop's per-element choice between full-precision and quantized values: a pool of 0/1 draws per
 * tensor size (twice the size, drawn once from the seeded generator), cut at a random offset per use.
 * Drawing fresh uniform tensors every step cost more than the block's convolutions.
 */
class DropMasks {
  private readonly pools = new Map<number, tf.Tensor1D>();

  constructor(
    private readonly probability: number,
    private readonly random: () => number,
  ) {}

  /** full where the mask is 1, else quant; differentiable in both. */
  mix(full: tf.Tensor, quant: tf.Tensor): tf.Tensor {
    if (this.probability <= 0) return quant;
    const size = full.size;
    let pool = this.pools.get(size);
    if (!pool) {
      const draws = Float32Array.from({ length: 2 * size }, () => (this.random() < this.probability ? 1 : 0));
      pool = tf.keep(tf.tensor1d(draws));
      this.pools.set(size, pool);
    }
    const mask = pool.slice(Math.floor(this.random() * size), size).reshape(full.shape);
    return tf.add(quant, tf.mul(mask, tf.sub(full, quant)));
  }

  dispose(): void {
    tf.dispose([...this.pools.values()]);
    this.pools.clear();
  }
}

/**
 * Runs `apply` over `x` in batches and stacks the results (inference, so each batch is tidied).
 */
function batched(x: tf.Tensor, batch: number, apply: (b: tf.Tensor) => tf.Tensor): tf.Tensor {
  const n = x.shape[0] as number;
  const parts: tf.Tensor[] = [];
  for (let i = 0; i < n; i += batch) parts.push(tf.tidy(() => apply(x.slice(i, Math.min(batch, n - i)))));
  const all = parts.length === 1 ? (parts[0] as tf.Tensor) : tf.concat(parts);
  if (parts.length > 1) tf.dispose(parts);
  return all;
}

/**
 * Block-wise reconstruction on synthetic images (BRECQ, with Genie's and QDrop's additions): the
 * graph is cut into blocks (residual blocks, else single layers); for each block in order, the
 * rounding of every weight (AdaRound), the per-channel weight scales and the step size of every
 * activation quantizer inside it (LSQ) are learned so that the block's quantized output, fed by the
 * already-quantized blocks before it, matches the full-precision block's output. QDrop keeps a random
 * half of the activations full-precision in each step. The result is hard-rounded integers on the
 * same grids, so accumulator fit and the integer export apply unchanged.
 */
export async function reconstructBlocks(
  folded: ModelGraph,
  init: QuantizedModel,
  images: tf.Tensor4D,
  options: ReconstructionOptions,
): Promise<ReconstructionResult> {
  requireWeightGradients([{ option: 'quantizer', value: 'recon', instead: 'rtn' }]);
  const start = performance.now();
  const blocks = partitionBlocks(folded).filter((b) => b.nodes.some((n) => init.weights.has(n.name)));
  const random = seededRandom(options.seed);
  const count = images.shape[0];
  const batch = Math.min(options.batchSize, count);
  const budgets = blocks.map((b) => blockBudget(b, init, options));
  const totalSteps = budgets.reduce((a, b) => a + b.iterations, 0);
  const weights = new Map<string, ChannelQuantized>();
  const activations = new Map<string, AffineParams>();
  const learnedBiasData = new Map<string, Float32Array>();
  const figures: BlockFigures[] = [];

  // Block inputs for every image: full precision (the teacher's), and through the quantized blocks so far.
  const inputGrid = init.activations.get(folded.inputName);
  let fpInput: tf.Tensor = tf.clone(images);
  let qInput: tf.Tensor = inputGrid ? fakeQuantize(images, inputGrid) : tf.clone(images);
  let step = 0;
  try {
    for (const [index, block] of blocks.entries()) {
      const blockStart = performance.now();
      const graph = blockGraph(folded, block, fpInput.shape.slice(1) as number[]);
      const teacher = new GraphRunner(graph);
      const student = new GraphRunner(graph);
      const budget = budgets[index] as BlockBudget;
      // Where steps are learned downstream, this block quantizes its input (the previous block's
      // output, handed on unquantized) and leaves its own output to the next block.
      const downstream = options.learnOutputStepsDownstream;
      const ownsOutput = !downstream || index === blocks.length - 1;
      const inputGrid = downstream && index > 0 ? init.activations.get(block.input) : undefined;
      const result = await reconstructBlock(block, graph, teacher, student, init, fpInput, qInput, {
        options,
        ...budget,
        ownsOutput,
        inputGrid,
        random,
        batch,
        count,
        onStep: (loss, beta) => {
          step++;
          const seconds = (performance.now() - start) / 1000;
          options.onProgress?.({
            step,
            steps: totalSteps,
            beta,
            loss,
            seconds,
            etaSeconds: (seconds / step) * (totalSteps - step),
            block: { index: index + 1, count: blocks.length, output: block.output },
          });
        },
      }).catch((e) => {
        teacher.dispose();
        student.dispose();
        throw e;
      });
      const shapeOf = (name: string) =>
        (graph.nodes.find((n) => n.name === name) as WeightedNode).kernel.shape;
      const kernelsOf = (chosen: Map<string, ChannelQuantized>) =>
        new Map([...chosen].map(([name, wq]) => [name, tf.tensor(wq.dequantized, shapeOf(name))]));
      const transformOf =
        (grids: (name: string) => AffineParams | undefined) => (node: GraphNode, out: tf.Tensor) => {
          const skip = node.name === graph.inputName || (!ownsOutput && node.name === block.output);
          const p = skip ? undefined : grids(node.name);
          return p ? fakeQuantize(out, p) : out;
        };
      const quantizeInput = (grid: AffineParams | undefined) => (x: tf.Tensor) =>
        grid ? fakeQuantize(x, grid) : x;
      const learnedInputGrid = inputGrid && (result.activations.get(block.input) ?? inputGrid);
      const nearestWeights = new Map(
        [...result.weights.keys()].map((name) => [name, init.weights.get(name) as ChannelQuantized]),
      );
      const learnedKernels = kernelsOf(result.weights);
      const learnedBiases = new Map([...result.biases].map(([name, b]) => [name, tf.tensor1d(b)]));
      const nearestKernels = kernelsOf(nearestWeights);
      // The next block's inputs: the FP32 block on FP32 inputs, the finished quantized block on
      // quantized ones; and how close each candidate comes to the FP32 output on all images.
      const nextFp = batched(fpInput, 64, (x) => teacher.predict(x));
      const learnedQ = batched(
        qInput,
        64,
        (x) =>
          student.run(quantizeInput(learnedInputGrid)(x), {
            kernels: learnedKernels,
            biases: learnedBiases,
            transform: transformOf((n) => result.activations.get(n) ?? init.activations.get(n)),
          }).output,
      );
      const nearestQ = batched(
        qInput,
        64,
        (x) =>
          student.run(quantizeInput(inputGrid)(x), {
            kernels: nearestKernels,
            transform: transformOf((n) => init.activations.get(n)),
          }).output,
      );
      const hardError = tf.tidy(() => reconstructionError(learnedQ, nextFp).dataSync()[0] as number);
      const nearestError = tf.tidy(() => reconstructionError(nearestQ, nextFp).dataSync()[0] as number);
      // Hard rounding can undo what the soft weights learned (rounding variables left near one half):
      // a block that ends worse than round-to-nearest keeps round-to-nearest, measured, not assumed.
      const keepLearned = hardError <= nearestError;
      for (const [name, wq] of keepLearned ? result.weights : nearestWeights) weights.set(name, wq);
      if (keepLearned) for (const [name, p] of result.activations) activations.set(name, p);
      if (keepLearned) for (const [name, b] of result.biases) learnedBiasData.set(name, b);
      tf.dispose([
        ...learnedKernels.values(),
        ...learnedBiases.values(),
        ...nearestKernels.values(),
        keepLearned ? nearestQ : learnedQ,
      ]);
      teacher.dispose();
      student.dispose();
      tf.dispose([fpInput, qInput]);
      fpInput = nextFp;
      qInput = keepLearned ? learnedQ : nearestQ;
      const done: BlockFigures = {
        output: block.output,
        layers: block.nodes.filter((n) => init.weights.has(n.name)).map((n) => n.name),
        lossInitial: result.lossInitial,
        lossFinal: result.lossFinal,
        hardError,
        nearestError,
        kept: keepLearned ? 'learned' : 'nearest',
        steps: budget.iterations,
        learningRate: budget.learningRate,
        seconds: (performance.now() - blockStart) / 1000,
      };
      figures.push(done);
      options.onBlock?.(done, index, blocks.length);
    }
  } finally {
    tf.dispose([fpInput, qInput]);
  }
  let changed = 0;
  let total = 0;
  const biases = new Map<string, Float32Array>();
  for (const [name, wq] of weights) {
    const before = init.weights.get(name) as ChannelQuantized;
    wq.q.forEach((v, i) => {
      if (v !== before.q[i]) changed++;
    });
    total += wq.q.length;
    const node = folded.nodes.find((n) => n.name === name) as WeightedNode;
    const bias = learnedBiasData.get(name) ?? node.bias?.data;
    if (bias) biases.set(name, bias);
  }
  return {
    weights,
    biases,
    activations,
    blocks: figures,
    trainedLayers: [...weights.keys()],
    lossInitial: figures[0]?.lossInitial ?? Number.NaN,
    lossFinal: figures[figures.length - 1]?.lossFinal ?? Number.NaN,
    changedFromNearest: total ? changed / total : 0,
    seconds: (performance.now() - start) / 1000,
  };
}

interface BlockRun extends BlockBudget {
  options: ReconstructionOptions;
  random: () => number;
  batch: number;
  count: number;
  /** Whether the block quantizes its own output (else the next block learns that step). */
  ownsOutput: boolean;
  /** The grid of the block's input, where this block learns its step (the input arrives unquantized). */
  inputGrid: AffineParams | undefined;
  onStep: (loss: number, beta: number) => void;
}

async function reconstructBlock(
  block: Block,
  graph: ModelGraph,
  teacher: GraphRunner,
  student: GraphRunner,
  init: QuantizedModel,
  fpInput: tf.Tensor,
  qInput: tf.Tensor,
  run: BlockRun,
): Promise<{
  weights: Map<string, ChannelQuantized>;
  /** Learned biases (only with learnBiases). */
  biases: Map<string, Float32Array>;
  activations: Map<string, AffineParams>;
  lossInitial: number;
  lossFinal: number;
}> {
  const { options } = run;
  const layers = graph.nodes
    .filter(isWeighted)
    .filter((n) => init.weights.has(n.name))
    .map((n) => layerRounding(n, init.weights.get(n.name) as ChannelQuantized, options.rounding));
  // The block's activation quantizers: those inside it, its output's unless the next block owns
  // that, and its input's where it owns that (keyed by the input tensor's name in the model).
  const quantized = block.nodes.filter(
    (n) => init.activations.has(n.name) && (run.ownsOutput || n.name !== block.output),
  );
  const steps = new Map(
    quantized.map((n) => [
      n.name,
      logStepVariable(n.name, init.activations.get(n.name) as AffineParams, options.learnActivationSteps),
    ]),
  );
  const inputGrid = run.inputGrid;
  const inputStep = inputGrid && logStepVariable(block.input, inputGrid, options.learnActivationSteps);
  if (inputStep) steps.set(block.input, inputStep);
  const quantizeInput = (x: tf.Tensor) =>
    inputStep && inputGrid
      ? fakeQuantizeLearnedStep(x, inputStep as tf.Scalar, inputGrid.zeroPoint, inputGrid.bits)
      : x;
  const drops = new DropMasks(options.dropProbability, run.random);
  const roundingOptimizer = new Adam({ learningRate: run.learningRate });
  const affineOptimizer = new Adam({ learningRate: run.learningRate / 10 });
  const stepOptimizer = new Adam({ learningRate: run.learningRate / 10 });
  const schedule = ROUNDING_RELAXATIONS[options.rounding].schedule(options);
  let lossInitial = Number.NaN;
  let lossFinal = Number.NaN;
  try {
    for (let it = 0; it < run.iterations; it++) {
      const { beta, regularize } = schedule.at(it, run.iterations);
      // Cosine from the affine rate to zero over the block's steps.
      const annealed = (run.learningRate / 10) * 0.5 * (1 + Math.cos((Math.PI * it) / run.iterations));
      if (options.annealStepRate) stepOptimizer.learningRate = annealed;
      if (run.annealScales) affineOptimizer.learningRate = annealed;
      const indices = Array.from({ length: run.batch }, () => Math.floor(run.random() * run.count));
      const [xFp, xQ] = tf.tidy(() => {
        const pick = tf.tensor1d(indices, 'int32');
        return [tf.gather(fpInput, pick), tf.gather(qInput, pick)];
      });
      const target = tf.tidy(() => teacher.predict(xFp));
      const mix = (full: tf.Tensor, quant: tf.Tensor) => drops.mix(full, quant);
      const transform = (node: GraphNode, out: tf.Tensor) => {
        const logStep = steps.get(node.name);
        if (!logStep) return out;
        const p = init.activations.get(node.name) as AffineParams;
        return mix(out, fakeQuantizeLearnedStep(out, logStep as tf.Scalar, p.zeroPoint, p.bits));
      };
      const lossTensor = tf.tidy(() => {
        const kernels = new Map<string, tf.Tensor>();
        const biases = new Map<string, tf.Tensor>();
        const loss = () => {
          const input = mix(xFp, quantizeInput(xQ));
          for (const r of layers) {
            kernels.set(r.node.name, scaled(r, r.relaxation.soft(beta)));
            if (options.learnBiases) biases.set(r.node.name, r.bias);
          }
          const out = student.run(input, { kernels, biases, transform }).output;
          let total = reconstructionError(out, target);
          if (regularize)
            for (const r of layers) {
              const penalty = r.relaxation.penalty(beta);
              if (penalty) total = tf.add(total, tf.mul(penalty, options.roundingWeight));
            }
          return total as tf.Scalar;
        };
        const { value, grads } = tf.variableGrads(loss);
        const named = (variable: tf.Variable) => ({ variable, grad: grads[variable.name] as tf.Tensor });
        roundingOptimizer.applyGradients(layers.map((r) => named(r.relaxation.variable)));
        const affine = [
          ...(options.learnWeightScales ? layers.map((r) => named(r.logScale)) : []),
          ...(options.learnBiases ? layers.map((r) => named(r.bias)) : []),
        ];
        if (affine.length > 0) affineOptimizer.applyGradients(affine);
        if (options.learnActivationSteps) stepOptimizer.applyGradients([...steps.values()].map(named));
        return value;
      });
      const loss = (await lossTensor.data())[0] as number;
      tf.dispose([xFp, xQ, target, lossTensor]);
      if (it === 0) lossInitial = loss;
      lossFinal = loss;
      run.onStep(loss, beta);
      await yieldToEventLoop();
    }
    const weights = new Map<string, ChannelQuantized>();
    const biases = new Map<string, Float32Array>();
    for (const r of layers) {
      const q = await r.relaxation.hard();
      const scales = Float32Array.from(await r.logScale.data(), Math.exp);
      const { of } = outputChannelIndexer(r.node);
      weights.set(r.node.name, channelQuantized(r.node.kernel, r.init.bits, q, scales, of, r.init.maxLevel));
      if (options.learnBiases) biases.set(r.node.name, (await r.bias.data()) as Float32Array);
    }
    const activations = options.learnActivationSteps
      ? await learnedGrids(steps, init.activations)
      : new Map<string, AffineParams>();
    return { weights, biases, activations, lossInitial, lossFinal };
  } finally {
    drops.dispose();
    roundingOptimizer.dispose();
    affineOptimizer.dispose();
    stepOptimizer.dispose();
    for (const r of layers) {
      r.relaxation.dispose();
      tf.dispose([r.logScale, r.bias]);
    }
    tf.dispose([...steps.values()]);
  }
}
