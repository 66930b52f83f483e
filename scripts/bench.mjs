#!/usr/bin/env node
// `npm run bench`: the slow accuracy and speed measurements. Each configuration runs as its own
// `dfq run` process (so peak memory is per run), results go to docs/benchmarks.json and the
// tables in docs/benchmarks.md are regenerated from them.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG, SYNTHESIS_METHODS, synthesisMethodFor } from '@dfq/contract';
import { frontierChart } from '@dfq/core';
import { ensureTorch, PEER_PYTHON } from './peer/ensure-torch.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DFQ = join(ROOT, 'services/cli/bin/dfq.js');
const MODEL = join(ROOT, 'examples/resnet-fmnist-a/model.json');
const DATA = process.env.DFQ_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const OUT = join(ROOT, 'runs/bench');
const JSON_PATH = join(ROOT, 'docs/benchmarks.json');
const only = process.argv.slice(2);
// Every child runs on a fixed thread count: the native backend otherwise follows the machine's load
// (tfjs-backend-native's threads.ts), and a different count changes float sums, and so the figures.
const THREADS = process.env.OMP_NUM_THREADS ?? '2';
/** A child's environment: this one's, on THREADS threads, plus `extra`. */
const childEnv = (extra = {}) => ({ ...process.env, OMP_NUM_THREADS: THREADS, ...extra });

