import { z } from 'zod';
import { BACKEND_CHOICES, DEFAULT_FASHION_MNIST_DIR } from './backends.js';
import {
  between,
  choice,
  int,
  intChoice,
  intOrNull,
  type LayerBits,
  layerBitsMap,
  localPath,
  nameList,
  numberList,
  onSwitch,
  positive,
  positiveOrNull,
  type RunOption,
} from './option-kinds.js';
import { AUTO_CALIBRATION, RANGE_ESTIMATOR_METHODS } from './range-estimator-methods.js';
import { AUTO_SYNTHESIS, SYNTHESIS_METHODS } from './synthesis-methods.js';
import { WEIGHT_QUANTIZER_METHODS } from './weight-quantizer-methods.js';

const names = <T extends object>(registry: T) =>
  Object.keys(registry) as [keyof T & string, ...(keyof T & string)[]];

/** Why a shared worker takes less than a local run: its memory and time serve every tenant. */
const SHARED_WORKER = 'a shared worker holds all of a run in memory and serves every tenant';

/**
 * Every option of a run, defined once. The CLI's flags (`dfq run`, `dfq submit`), the service's
 * zod schema (and so the OpenAPI document), the submit payload and RunConfig derive from it.
 */
export const RUN_OPTIONS = {
  weightBits: {
    flag: '--w-bits',
    help: 'weight bits (1 = binary, 2 = ternary)',
    ...int('--w-bits', 1, 16),
    default: 8,
    sample: 4,
  },
  activationBits: {
    flag: '--a-bits',
    help: 'activation bits',
    ...int('--a-bits', 2, 16),
    default: 8,
    sample: 6,
  },
  firstLastBits: {
    flag: '--first-last-bits',
    help: "bits of the first and last layers ('same' keeps --w-bits/--a-bits)",
    ...intOrNull('--first-last-bits', 1, 16, 'same'),
    default: 8 as number | null,
    sample: null,
  },
  residualBits: {
    flag: '--residual-bits',
    help: "bits of the tensors only residual adds read (a branch's output before the add; no layer multiplies them, so every layer's inputs keep --a-bits); 'same' keeps --a-bits",
    ...intOrNull('--residual-bits', 2, 16, 'same'),
    default: 8 as number | null,
    sample: null,
  },
  keepFloat: {
    flag: '--keep-float',
    help: 'layers kept in float (names as in the report): weights and output unquantized in every export; no integer-only model is written then',
    ...nameList('--keep-float', 256),
    default: [] as string[],
    sample: ['fc'],
  },
  layerBits: {
    flag: '--layer-bits',
    help: "per-layer bits overriding --w-bits/--a-bits/--first-last-bits, e.g. 'conv1=4/8,fc=8' (weights/output activation)",
    ...layerBitsMap('--layer-bits', 256),
    default: {} as Record<string, LayerBits>,
    sample: { stem_conv: { weightBits: 6 } } as Record<string, LayerBits>,
  },
  sizeBudget: {
    flag: '--size-budget',
    help: "mixed precision: per-layer weight bits (2 to 8, chosen by an integer program over each layer's measured sensitivity) whose weights fit this many bytes, or this share of their FP32 bytes when at most 1",
    ...positiveOrNull('--size-budget', 1e12),
    default: null as number | null,
    sample: 0.2,
  },
  bopsBudget: {
    flag: '--bops-budget',
    help: "mixed precision: per-layer weight bits whose bit operations per image (multiply-adds x weight bits x input activation bits, HAWQ-V3's BOPs) stay within this many, or this share of 8-bit weights' when at most 1",
    ...positiveOrNull('--bops-budget', 1e18),
    default: null as number | null,
    sample: 0.9,
  },
  maxDrop: {
    flag: '--max-drop',
    help: 'mixed precision: the smallest per-layer weight bits (within --size-budget, if given) whose top-1 agreement with FP32 on the synthetic images stays within this many points',
    ...positiveOrNull('--max-drop', 100),
    default: null as number | null,
    sample: 50,
  },
  synth: {
    flag: '--synth',
    help: "how the calibration images are made (auto: the weight quantizer's choice, zeroq for recon, else direct)",
    ...choice('--synth', [AUTO_SYNTHESIS, ...names(SYNTHESIS_METHODS)]),
    default: AUTO_SYNTHESIS,
    sample: 'generative',
  },
  images: {
    flag: '--images',
    help: "number of calibration images ('auto': 64, or 32 for a model of ImageNet size; the report says which)",
    ...intOrNull('--images', 1, 100_000, 'auto'),
    default: null as number | null,
    sample: 6,
    service: { schema: z.number().int().min(1).max(4096).nullable(), why: SHARED_WORKER },
  },
  iterations: {
    flag: '--iterations',
    help: "optimization steps per batch (direct, zeroq) or generator training steps (generative) ('auto': 200, or for a model of ImageNet size up to 100, stopping when the loss no longer falls)",
    ...intOrNull('--iterations', 1, 1_000_000, 'auto'),
    default: null as number | null,
    sample: 2,
    service: { schema: z.number().int().min(1).max(100_000).nullable(), why: SHARED_WORKER },
  },
  synthBatchSize: {
    flag: '--synth-batch',
    help: "images optimized together (direct, zeroq) or generator batch (generative) ('auto': 64, or 8 for a model of ImageNet size; fewer if the memory budget requires)",
    ...intOrNull('--synth-batch', 1, 4096, 'auto'),
    default: null as number | null,
    sample: 3,
    service: { schema: z.number().int().min(1).max(1024).nullable(), why: SHARED_WORKER },
  },
  learningRate: {
    flag: '--lr',
    help: 'Adam learning rate of direct synthesis',
    ...positive('--lr', 100),
    default: 0.1,
    sample: 0.05,
  },
  calibration: {
    flag: '--calib',
    help: 'activation range estimator (auto: mse below 8 activation bits, else minmax)',
    ...choice('--calib', [AUTO_CALIBRATION, ...names(RANGE_ESTIMATOR_METHODS)]),
    default: AUTO_CALIBRATION,
    sample: 'kl',
  },
  calibPercentile: {
    flag: '--calib-percentile',
    help: 'the percentile estimator clips below the (100 - p)th and above the pth percentile',
    ...between('--calib-percentile', 50, 100),
    default: 99.99,
    sample: 99.9,
  },
  quantizer: {
    flag: '--quantizer',
    help: 'weight quantizer: round-to-nearest, proximal mean-field, projected gradient',
    ...choice('--quantizer', names(WEIGHT_QUANTIZER_METHODS)),
    default: 'rtn',
    sample: 'pmf',
  },
  quantizerSteps: {
    flag: '--quantizer-steps',
    help: 'distillation steps on the synthetic images (quantizers that train weights)',
    ...int('--quantizer-steps', 1, 1_000_000),
    default: 300,
    sample: 2,
    service: { schema: z.number().int().min(1).max(100_000), why: SHARED_WORKER },
  },
  accumulatorBits: {
    flag: '--acc-bits',
    help: 'integer accumulator width that must never overflow',
    ...intChoice('--acc-bits', [16, 32]),
    default: 32,
    sample: 16,
  },
  evalDir: {
    flag: '--eval',
    arg: '[dir]',
    help: `evaluate FP32 and quantized top-1 on Fashion-MNIST's test split (IDX directory, default ${DEFAULT_FASHION_MNIST_DIR}; queued runs use the server's)`,
    schema: z.string().min(1).nullable(),
    expect: 'a directory',
    default: null as string | null,
    sample: DEFAULT_FASHION_MNIST_DIR,
    parse: (text: string) => text,
    fromBare: () => DEFAULT_FASHION_MNIST_DIR,
    toArgs: (v: string | null) => (v === null ? [] : ['--eval', v]),
    service: {
      key: 'evaluate',
      schema: z.boolean(),
      default: false,
      why: "a service evaluates on its own copy of the test set, never on a client's path",
      encode: (v: string | null) => v !== null,
      decode: (v: unknown, server: { evalDir: string | null }) => (v === true ? server.evalDir : null),
    },
  },
  evalLimit: {
    flag: '--eval-limit',
    help: 'evaluate on the first N test images only',
    ...intOrNull('--eval-limit', 1, 10_000_000),
    default: null as number | null,
    sample: 40,
  },
  memoryBudgetMiB: {
    flag: '--memory-budget',
    help: "MiB this run may use; batches are sized to fit and a model whose single image does not fit is refused before any work ('auto': half of the memory available when the run starts)",
    ...intOrNull('--memory-budget', 64, 16 * 1024 * 1024, 'auto'),
    default: null as number | null,
    sample: 8192,
  },
  seed: {
    flag: '--seed',
    help: 'random seed',
    ...int('--seed', 0, 2 ** 31 - 1),
    default: 0,
    sample: 3,
  },
  backend: {
    flag: '--backend',
    help: 'tensor backend (auto: DFQ_BACKEND, else the first that loads)',
    ...choice('--backend', BACKEND_CHOICES as unknown as [string, ...string[]]),
    default: 'auto',
    sample: 'cpu',
  } as RunOption<(typeof BACKEND_CHOICES)[number]>,
  inputMean: {
    flag: '--input-mean',
    help: 'input normalization mean(s), overriding model metadata',
    ...numberList('--input-mean', { positive: false, maxLength: 64 }),
    default: null as number[] | null,
    sample: [0.3],
  },
  inputStd: {
    flag: '--input-std',
    help: 'input normalization std(s), overriding model metadata',
    ...numberList('--input-std', { positive: true, maxLength: 64 }),
    default: null as number[] | null,
    sample: [0.4],
  },
  saveImages: {
    flag: '--no-save-images',
    help: 'do not write PNG images',
    ...onSwitch('--no-save-images'),
    default: true,
    sample: false,
  },
  cacheDir: {
    flag: '--cache-dir',
    help: 'where trained generators are kept for reuse (env DFQ_CACHE_DIR, default ~/.cache/dfq/generators)',
    ...localPath(
      '--cache-dir',
      "a directory on the caller's machine; queued runs keep generators in the tenant's store",
    ),
    default: null as string | null,
    sample: '/tmp/dfq-generators',
  },
  // biome-ignore lint/suspicious/noExplicitAny: each row checks its own value type
} satisfies Record<string, RunOption<any>>;

export type RunOptionKey = keyof typeof RUN_OPTIONS;

/** The value type of one option, as its schema defines it. */
type ValueOf<K extends RunOptionKey> = z.output<(typeof RUN_OPTIONS)[K]['schema']>;

/** Every option of a run, with its value. */
export type RunSettings = { [K in RunOptionKey]: ValueOf<K> };

/** A run: its options plus where its model and outputs live. */
export type RunConfig = RunSettings & { modelPath: string; outDir: string };

export const RUN_OPTION_KEYS = Object.keys(RUN_OPTIONS) as RunOptionKey[];

/** The option rows, typed for code that walks all of them. */
export function runOption(key: RunOptionKey): RunOption<unknown> {
  return RUN_OPTIONS[key] as unknown as RunOption<unknown>;
}

export const DEFAULT_CONFIG: RunSettings = Object.fromEntries(
  RUN_OPTION_KEYS.map((k) => [k, runOption(k).default]),
) as RunSettings;