function dfqRun(name, args, model = MODEL) {
  const out = join(OUT, name);
  console.error(`bench: ${name}: dfq run --model ${model} ${args.join(' ')}`);
  execFileSync(
    'node',
    [DFQ, 'run', '--model', model, '--out', out, '--eval', DATA, '--no-save-images', ...args],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  return JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
}

function summary(report) {
  return {
    backend: report.backend,
    synth: report.synthesis.method,
    images: report.synthesis.images,
    iterations: report.synthesis.iterations,
    weightBits: report.quantization.weightBits,
    activationBits: report.quantization.activationBits,
    calibration: report.calibration.method,
    synthesisSeconds: report.synthesis.seconds,
    fp32Accuracy: report.evaluation.fp32Accuracy,
    quantizedAccuracy: report.evaluation.quantizedAccuracy,
    agreement: report.evaluation.agreement,
    evaluationSeconds: report.evaluation.seconds,
    totalSeconds: report.totalSeconds,
    peakRssBytes: report.peakRssBytes,
    measuredAt: new Date().toISOString(),
    cpuModel: cpus()[0]?.model,
  };
}

/**
 * The bench's stand-ins for users' models, built when missing (not committed): random-weight timing
 * fixtures from scripts/fixtures/build-<script>.mjs, and a trained one (the same MobileNetV2 with a
 * 10-class head, trained on Fashion-MNIST scaled to 224x224 by scripts/fixtures/train-fixture.py with
 * the peer's PyTorch), for the figures a random network cannot give: it amplifies a one-step rounding
 * difference layer after layer.
 */
const FIXTURES = {
  resnet20: { script: 'resnet20' },
  mobilenetv2: { script: 'mobilenetv2' },
  resnet18: { script: 'resnet18' },
  'mobilenetv2-fmnist': { script: 'mobilenetv2', args: ['10'], train: { steps: 200, batch: 32 } },
  'mixed224-fmnist': { script: 'mixed224', args: ['10'], train: { steps: 200, batch: 32 } },
};

/**
 * A PyTorch user's model: scripts/fixtures/train-onnx-resnet.py trains a small ResNet on Fashion-MNIST
 * with the peer's PyTorch and exports it to ONNX with its BatchNorms; PyTorch's own test top-1 is kept
 * beside it (training.json).
 */
function torchFixture() {
  const dir = join(OUT, 'fixtures/torch-resnet');
  const model = join(dir, 'model.onnx');
  const record = join(dir, 'training.json');
  if (!existsSync(record)) {
    ensureTorch();
    const out = execFileSync(
      PEER_PYTHON,
      [join(ROOT, 'scripts/fixtures/train-onnx-resnet.py'), model, DATA, '4', THREADS],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    writeFileSync(record, out);
  }
  return { model, training: JSON.parse(readFileSync(record, 'utf8')) };
}

function ortLatency(runDir) {
  console.error(`bench: onnx: node scripts/bench-ort.mjs ${runDir}`);
  const out = execFileSync('node', [join(ROOT, 'scripts/bench-ort.mjs'), runDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: childEnv(),
  });
  return JSON.parse(out.toString());
}

function fixture(name) {
  const dir = join(OUT, `fixtures/${name}`);
  const model = join(dir, 'model.json');
  if (existsSync(model)) return model;
  const { script, args = [], train } = FIXTURES[name];
  // Built aside and renamed when complete, so an interrupted build or training is never taken as done.
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  execFileSync('node', [join(ROOT, `scripts/fixtures/build-${script}.mjs`), partial, ...args], {
    stdio: 'inherit',
  });
  if (train) {
    ensureTorch();
    execFileSync(
      PEER_PYTHON,
      [
        join(ROOT, 'scripts/fixtures/train-fixture.py'),
        join(partial, 'model.json'),
        DATA,
        String(train.steps),
        String(train.batch),
        THREADS,
      ],
      { stdio: 'inherit' },
    );
  }
  renameSync(partial, dir);
  return model;
}

/** One image set's run of scripts/bench-quantizer.mjs (all settings, or those named), into <section>-<method>-<seed>. */
function benchQuantizer(section, method, seed, settings = []) {
  console.error(`bench: ${section}: ${method} images, seed ${seed}`);
  const out = execFileSync(
    'node',
    [
      join(ROOT, 'scripts/bench-quantizer.mjs'),
      method,
      '256',
      join(OUT, `${section}-${method}-${seed}`),
      ...settings,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 2 ** 20,
      env: childEnv({ BENCH_QUANTIZER_SEED: String(seed) }),
    },
  );
  return JSON.parse(out.toString());
}

/** The image seeds the low-bit settings repeat on, beside the default seed. */
const quantizerSeeds = () =>
  (process.env.BENCH_QUANTIZER_SEEDS ?? '2,3').split(',').filter(Boolean).map(Number);

/** recon's and pmf's parts, each switched off (or swapped) alone; `residualBits` is the run's --residual-bits. */
const ablation = (weightBits, activationBits, quantizer, name, overrides = {}, residualBits = undefined) => ({
  name,
  weightBits,
  activationBits,
  quantizer,
  overrides,
  ...(residualBits !== undefined ? { residualBits } : {}),
});
const ABLATIONS = [
  ablation(4, 4, 'recon', 'defaults'),
  ablation(4, 4, 'recon', 'residual-add inputs at 4 bits (--residual-bits same)', {}, 'same'),
  ablation(4, 4, 'recon', 'calibrated activation steps (no LSQ)', { learnActivationSteps: false }),
  ablation(4, 4, 'recon', 'no QDrop', { dropProbability: 0 }),
  ablation(4, 4, 'recon', "block outputs' steps learned in their own block", {
    learnOutputStepsDownstream: false,
  }),
  ablation(4, 4, 'recon', 'constant learning rates for steps and scales (no annealing)', {
    annealStepRate: false,
    annealScaleRate: false,
  }),
  ablation(4, 4, 'recon', 'weight scales fixed', { learnWeightScales: false }),
  ablation(4, 4, 'recon', 'AdaRound rounding', { rounding: 'adaround' }),
  ablation(4, 4, 'pmf', 'defaults'),
  ablation(4, 4, 'pmf', 'with LSQ activation steps', { learnActivationSteps: true }),
  ablation(1, 8, 'recon', 'defaults'),
  ablation(1, 8, 'recon', 'AdaRound rounding', { rounding: 'adaround' }),
];

/** Image sets the data ablation compares (scripts/bench-images.mjs sources), recon's own first. */
const LOWBIT_DATA_SOURCES = ['zeroq', 'zeroq+lowpass', 'direct', 'generative', 'real'];
const LOWBIT_DATA_BITS = [
  [4, 4],
  [2, 8],
  [1, 8],
];

const SECTIONS = {
  step1() {
    // The README's main job (direct synthesis) beside the two baselines, same image count and seed.
    const baselines = Object.keys(SYNTHESIS_METHODS).filter((m) => !SYNTHESIS_METHODS[m].needsBatchNorm);
    return [synthesisMethodFor(DEFAULT_CONFIG), ...baselines].map((synth) =>
      summary(dfqRun(`step1-${synth}`, ['--synth', synth, '--seed', '0'])),
    );
  },
  kernels() {
    console.error('bench: kernels: node shared/tfjs-backend-native/bench/kernels.mjs');
    const out = execFileSync('node', [join(ROOT, 'shared/tfjs-backend-native/bench/kernels.mjs')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 16 * 2 ** 20,
    });
    return [JSON.parse(out.toString())];
  },
  synthesis() {
    // Step 4: calibration images from each method, 256 of them, at three bit widths and five estimators;
    // then generative, direct and the two baselines again from more seeds (BENCH_SYNTH_SEEDS, default
    // 2,3) at W4A4, where one image set's luck is as large as the differences between methods.
    const run = (method, seed, bits) => {
      console.error(`bench: synthesis: ${method} seed ${seed}`);
      const out = execFileSync(
        'node',
        [
          join(ROOT, 'scripts/bench-synthesis.mjs'),
          method,
          '256',
          method === 'generative' ? '300' : '200',
          join(OUT, `synthesis-${method}-${seed}`),
          String(seed),
          bits,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 2 ** 20 },
      );
      return JSON.parse(out.toString());
    };
    const full = Object.keys(SYNTHESIS_METHODS).map((m) => run(m, 1, '8/8,4/8,4/4'));
    const seeds = (process.env.BENCH_SYNTH_SEEDS ?? '2,3').split(',').filter(Boolean).map(Number);
    // zeroq is direct without its label term and jitter: the repeats compare the other four.
    const repeats = Object.keys(SYNTHESIS_METHODS)
      .filter((m) => m !== 'zeroq')
      .flatMap((m) => seeds.map((seed) => run(m, seed, '4/4')));
    return [...full, ...repeats];
  },
  quantizer() {
    // Step 5: rtn vs pmf/pgd/recon, 3-bit, ternary and binary weights, 16-bit accumulators, integer executor. Then
    // the low-bit settings again on image sets from more seeds (BENCH_QUANTIZER_SEEDS, default 2,3):
    // there one image set's luck moves top-1 by points.
    const method = process.env.BENCH_QUANTIZER_SYNTH ?? 'direct';
    const run = (seed, settings = []) => benchQuantizer('quantizer', method, seed, settings);
    const seeds = quantizerSeeds();
    const lowBit = [
      'w4a4-rtn',
      'w4a4-pmf',
      'w4a4-recon',
      'w3a3-rtn',
      'w3a3-pmf',
      'w3a3-recon',
      'w2a8-rtn',
      'w2a8-pmf',
      'w2a8-recon',
      'w1a8-rtn',
      'w1a8-pmf',
      'w1a8-recon',
    ];
    return [run(DEFAULT_CONFIG.seed), ...seeds.map((seed) => run(seed, lowBit))];
  },
  mixed() {
    // Step 10: mixed-precision weights on the example model and a second architecture (the PyTorch
    // ResNet of Step 8, trained by the bench's peer), scripts/bench-mixed.mjs each.
    return [MODEL, torchFixture().model].map((model) => {
      console.error(`bench: mixed: ${model}`);
      const name = model === MODEL ? 'example' : 'torch-resnet';
      const out = execFileSync(
        'node',
        [join(ROOT, 'scripts/bench-mixed.mjs'), model, join(OUT, `mixed-${name}`)],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
          maxBuffer: 64 * 2 ** 20,
        },
      );
      return { name, ...JSON.parse(out.toString()) };
    });
  },
  lowbit() {
    // Step 9's table: rtn, pmf and recon at W4A4, W3A3, W2A8 and W1A8, both conventions (first and last
    // layers at 8 bits, and all layers at the same bits), on the images `--synth auto` makes for recon,
    // each image seed its own set (the default seed and BENCH_QUANTIZER_SEEDS). Run alone: it times each setting.
    const method = synthesisMethodFor({ synth: 'auto', quantizer: 'recon' });
    const settings = ['w4a4', 'w3a3', 'w2a8', 'w1a8'].flatMap((bits) =>
      ['rtn', 'pmf', 'recon'].flatMap((q) => [
        `${bits}-${q}`,
        `${bits}-${q}-same`,
        ...(bits === 'w4a4' || bits === 'w3a3' ? [`${bits}-${q}-residual-same`] : []),
      ]),
    );
    return [DEFAULT_CONFIG.seed, ...quantizerSeeds()].map((seed) =>
      benchQuantizer('lowbit', method, seed, [...settings, 'w4a4-recon-acc16']),
    );
  },
  lowbitData() {
    // Step 9's data measures: recon (defaults) on image sets made differently from the same seeds
    // (scripts/bench-images.mjs, then scripts/recon-ablation.mjs). `real` is a ceiling, not data-free.
    const rows = [];
    for (const seed of [DEFAULT_CONFIG.seed, ...quantizerSeeds()]) {
      for (const source of LOWBIT_DATA_SOURCES) {
        const dir = join(OUT, `lowbit-data-${source.replace('+', '-')}-${seed}`);
        const made = JSON.parse(
          execFileSync('node', [join(ROOT, 'scripts/bench-images.mjs'), source, '256', String(seed), dir], {
            stdio: ['ignore', 'pipe', 'inherit'],
            env: childEnv(),
          }).toString(),
        );
        for (const [weightBits, activationBits] of LOWBIT_DATA_BITS) {
          console.error(`bench: lowbitData: seed ${seed} ${source} W${weightBits}A${activationBits}`);
          const out = execFileSync(
            'node',
            [
              join(ROOT, 'scripts/recon-ablation.mjs'),
              dir,
              String(weightBits),
              String(activationBits),
              String(DEFAULT_CONFIG.quantizerSteps),
              '10000',
            ],
            {
              stdio: ['ignore', 'pipe', 'inherit'],
              env: childEnv({ ABLATION_QUANTIZERS: 'recon' }),
            },
          );
          const result = JSON.parse(out.toString()).recon;
          rows.push({
            source,
            seed,
            weightBits,
            activationBits,
            imageSeconds: made.seconds,
            accuracy: result.accuracy,
            seconds: result.seconds,
          });
        }
      }
    }
    return rows;
  },
  ablation() {
    // Step 9: what each part of recon (and LSQ in pmf) is worth, on the images `--synth auto` makes for
    // recon (256 per seed, scripts/bench-images.mjs). Each variant is the defaults with one setting
    // changed, calibrated (mse) and evaluated on the full test split by scripts/recon-ablation.mjs.
    const method = synthesisMethodFor({ synth: 'auto', quantizer: 'recon' });
    const seeds = [DEFAULT_CONFIG.seed, ...quantizerSeeds()];
    const rows = [];
    for (const seed of seeds) {
      const images = join(OUT, `ablation-${method}-${seed}`);
      execFileSync('node', [join(ROOT, 'scripts/bench-images.mjs'), method, '256', String(seed), images], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: childEnv(),
      });
      for (const v of ABLATIONS) {
        console.error(
          `bench: ablation: seed ${seed} W${v.weightBits}A${v.activationBits} ${v.quantizer} ${v.name}`,
        );
        const out = execFileSync(
          'node',
          [
            join(ROOT, 'scripts/recon-ablation.mjs'),
            images,
            String(v.weightBits),
            String(v.activationBits),
            String(DEFAULT_CONFIG.quantizerSteps),
            '10000',
            JSON.stringify(v.overrides),
          ],
          {
            stdio: ['ignore', 'pipe', 'inherit'],
            env: childEnv({
              ABLATION_QUANTIZERS: v.quantizer,
              ...(v.residualBits !== undefined ? { ABLATION_RESIDUAL_BITS: String(v.residualBits) } : {}),
            }),
          },
        );
        const result = JSON.parse(out.toString())[v.quantizer];
        rows.push({ ...v, seed, method, accuracy: result.accuracy, seconds: result.seconds });
      }
    }
    return rows;
  },
  engine() {
    // Step 7's yardstick: BN-statistics synthesis on dfq's native backend beside PyTorch's CPU, same
    // model, images, iterations and thread count, measured in one run (scripts/bench-engine.mjs).
    // A 28x28 ResNet-20, and at 224x224 a MobileNetV2 and a ResNet-18, with random weights (timing only).
    return [
      ['64', '20', 'native'],
      ['64', '20', 'native', fixture('resnet20')],
      ['8', '3', 'native', fixture('mobilenetv2')],
      ['8', '3', 'native', fixture('resnet18')],
    ].map((args) => {
      console.error(`bench: engine: node scripts/bench-engine.mjs ${args.join(' ')}`);
      const out = execFileSync('node', [join(ROOT, 'scripts/bench-engine.mjs'), ...args], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: childEnv(),
      });
      return JSON.parse(out.toString());
    });
  },
  meanfield() {
    // Step 7, the other loop: one mean-field (pmf) distillation step on dfq's native backend beside the
    // same step in PyTorch (scripts/bench-meanfield.mjs, scripts/peer/mean-field-step.py).
    return [
      ['20', '64', '4', '4'],
      ['20', '64', '4', '4', fixture('resnet20')],
      ['10', '8', '4', '4', fixture('mobilenetv2')],
    ].map((args) => {
      console.error(`bench: meanfield: node scripts/bench-meanfield.mjs ${args.join(' ')}`);
      const out = execFileSync('node', [join(ROOT, 'scripts/bench-meanfield.mjs'), ...args], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: childEnv(),
      });
      return JSON.parse(out.toString());
    });
  },
  default224() {
    // Step 7: `dfq run` with no size flags on the 224x224 MobileNetV2, as a user would start: the trained
    // fixture (its integer agreement is the figure of record) and the random-weight one (timing).
    return ['mobilenetv2-fmnist', 'mobilenetv2'].map((name) => {
      const model = fixture(name);
      const out = join(OUT, `default224-${name}`);
      console.error(`bench: default224: dfq run --model ${model} --out ${out}`);
      const started = performance.now();
      execFileSync('node', [DFQ, 'run', '--model', model, '--out', out], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      const wallSeconds = (performance.now() - started) / 1000;
      const r = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      const training = JSON.parse(readFileSync(model, 'utf8')).userDefinedMetadata?.training ?? null;
      return {
        model: r.model.name,
        fixture: name,
        training,
        params: r.model.params,
        wallSeconds,
        totalSeconds: r.totalSeconds,
        peakRssBytes: r.peakRssBytes,
        synthesis: {
          images: r.synthesis.images,
          iterations: r.synthesis.iterations,
          batchSize: r.synthesis.batchSize,
          seconds: r.synthesis.seconds,
          rule: r.synthesis.sizing.rule,
          estimatedPeakBytes: r.synthesis.memory.estimatedPeakBytes,
        },
        weightBits: r.quantization.weightBits,
        activationBits: r.quantization.activationBits,
        overflows: r.quantization.overflows,
        integerAgreementSynthetic: r.quantization.integerAgreementSynthetic,
      };
    });
  },
  onnx() {
    // Step 8: a PyTorch-exported ONNX ResNet through `dfq run --model x.onnx --eval` at W8A8 and W4A8
    // (FP32 against PyTorch's own top-1; the QDQ export under ONNX Runtime against dfq's fake-quantized
    // model), then ONNX Runtime's int8 vs FP32 latency on dfq's exports of the example, that ResNet and
    // the 224x224 MobileNetV2 (its default run, as in default224).
    const torch = torchFixture();
    const runs = [
      ['onnx-torch-resnet-w8a8', ['--w-bits', '8', '--a-bits', '8']],
      ['onnx-torch-resnet-w4a8', ['--w-bits', '4', '--a-bits', '8']],
    ].map(([name, args]) => {
      const r = dfqRun(name, args, torch.model);
      return {
        kind: 'import',
        name,
        model: r.model.name,
        params: r.model.params,
        pytorchTop1: torch.training.pytorchTop1,
        pytorchEpochs: torch.training.epochs,
        weightBits: r.quantization.weightBits,
        activationBits: r.quantization.activationBits,
        fp32Accuracy: r.evaluation.fp32Accuracy,
        quantizedAccuracy: r.evaluation.quantizedAccuracy,
        integerAccuracy: r.evaluation.integerAccuracy,
        integerAgreement: r.evaluation.integerAgreement,
        onnxRuntimeAccuracy: r.evaluation.onnxRuntimeAccuracy,
        onnxRuntimeAgreement: r.evaluation.onnxRuntimeAgreement,
        onnxRuntimeFloatAccuracy: r.evaluation.onnxRuntimeFloatAccuracy,
        totalSeconds: r.totalSeconds,
        peakRssBytes: r.peakRssBytes,
      };
    });
    // The Keras-application blocks at 224x224 (SeparableConv2D, Concatenate, squeeze-excite), trained,
    // through the default run.
    const mixed = join(OUT, 'default224-mixed224-fmnist');
    const mixedModel = fixture('mixed224-fmnist');
    console.error(`bench: onnx: dfq run --model ${mixedModel} --out ${mixed}`);
    execFileSync('node', [DFQ, 'run', '--model', mixedModel, '--out', mixed], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const m = JSON.parse(readFileSync(join(mixed, 'report.json'), 'utf8'));
    const blocks = {
      kind: 'blocks',
      model: m.model.name,
      params: m.model.params,
      layers: [
        ...new Set(
          JSON.parse(readFileSync(mixedModel, 'utf8')).modelTopology.config.layers.map((l) => l.class_name),
        ),
      ],
      training: JSON.parse(readFileSync(mixedModel, 'utf8')).userDefinedMetadata?.training ?? null,
      images: m.synthesis.images,
      iterations: m.synthesis.iterations,
      weightBits: m.quantization.weightBits,
      activationBits: m.quantization.activationBits,
      integerAgreementSynthetic: m.quantization.integerAgreementSynthetic,
      overflows: m.quantization.overflows,
      totalSeconds: m.totalSeconds,
      peakRssBytes: m.peakRssBytes,
    };
    const example = join(OUT, 'onnx-example-w8a8');
    dfqRun('onnx-example-w8a8', [], MODEL);
    const mobilenet = join(OUT, 'default224-mobilenetv2-fmnist');
    if (!existsSync(join(mobilenet, 'onnx-model/model.onnx')))
      execFileSync('node', [DFQ, 'run', '--model', fixture('mobilenetv2-fmnist'), '--out', mobilenet], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
    const latency = [example, join(OUT, 'onnx-torch-resnet-w8a8'), mobilenet, mixed].map((dir) => ({
      kind: 'latency',
      ...ortLatency(dir),
    }));
    return [...runs, blocks, ...latency];
  },
  backends(previous) {
    // The Step 1 W8A8 run, default settings, on each backend in turn. BENCH_BACKENDS=native,wasm
    // re-measures only those and keeps the other rows (the cpu run alone takes over half an hour).
    const chosen = (process.env.BENCH_BACKENDS ?? 'native,wasm,cpu').split(',');
    return ['native', 'wasm', 'cpu'].flatMap((backend) => {
      if (chosen.includes(backend))
        return [summary(dfqRun(`backend-${backend}`, ['--backend', backend, '--seed', '0']))];
      return (previous ?? []).filter((r) => r.backend === backend);
    });
  },
};

const pct = (x) => `${(100 * x).toFixed(2)}%`;
const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;

function renderStep1(rows) {
  const lines = [
    '## Step 1: W8A8 on the example model, by calibration data',
    '',
    `Example model \`resnet-fmnist-a\`, full Fashion-MNIST test split (10,000 images), weights symmetric per channel,`,
    'activations asymmetric per tensor, min-max ranges, first and last layers at 8 bits.',
    '',
    '| calibration images | backend | synthesis | FP32 top-1 | W8A8 top-1 | change | agreement with FP32 | total time | peak memory |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const label =
      r.synth === 'direct'
        ? `direct synthesis (${r.images} images, ${r.iterations} iterations)`
        : r.synth === 'noise'
          ? `Gaussian noise (${r.images} images)`
          : `real training images (${r.images})`;
    lines.push(
      `| ${label} | ${r.backend} | ${r.synthesisSeconds.toFixed(1)} s | ${pct(r.fp32Accuracy)} | ${pct(r.quantizedAccuracy)} | ${((r.quantizedAccuracy - r.fp32Accuracy) * 100).toFixed(2)} pts | ${pct(r.agreement)} | ${r.totalSeconds.toFixed(1)} s | ${mib(r.peakRssBytes)} |`,
    );
  }
  return lines.join('\n');
}

// PyTorch's CPU build on the same kind of 2-core machine, 3x3 convolutions at batch 64 (figures
// from the Step 2 issue, measured by the team outside this repository).
const PYTORCH_GFLOPS = { 'layer1 3x3 16->16': 27, 'layer2 3x3 32->32': 100, 'layer3 3x3 64->64': 125 };

function renderKernels([run]) {
  const cell = (g) => (g === null || g === undefined ? 'n/a' : g.toFixed(1));
  const lines = [
    '## Step 2: convolution kernels, GFLOP/s at batch 64 (forward / backprop-input / backprop-filter)',
    '',
    `native: oneDNN ${run.native?.version ?? '?'} (${run.native?.isa ?? '?'}, ${run.native?.cpuRuntime ?? '?'}, ${run.native?.threads ?? '?'} threads). wasm has no Conv2DBackpropFilter (n/a).`,
    "PyTorch figures are the Step 2 issue's, measured on one of these 2-core machines whose CPU model it does not give;",
    'machines of this kind differ in CPU (see the machine line below), so the last column is indicative only.',
    '',
    '| layer | input | native | wasm | cpu | PyTorch CPU forward | native / PyTorch |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const l of run.layers) {
    const g = l.gflops;
    const three = (b) =>
      g[b] ? `${cell(g[b].forward)} / ${cell(g[b].backpropInput)} / ${cell(g[b].backpropFilter)}` : 'n/a';
    const torch = PYTORCH_GFLOPS[l.name];
    lines.push(
      `| ${l.name} | ${l.input.join('x')} | ${three('native')} | ${three('wasm')} | ${three('cpu')} | ${torch ?? ''} | ${torch && g.native ? `${((100 * g.native.forward) / torch).toFixed(0)}%` : ''} |`,
    );
  }
  return lines.join('\n');
}

function renderBackends(rows) {
  const cpu = rows.find((r) => r.backend === 'cpu');
  const lines = [
    '## Step 2: the Step 1 W8A8 run end to end, by backend',
    '',
    'Default settings (64 images, 200 direct-synthesis iterations, min-max), full test split, one process each.',
    'Evaluation covers the FP32 and fake-quantized models, and since Step 5 (rows measured from 2026-12-04) also',
    'the integer-only and stock-TF.js uint8 models, so newer rows do twice the evaluation work of older ones.',
    '',
    '| backend | synthesis | evaluation (10,000 test images per model) | total | speed-up vs cpu | W8A8 top-1 | peak memory | measured |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.backend} | ${r.synthesisSeconds.toFixed(1)} s | ${r.evaluationSeconds.toFixed(1)} s | ${r.totalSeconds.toFixed(1)} s | ${cpu ? `${(cpu.totalSeconds / r.totalSeconds).toFixed(1)}x` : ''} | ${pct(r.quantizedAccuracy)} | ${mib(r.peakRssBytes)} | ${r.measuredAt?.slice(0, 10) ?? ''}${r.cpuModel ? `, ${r.cpuModel}` : ''} |`,
    );
  }
  return lines.join('\n');
}

function renderSynthesis(allRuns) {
  const runs = allRuns.filter((r) => (r.seed ?? 1) === 1);
  const lines = [
    '## Step 4: calibration images, by method (256 images each, full test split)',
    '',
    'Top-1 after calibrating on each image set. Weights per-channel symmetric, activations per-tensor asymmetric,',
    'first and last layers at 8 bits. `best other` is the best of percentile (99.99), MSE, KL and BN-based ranges.',
    '',
    '| images | W8A8 min-max | W8A8 best other | W4A8 min-max | W4A8 best other | W4A4 min-max | W4A4 best other |',
    '|---|---|---|---|---|---|---|',
  ];
  const cell = (rows, w, a, pick) => {
    const forBits = rows.filter((r) => r.weightBits === w && r.activationBits === a);
    if (pick === 'minmax') return pct(forBits.find((r) => r.calibration === 'minmax').accuracy);
    const best = forBits.filter((r) => r.calibration !== 'minmax').sort((x, y) => y.accuracy - x.accuracy)[0];
    return `${pct(best.accuracy)} (${best.calibration})`;
  };
  for (const run of runs) {
    const r = run.rows;
    lines.push(
      `| ${run.method} | ${cell(r, 8, 8, 'minmax')} | ${cell(r, 8, 8)} | ${cell(r, 4, 8, 'minmax')} | ${cell(r, 4, 8)} | ${cell(r, 4, 4, 'minmax')} | ${cell(r, 4, 4)} |`,
    );
  }
  lines.push('', `FP32: ${pct(runs[0].rows[0].fp32)}.`, '');
  lines.push(
    '| images | backend | synthesis time | images/s | peak memory | target agreement | diversity (real) | final loss |',
  );
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const run of runs) {
    const s = run.synthesis;
    lines.push(
      `| ${run.method} | ${run.backend} | ${s.seconds.toFixed(1)} s${s.generator ? (s.generator.reused ? ' (generator reused)' : ` (${s.generator.trainingSteps} generator steps)`) : ''} | ${s.imagesPerSecond.toFixed(1)} | ${mib(run.peakRssBytes)} | ${s.targetAgreement === null ? 'n/a' : pct(s.targetAgreement)} | ${s.diversity.toFixed(3)} (${s.realDiversity?.toFixed(3) ?? '?'}) | ${s.lossFinal === null ? 'n/a' : s.lossFinal.toFixed(4)} |`,
    );
  }
  lines.push(...renderSeedSpread(allRuns));
  return lines.join('\n');
}

/** W4A4 accuracy per estimator over every seed measured, for the methods run from several seeds. */
/** Mean ± sample standard deviation of accuracies, in percent. */
function stats(values) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1));
  return `${(100 * mean).toFixed(2)}% ± ${(100 * sd).toFixed(2)}`;
}

function renderSeedSpread(allRuns) {
  const methods = [...new Set(allRuns.filter((r) => (r.seed ?? 1) !== 1).map((r) => r.method))];
  if (methods.length === 0) return [];
  const w4a4 = (run, calibration) =>
    run.rows.find((r) => r.weightBits === 4 && r.activationBits === 4 && r.calibration === calibration)
      ?.accuracy;
  const estimators = ['minmax', 'percentile', 'mse', 'kl', 'bn'];
  const lines = [
    '',
    'W4A4 from several seeds (each seed synthesizes or draws its own 256 images; generative trains its own generator):',
    'mean ± standard deviation over seeds, full test split.',
    '',
    `| images | seeds | ${estimators.join(' | ')} | best per seed |`,
    `|---|---|${estimators.map(() => '---|').join('')}---|`,
  ];
  for (const method of methods) {
    const seeded = allRuns.filter((r) => r.method === method);
    const best = seeded.map((run) =>
      Math.max(...estimators.filter((e) => e !== 'minmax').map((e) => w4a4(run, e) ?? 0)),
    );
    lines.push(
      `| ${method} | ${seeded.map((r) => r.seed ?? 1).join(', ')} | ${estimators.map((e) => stats(seeded.map((run) => w4a4(run, e) ?? 0))).join(' | ')} | ${stats(best)} |`,
    );
  }
  return lines;
}

function renderQuantizer(runs) {
  const [run] = runs;
  const fp32 = run.rows[0]?.fp32 ?? 0;
  const lines = [
    '## Step 5: weight quantizers, accumulators and the integer-only model',
    '',
    `${run.images} ${run.method}-synthesized images (${run.synthesisSeconds.toFixed(0)} s on ${run.backend}) serve calibration (${run.rows[0]?.calibration} ranges) and the`,
    'pmf/pgd distillation and recon (block reconstruction); no real image reaches the quantizer. Full Fashion-MNIST test split; BN folded, residual adds quantized,',
    `first and last layers at 8 bits unless the row says otherwise. FP32: ${pct(fp32)}. Overflows are counted by the integer executor over the synthetic and test images.`,
    "All settings run in one process in turn, so peak memory is that process's peak so far (it only grows down the table).",
    '',
    '| setting | fake-quantized top-1 | vs FP32 | integer top-1 | integer = fake-quant | stock TF.js uint8 | accumulators (16-bit layers) | overflows | size | quantizer time | peak memory |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of run.rows) {
    lines.push(
      `| W${r.weightBits}A${r.activationBits} ${r.quantizer}${r.accumulatorBits === 16 ? ', 16-bit acc.' : ''}${r.firstLastBits === null ? ', all layers at these bits' : ''} | ${pct(r.accuracy)} | ${((r.accuracy - r.fp32) * 100).toFixed(2)} pts | ${pct(r.integerAccuracy)} | ${pct(r.integerAgreement)} | ${pct(r.tfjsUint8Accuracy)} | ${r.accumulatorBits} (${r.layers16.length} of ${r.layers16.length + r.layers32.length}) | ${r.overflows} | ${r.bytesQuantized} B | ${r.quantizerSeconds.toFixed(0)} s | ${mib(r.peakRssBytes)} |`,
    );
  }
  const acc16 = run.rows.find((r) => r.accumulatorBits === 16);
  if (acc16)
    lines.push(
      '',
      `16-bit run: layers on 16-bit accumulators: ${acc16.layers16.join(', ') || 'none'}; fell back to 32: ${acc16.layers32.join(', ') || 'none'}.`,
    );
  // The settings every image set ran, over all of them: one set's luck moves low-bit top-1 by points.
  const repeated = runs.length > 1 ? runs[1].rows.map((r) => r.name) : [];
  if (repeated.length > 0) {
    const seeds = runs.map((r) => r.seed);
    lines.push(
      '',
      `Low-bit settings on image sets from seeds ${seeds.join(', ')} (each seed synthesizes its own ${run.images} images): fake-quantized top-1, mean ± sd, and each seed's.`,
      '',
      '| setting | mean ± sd | per seed | quantizer time (mean) |',
      '|---|---|---|---|',
    );
    for (const name of repeated) {
      const rows = runs.map((r) => r.rows.find((row) => row.name === name)).filter(Boolean);
      const { accs, mean, sd } = spread(rows);
      const seconds = rows.reduce((a, r) => a + r.quantizerSeconds, 0) / rows.length;
      lines.push(
        `| W${rows[0].weightBits}A${rows[0].activationBits} ${rows[0].quantizer} | ${mean.toFixed(2)}% ± ${sd.toFixed(2)} | ${accs.map((a) => a.toFixed(2)).join(', ')} | ${seconds.toFixed(0)} s |`,
      );
    }
  }
  return lines.join('\n');
}

/** Mean and sample standard deviation of top-1 (in %) over rows. */
function spread(rows) {
  const accs = rows.map((r) => 100 * r.accuracy);
  const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
  const sd = Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, accs.length - 1));
  return { accs, mean, sd, text: `${mean.toFixed(2)}% ± ${sd.toFixed(2)}` };
}

/** The issue's targets (FP32 minus the allowed drop), for the table's last column. */
const LOWBIT_TARGETS = { w4a4: 91.4, w2a8: 89.7, w1a8: 86.0 };

function renderMixed(runs) {
  const lines = [
    '## Step 10: mixed-precision weights under a size budget',
    '',
    '`dfq run --size-budget <bytes>` (scripts/bench-mixed.mjs): per-layer weight bits from 2 to 8 chosen by integer programming',
    "(HiGHS) over each layer's output KL measured alone on the quarter of the run's synthetic images held out of calibration (the run defaults: direct images, min-max ranges);",
    'activations at 8 bits, all layers counted (no first/last exception, so uniform and mixed sizes compare). Full test split;',
    'sizes are the packed integer weights, every width at its exact bits (uniform W6 is exactly halfway between W4 and W8).',
    '`integer = fake-quant` is the integer executor against the fake-quantized model. The analysis time was measured while',
    'other work shared the 2 cores: an upper bound (`dfq analyze` alone: see the Step 10 note of issue 16).',
  ];
  for (const run of runs) {
    const pctOf = (x) => `${(100 * x).toFixed(2)}%`;
    const bitsText = (bits) => {
      const counts = {};
      for (const b of Object.values(bits)) counts[b] = (counts[b] ?? 0) + 1;
      return Object.entries(counts)
        .map(([b, n]) => `${n}×W${b}`)
        .join(' ');
    };
    const half = run.mixed.find((m) => m.share === 0.5);
    const w4 = run.uniform.find((u) => u.name === 'uniform-w4');
    const w6 = run.uniform.find((u) => u.name === 'uniform-w6');
    lines.push(
      '',
      `### ${run.name} (${run.model}, ${run.layers} layers, FP32 ${pctOf(run.fp32)}; ${run.images} ${run.synthesis} images; \`dfq analyze\`'s measurement ${run.analysisSeconds.toFixed(1)} s)`,
      '',
      '| model | budget | weight bytes | bits | top-1 | integer = fake-quant | overflows |',
      '|---|---|---|---|---|---|---|',
      ...[...run.uniform, ...run.mixed]
        .sort((a, b) => a.bytes - b.bytes)
        .map(
          (r) =>
            `| ${r.name.startsWith('uniform') ? r.name.replace('uniform-w', 'uniform W') : `mixed (${Math.round(100 * r.share)}% of the way W4→W8)`} | ${r.budgetBytes === null ? '' : Math.floor(r.budgetBytes)} | ${r.bytes} | ${bitsText(r.bits)} | ${pctOf(r.accuracy)} | ${pctOf(r.integerAgreement)} | ${r.overflows} |`,
        ),
      '',
      half && w4 && w6
        ? `Halfway between uniform W4 (${w4.bytes} B) and W8: mixed ${pctOf(half.accuracy)} in ${half.bytes} B against uniform W6 ${pctOf(w6.accuracy)} in ${w6.bytes} B and uniform W4 ${pctOf(w4.accuracy)}: ${half.accuracy > w6.accuracy && half.accuracy > w4.accuracy ? 'above both' : 'not above both'}; integer agreement ${pctOf(half.integerAgreement)}.${Math.abs(half.accuracy - w6.accuracy) < 0.002 ? ` The margin over uniform W6 is ${Math.round(Math.abs(half.accuracy - w6.accuracy) * 10000)} test images of 10,000: within noise (every setting from W4 up is within ${(100 * Math.max(...[...run.uniform, ...run.mixed].filter((r) => r.bytes >= w4.bytes - 1000).map((r) => Math.abs(r.accuracy - run.fp32)))).toFixed(2)} points of FP32 on this model).` : ''}`
        : '',
      '',
      `![top-1 against weight bytes, ${run.name}](charts/mixed-${run.name}.svg)`,
      '',
      `Sensitivity against the measured drop of each layer alone at W2 (activations float, full test split): Spearman ${run.spearman.hessian.toFixed(2)} for the Hessian estimate (HAWQ-V2), ${run.spearman.kl.toFixed(2)} for the measured KL on synthetic images.`,
      '',
      '| layer | parameters | top-1 drop alone at W2 | KL alone at W2 (synthetic) | Hessian trace × error² |',
      '|---|---|---|---|---|',
      ...run.perLayer.map(
        (l) =>
          `| ${l.layer} | ${l.parameters} | ${(100 * l.drop).toFixed(2)} pts | ${l.kl.toExponential(2)} | ${l.hessianEstimate === null ? 'n/a' : l.hessianEstimate.toExponential(2)} |`,
      ),
    );
    const chart = frontierChart({
      title: `Top-1 against weight bytes: ${run.name}`,
      xName: 'weight bytes',
      yName: 'top-1 (%)',
      series: [
        { name: 'mixed (ILP)', points: run.mixed.map((m) => ({ x: m.bytes, y: 100 * m.accuracy })) },
        {
          name: 'uniform',
          line: false,
          points: run.uniform.map((u) => ({
            x: u.bytes,
            y: 100 * u.accuracy,
            label: u.name.replace('uniform-w', 'W'),
          })),
        },
      ],
      chosen: half ? { x: half.bytes, y: 100 * half.accuracy, label: 'halfway budget' } : null,
    });
    mkdirSync(join(ROOT, 'docs/charts'), { recursive: true });
    writeFileSync(join(ROOT, `docs/charts/mixed-${run.name}.svg`), chart.svg);
  }
  return lines.join('\n');
}

function renderLowbit(runs) {
  const seeds = runs.map((r) => r.seed);
  const fp32 = runs[0].rows[0]?.fp32 ?? 0;
  const lines = [
    '## Step 9: low-bit quality (rtn, pmf, recon on the same images)',
    '',
    `${runs[0].images} ${runs[0].method} images per seed (seeds ${seeds.join(', ')}; \`--synth auto\` makes these for recon), ${runs[0].rows[0]?.calibration} ranges,`,
    `${DEFAULT_CONFIG.quantizerSteps} steps (per block for recon); every quantizer of a seed on that seed's images and ranges. Full test split, FP32 ${pct(fp32)}.`,
    'Fake-quantized top-1, mean ± sd over seeds (each seed in brackets); `recon wins` counts the seeds where recon beats both rtn and pmf;',
    'integer agreement is the lowest over the seeds and quantizers; times are means of this run, which may share the machine with other work',
    "(Step 5's quantizer times are measured alone).",
  ];
  const find = (run, name) => run.rows.find((r) => r.name === name);
  for (const [suffix, title] of [
    [
      '',
      "dfq's defaults: first and last layers at 8 bits, tensors only residual adds read at 8 bits (every convolution's input at the A bits):",
    ],
    [
      '-residual-same',
      'First and last layers at 8 bits, residual-add inputs at the activation bits too (`--residual-bits same`, the convention of earlier runs of this table):',
    ],
    [
      '-same',
      'Every layer and tensor at the same bits (`--first-last-bits same --residual-bits same`; published results keep residual-add inputs in float):',
    ],
  ]) {
    lines.push(
      '',
      title,
      '',
      '| setting | rtn | pmf | recon | recon wins | target | integer agreement | overflows | time rtn / pmf / recon |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const bits of ['w4a4', 'w3a3', 'w2a8', 'w1a8']) {
      const per = Object.fromEntries(
        ['rtn', 'pmf', 'recon'].map((q) => [
          q,
          runs.map((run) => find(run, `${bits}-${q}${suffix}`)).filter(Boolean),
        ]),
      );
      if (per.recon.length === 0) continue;
      const cell = (q) =>
        `${spread(per[q]).text} (${spread(per[q])
          .accs.map((a) => a.toFixed(2))
          .join(', ')})`;
      const wins = per.recon.filter(
        (r, i) => r.accuracy > (per.rtn[i]?.accuracy ?? 1) && r.accuracy > (per.pmf[i]?.accuracy ?? 1),
      ).length;
      const all = [...per.rtn, ...per.pmf, ...per.recon];
      const target = suffix === '' && LOWBIT_TARGETS[bits];
      const met = target
        ? `≥ ${target.toFixed(1)}%: ${spread(per.recon).mean >= target ? 'met' : 'not met'}`
        : '';
      const secs = (q) => (per[q].reduce((a, r) => a + r.quantizerSeconds, 0) / per[q].length).toFixed(0);
      lines.push(
        `| ${bits.toUpperCase()} | ${cell('rtn')} | ${cell('pmf')} | ${cell('recon')} | ${wins} of ${per.recon.length} | ${met} | ${pct(Math.min(...all.map((r) => r.integerAgreement)))} | ${all.reduce((a, r) => a + r.overflows, 0)} | ${secs('rtn')} / ${secs('pmf')} / ${secs('recon')} s |`,
      );
    }
  }
  const acc16 = runs.map((run) => find(run, 'w4a4-recon-acc16')).filter(Boolean);
  if (acc16.length > 0)
    lines.push(
      '',
      `W4A4 recon with 16-bit accumulators requested: ${spread(acc16).text} (${spread(acc16)
        .accs.map((a) => a.toFixed(2))
        .join(
          ', ',
        )}); layers on 16 bits per seed: ${acc16.map((r) => `${r.layers16.length} of ${r.layers16.length + r.layers32.length}`).join(', ')}; overflows ${acc16.reduce((a, r) => a + r.overflows, 0)} (checked: ${acc16.every((r) => r.overflowsChecked)}).`,
    );
  return lines.join('\n');
}

function renderLowbitData(rows) {
  const seeds = [...new Set(rows.map((r) => r.seed))];
  const lines = [
    '## Step 9: which images reconstruction needs (data measures)',
    '',
    `recon with its defaults on 256 images per seed (seeds ${seeds.join(', ')}) made each way (\`node scripts/bench-images.mjs <source> 256 <seed> <dir>\`,`,
    'then `node scripts/recon-ablation.mjs <dir> <w> <a> 300 10000`), mse ranges from the same images, full test split. `zeroq`: BatchNorm statistics',
    'only; `direct`: plus a class cross-entropy term and random flips/shifts; `+lowpass`: then a Gaussian low-pass (sigma 0.5 px, SynQ);',
    '`generative`: a class-conditional generator (GDFQ); `real`: training images, a ceiling for reference, not data-free.',
    '',
    '| setting | images | mean ± sd | per seed | vs zeroq | images made in (mean) |',
    '|---|---|---|---|---|---|',
  ];
  for (const [weightBits, activationBits] of LOWBIT_DATA_BITS) {
    const of = (source) =>
      rows.filter(
        (r) => r.source === source && r.weightBits === weightBits && r.activationBits === activationBits,
      );
    const base = spread(of('zeroq'));
    for (const source of LOWBIT_DATA_SOURCES) {
      const rs = of(source);
      if (rs.length === 0) continue;
      const s = spread(rs);
      const delta =
        source === 'zeroq'
          ? ''
          : `${s.mean - base.mean >= 0 ? '+' : ''}${(s.mean - base.mean).toFixed(2)} pts`;
      const made = rs.reduce((a, r) => a + r.imageSeconds, 0) / rs.length;
      lines.push(
        `| W${weightBits}A${activationBits} | ${source} | ${s.text} | ${s.accs.map((a) => a.toFixed(2)).join(', ')} | ${delta} | ${made.toFixed(0)} s |`,
      );
    }
  }
  return lines.join('\n');
}

function renderAblation(rows) {
  const seeds = [...new Set(rows.map((r) => r.seed))];
  const lines = [
    '## Step 9: what each part of block reconstruction is worth',
    '',
    `On 256 ${rows[0]?.method ?? 'direct'} images per seed (the images \`--synth auto\` makes for recon; seeds ${seeds.join(', ')}; mse ranges; ${DEFAULT_CONFIG.quantizerSteps} steps, per block for recon), each row the`,
    "trainer's defaults with one setting changed (`node scripts/recon-ablation.mjs <images> <w> <a> <steps> 10000 '<settings>'`).",
    'Fake-quantized top-1 on the full test split, mean ± sd over the seeds, and the change against the defaults row above it.',
    '',
    '| setting | variant | mean ± sd | per seed | vs defaults | time (mean) |',
    '|---|---|---|---|---|---|',
  ];
  const groups = new Map();
  for (const r of rows) {
    const key = `W${r.weightBits}A${r.activationBits} ${r.quantizer}`;
    if (!groups.has(key)) groups.set(key, new Map());
    const variants = groups.get(key);
    if (!variants.has(r.name)) variants.set(r.name, []);
    variants.get(r.name).push(r);
  }
  const stats = (rs) => ({ ...spread(rs), seconds: rs.reduce((a, r) => a + r.seconds, 0) / rs.length });
  for (const [setting, variants] of groups) {
    const base = stats(variants.get('defaults') ?? []);
    for (const [name, rs] of variants) {
      const s = stats(rs);
      const delta =
        name === 'defaults'
          ? ''
          : `${s.mean - base.mean >= 0 ? '+' : ''}${(s.mean - base.mean).toFixed(2)} pts`;
      lines.push(
        `| ${setting} | ${name} | ${s.mean.toFixed(2)}% ± ${s.sd.toFixed(2)} | ${s.accs.map((a) => a.toFixed(2)).join(', ')} | ${delta} | ${s.seconds.toFixed(0)} s |`,
      );
    }
  }
  return lines.join('\n');
}

function renderEngine(rows) {
  const lines = [
    '## Step 7: the compute engine beside PyTorch (BN-statistics synthesis)',
    '',
    'Per iteration: forward, per-channel batch mean and std of every BatchNorm input, distance to the',
    'running statistics, backward to the pixels, Adam on the pixels (the `zeroq` preset). Same model,',
    "images, iterations and threads on both sides, one run; the peer is Debian's python3-torch on the CPU.",
    'The 224x224 MobileNetV2 and ResNet-18 have random weights, with BatchNorm statistics from one forward pass over',
    'noise (scripts/fixtures/build-mobilenetv2.mjs, build-resnet18.mjs): their figures are for timing only, and their',
    "final losses are not comparable to the peer's after 3 iterations from other random starts.",
    '',
    '| model | images x iterations | threads | dfq ms per image-iteration | PyTorch | dfq / PyTorch | dfq peak memory | PyTorch | ratio |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.model} | ${r.dfq.images} x ${r.dfq.iterations} | ${r.threads} | ${r.dfq.msPerImageIteration.toFixed(2)} (${r.dfq.engine}) | ${r.peer.msPerImageIteration.toFixed(2)} (${r.peer.engine}) | ${r.dfqOverPeer.toFixed(2)}x | ${mib(r.dfq.peakRssBytes)} | ${mib(r.peer.peakRssBytes)} | ${r.memoryRatio.toFixed(2)}x |`,
    );
  }
  for (const r of rows) {
    const p = r.dfq.profile;
    lines.push(
      '',
      `Where dfq's time goes on ${r.model} (${p.iterations} profiled iterations, ${p.wallMs.toFixed(0)} ms wall, ${p.kernelCalls} kernel calls, ${(100 * p.outsideKernelsShare).toFixed(0)}% outside kernels):`,
      '',
      '| kernel | ms | calls |',
      '|---|---|---|',
      ...p.topKernels.map((k) => `| ${k.kernel} | ${k.ms} | ${k.calls} |`),
    );
  }
  return lines.join('\n');
}

function renderMeanField(rows) {
  const lines = [
    '## Step 7: one mean-field distillation step beside PyTorch',
    '',
    'A step of `--quantizer pmf` (scripts/bench-meanfield.mjs; the peer, scripts/peer/mean-field-step.py, does the same',
    'in PyTorch on the problem dfq writes: folded graph, initial level scores, scales and activation quantizers, images):',
    'teacher forward with a tap at every weighted layer, expected weights under softmax(beta x scores), student forward',
    'with fake-quantized activations (clipped straight-through gradient), KL + feature loss, backward, two Adam updates.',
    'Images are seeded noise and the fixtures random (the 224x224 row quantizes every layer to 4 bits: 256 level scores',
    "for each of a 1000-class classifier's 1.3 M weights would dominate): the figures are for timing only.",
    '',
    '| model | batch x steps | threads | dfq ms per step | PyTorch | dfq / PyTorch | dfq peak memory | PyTorch | ratio |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.model} | ${r.dfq.batch} x ${r.dfq.steps} | ${r.threads} | ${r.dfq.msPerStep.toFixed(1)} (${r.dfq.engine}) | ${r.peer.msPerStep.toFixed(1)} (${r.peer.engine}) | ${r.dfqOverPeer.toFixed(2)}x | ${mib(r.dfq.peakRssBytes)} | ${mib(r.peer.peakRssBytes)} | ${r.memoryRatio.toFixed(2)}x |`,
    );
  }
  return lines.join('\n');
}

function renderDefault224(rows) {
  const lines = [
    '## Step 7: the default run at 224x224',
    '',
    '`dfq run --model <MobileNetV2 224x224 fixture> --out <dir>`, no size flags: sizes, batches and the memory budget',
    "are chosen from the model (the report's synthesis.sizing and synthesis.memory say how). No pretrained ImageNet",
    'weights can be fetched here, so the trained fixture is the same MobileNetV2 with a 10-class head trained on',
    'Fashion-MNIST scaled to 224x224x3 (scripts/fixtures/train-fixture.py); the random-weight one is the timing fixture.',
    "The integer model's agreement with the fake-quantized one on the synthetic images is the quality figure both give.",
    'A random network with BatchNorm is chaotic: a one-step rounding difference between float32 and integer',
    'arithmetic in the first layers spreads to most activations of the last blocks, so on it near-tied logits can differ.',
    '',
    '| model | weights | W/A | images x iterations (batch) | synthesis | total (wall) | peak memory (estimated synthesis peak) | integer agreement | overflows |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const weights = r.training
      ? `trained (${r.training.steps} x ${r.training.batch} images; top-1 ${(100 * r.training.top1First1000Test).toFixed(1)}% on 1,000 test images, FP32)`
      : 'random';
    lines.push(
      `| ${r.model} (${r.params} params) | ${weights} | W${r.weightBits}A${r.activationBits} | ${r.synthesis.images} x ${r.synthesis.iterations} (${r.synthesis.batchSize}) | ${r.synthesis.seconds.toFixed(0)} s | ${r.totalSeconds.toFixed(0)} s (${r.wallSeconds.toFixed(0)} s) | ${mib(r.peakRssBytes)} (${mib(r.synthesis.estimatedPeakBytes)}) | ${(100 * r.integerAgreementSynthetic).toFixed(2)}% | ${r.overflows} |`,
    );
  }
  lines.push('', ...rows.map((r) => `Sizing (${r.fixture ?? r.model}): ${r.synthesis.rule}.`));
  return lines.join('\n');
}

function renderOnnx(rows) {
  const imports = rows.filter((r) => r.kind === 'import');
  const latency = rows.filter((r) => r.kind === 'latency');
  const lines = [
    '## Step 8: ONNX in, ONNX QDQ out, checked by ONNX Runtime',
    '',
    'A small ResNet (torchvision-style stem with a padded max pool, three stages of basic blocks) trained on Fashion-MNIST',
    "with the peer's PyTorch and exported with its BatchNorms kept (scripts/fixtures/train-onnx-resnet.py), through",
    '`dfq run --model model.onnx --eval` with default settings otherwise. FP32 is dfq running the imported graph; PyTorch is',
    "PyTorch's own top-1 on the same split before export. ONNX Runtime runs dfq's QDQ export (per-channel weights: int8 below",
    "8 bits, uint8 around 128 at 8 bits so ORT's u8s8 kernels cannot saturate on CPUs without VNNI; uint8 activations) of the",
    'same quantized model. Full test split.',
    '',
    '| model | W/A | PyTorch FP32 | dfq FP32 | fake-quantized | vs PyTorch | integer (agrees) | ONNX Runtime QDQ | ORT = fake-quant | ORT float |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of imports)
    lines.push(
      `| ${r.model} (${r.params} params, ${r.pytorchEpochs} epochs) | W${r.weightBits}A${r.activationBits} | ${pct(r.pytorchTop1)} | ${pct(r.fp32Accuracy)} | ${pct(r.quantizedAccuracy)} | ${((r.quantizedAccuracy - r.pytorchTop1) * 100).toFixed(2)} pts | ${pct(r.integerAccuracy)} (${pct(r.integerAgreement)}) | ${pct(r.onnxRuntimeAccuracy)} | ${pct(r.onnxRuntimeAgreement)} | ${pct(r.onnxRuntimeFloatAccuracy)} |`,
    );
  for (const r of rows.filter((x) => x.kind === 'blocks'))
    lines.push(
      '',
      `Keras-application blocks at 224x224 (scripts/fixtures/build-mixed224.mjs: ${r.layers.join(', ')}), ${r.training ? `trained on Fashion-MNIST scaled up (${r.training.steps} x ${r.training.batch} images; PyTorch top-1 ${pct(r.training.top1First1000Test)} on 1,000 test images)` : 'random weights'},`,
      `default \`dfq run\`: ${r.images} images x ${r.iterations} iterations, W${r.weightBits}A${r.activationBits}, ${r.overflows} overflows; the integer executor agrees with the fake-quantized model on`,
      `**${pct(r.integerAgreementSynthetic)}** of the synthetic images; ${r.totalSeconds.toFixed(0)} s, peak ${mib(r.peakRssBytes)}.`,
    );
  lines.push(
    '',
    "ONNX Runtime's latency for dfq's two exports of one run, same random input batch, alternating, median of the rounds",
    '(scripts/bench-ort.mjs). 8-bit layers are exported u8u8, which ORT computes exactly on every x86 CPU; on CPUs without',
    "VNNI its u8u8 kernels are no faster than float, and the u8s8 form that would be faster saturates there (see issue 16's",
    'note of session 12), so on such a CPU the int8 export buys size and exactness, not speed:',
    '',
    '| model | input | threads | int8 QDQ ms per image | FP32 ms per image | FP32 / int8 |',
    '|---|---|---|---|---|---|',
  );
  for (const r of latency)
    lines.push(
      `| ${r.model} W${r.weightBits}A${r.activationBits} | [${r.input.join(', ')}] | ${r.threads} | ${r.int8MsPerImage.toFixed(3)} | ${r.fp32MsPerImage.toFixed(3)} | ${r.speedup.toFixed(2)}x |`,
    );
  return lines.join('\n');
}

function machineLine(m) {
  return m
    ? `${m.cpus} cores (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${m.node}`
    : 'an unrecorded machine';
}

const RENDER = {
  step1: renderStep1,
  kernels: renderKernels,
  backends: renderBackends,
  synthesis: renderSynthesis,
  quantizer: renderQuantizer,
  lowbit: renderLowbit,
  lowbitData: renderLowbitData,
  ablation: renderAblation,
  mixed: renderMixed,
  engine: renderEngine,
  meanfield: renderMeanField,
  default224: renderDefault224,
  onnx: renderOnnx,
};

const results = existsSync(JSON_PATH) ? JSON.parse(readFileSync(JSON_PATH, 'utf8')) : {};
mkdirSync(OUT, { recursive: true });
// Sections are re-measured one at a time, possibly on different machines: each records its own.
const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  memoryBytes: totalmem(),
  node: process.version,
};
for (const [name, measure] of Object.entries(SECTIONS)) {
  if (only.length > 0 && !only.includes(name)) continue;
  results[name] = { measuredAt: new Date().toISOString(), machine, rows: measure(results[name]?.rows) };
  // Kept after every section: a later section's failure must not lose the measurements before it.
  writeFileSync(JSON_PATH, `${JSON.stringify(results, null, 2)}\n`);
}
delete results.machine; // superseded by the per-section record
writeFileSync(JSON_PATH, `${JSON.stringify(results, null, 2)}\n`);

const md = [
  '# Benchmarks',
  '',
  'Generated by `npm run bench` (raw figures in `docs/benchmarks.json`); do not edit by hand.',
  'Each section names the machine it was measured on.',
  '',
  ...Object.keys(RENDER)
    .filter((k) => results[k])
    .map(
      (k) =>
        `${RENDER[k](results[k].rows)}\n\n_measured ${results[k].measuredAt} on ${machineLine(results[k].machine)}_\n`,
    ),
].join('\n');
writeFileSync(join(ROOT, 'docs/benchmarks.md'), md);
console.error(`bench: wrote docs/benchmarks.md and ${JSON_PATH}`);
