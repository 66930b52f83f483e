import { type ResolvedRunConfig, RunOptionError, wantsMixedPrecision } from '@dfq/contract';
import * as tf from '@tensorflow/tfjs';
import { BitBudgetError } from '../analysis/bit-allocation.js';
import {
  chooseMixedPrecision,
  heldOutImages,
  type MixedPrecisionChoice,
} from '../analysis/mixed-precision.js';
import { WEIGHT_CANDIDATES_TEXT } from '../analysis/sensitivity.js';
import { selectBackend } from '../backend/select-backend.js';
import type { CalibrationProfile } from '../calibration/calibrate.js';
import { decodeNpy, type Float32Array_ND } from '../data/npy.js';
import { saveIntegerModel } from '../integer/integer-export.js';
import { type IntegerModel, toIntegerModel } from '../integer/integer-model.js';
import { saveLayersModel } from '../model/save-layers-model.js';
import { exportOnnx, onnxInputLayout } from '../onnx/export-onnx.js';
import type { Range } from '../quantization/activation-quantizer.js';
import { type BuiltQuantizedModel, buildQuantizedModel } from '../quantization/build-quantized-model.js';
import { WEIGHT_QUANTIZERS } from '../quantization/weight-quantizers.js';
import { DFQ_VERSION } from '../version.js';
import { checkRun } from './check-run.js';
import { type PreparedModel, prepareModel } from './prepare-model.js';
import {
  type BackendUsed,
  type CalibrationOutput,
  peakRssBytes,
  type StageEnv,
  type SynthesisOutput,
  secondsSince,
  stageKey,
} from './stage-env.js';

export interface QuantizeStageInput {
  synthesis: SynthesisOutput;
  calibration: CalibrationOutput;
}

/** The quantized model, in memory for the report stage, and where its exports were written. */
export interface QuantizeOutput {
  backend: BackendUsed;
  prepared: PreparedModel;
  built: BuiltQuantizedModel;
  /** Null when layers are kept in float: an integer-only runtime cannot run them. */
  integer: IntegerModel | null;
  /** The synthetic images (normalized), decoded once for training and the overflow check. */
  synthetic: Float32Array_ND;
  /** Per-layer bits chosen under --size-budget / --max-drop (null: uniform bits). */
  mixedPrecision: MixedPrecisionChoice | null;
  artifacts: {
    /** Per-layer sensitivity on the synthetic images (written when mixed precision was asked). */
    sensitivity: string | null;
    quantizedModel: string;
    integerModel: string | null;
    tfjsUint8Model: string;
    /** ONNX QDQ model (int8 weights, uint8 activations) and the float model it comes from. */
    onnxModel: string;
    onnxFloatModel: string;
  };
  seconds: number;
  peakRssBytes: number;
}

/**
 * Stage 3: calibration profile -> quantized weights (rounded, or trained on the synthetic images
 * by the chosen quantizer), accumulator fit, and the exports: fake-quantized, integer-only and
 * stock-TF.js uint8.
 */
export async function quantizeStage(
  config: ResolvedRunConfig,
  input: QuantizeStageInput,
  env: StageEnv,
): Promise<QuantizeOutput> {
  const backend = await selectBackend(config.backend);
  checkRun(config);
  let prepared = await prepareModel(config);
  const { folding } = prepared;
  const profile = JSON.parse(
    (await env.store.get(input.calibration.profile)).toString('utf8'),
  ) as CalibrationProfile;
  const synthetic = decodeNpy(await env.store.get(input.synthesis.images), input.synthesis.images.key);

  env.onEvent({
    kind: 'phase',
    phase: 'quantization',
    message: `${config.quantizer} W${config.weightBits}A${config.activationBits}, first/last layers at ${config.firstLastBits ?? 'the same'} bits, residual-add inputs at ${config.residualBits ?? 'the same'} bits, ${config.accumulatorBits}-bit accumulators`,
  });
  const quantStart = performance.now();
  const ranges = new Map(Object.entries(profile.ranges));
  let mixedPrecision: MixedPrecisionChoice | null = null;
  let sensitivityKey: string | null = null;
  if (wantsMixedPrecision(config)) {
    const chosen = await chooseWeightBits(config, prepared, ranges, synthetic, env);
    mixedPrecision = chosen.choice;
    sensitivityKey = chosen.sensitivityKey;
    prepared = { ...prepared, plan: chosen.plan };
  }
  const { plan } = prepared;
  const images = WEIGHT_QUANTIZERS[config.quantizer]
    ? tf.tensor4d(synthetic.data, synthetic.shape as [number, number, number, number])
    : null;
  const built = await buildQuantizedModel(folding.graph, plan, ranges, images, {
    quantizer: config.quantizer,
    steps: config.quantizerSteps,
    accumulatorBits: config.accumulatorBits,
    seed: config.seed,
    onProgress: (progress) => env.onEvent({ kind: 'distillation', progress }),
    onBlock: (b, index, count) =>
      env.onEvent({
        kind: 'phase',
        phase: 'quantization',
        message: `block ${index + 1}/${count} (${b.output}) done in ${b.seconds.toFixed(1)} s: error ${b.hardError.toPrecision(3)}, round-to-nearest ${b.nearestError.toPrecision(3)}, kept ${b.kept}`,
      }),
  }).finally(() => images?.dispose());
  const quantized = built.model;
  const integer =
    plan.keptFloat.length > 0
      ? null
      : toIntegerModel(quantized, new Map(built.accumulators.map((a) => [a.layer, a.accumulatorBits])));
  const modelDir = stageKey(env, 'quantized-model');
  const integerDir = stageKey(env, 'integer-model');
  const uint8Dir = stageKey(env, 'tfjs-uint8-model');
  await saveLayersModel(quantized.graph, env.store.path(modelDir), {
    dfq: {
      note: 'Weights hold dequantized integer-grid values; apply activationQuantization to reproduce the quantized model.',
      weightBits: Object.fromEntries(plan.weightBits),
      activationQuantization: Object.fromEntries(quantized.activations),
    },
  });
  if (integer) await saveIntegerModel(integer, env.store.path(integerDir));
  // TF.js's own format: per-tensor uint8 weights of the folded model, dequantized at load.
  await saveLayersModel(folding.graph, env.store.path(uint8Dir), {}, { weightDtype: 'uint8' });
  const onnxDir = stageKey(env, 'onnx-model');
  const onnxOptions = { inputLayout: onnxInputLayout(folding.graph), producer: `dfq ${DFQ_VERSION}` };
  const onnxModel = `${onnxDir}/model.onnx`;
  const onnxFloatModel = `${onnxDir}/model-float.onnx`;
  await env.store.put(onnxModel, exportOnnx(quantized.graph, onnxOptions, quantized).bytes);
  await env.store.put(onnxFloatModel, exportOnnx(folding.graph, onnxOptions).bytes);
  return {
    backend: { name: backend.name, attempts: backend.attempts },
    prepared,
    built,
    integer,
    synthetic,
    mixedPrecision,
    artifacts: {
      sensitivity: sensitivityKey,
      quantizedModel: `${modelDir}/model.json`,
      integerModel: integer ? `${integerDir}/integer-model.json` : null,
      tfjsUint8Model: `${uint8Dir}/model.json`,
      onnxModel,
      onnxFloatModel,
    },
    seconds: secondsSince(quantStart),
    peakRssBytes: peakRssBytes(),
  };
}

/** --size-budget / --max-drop: per-layer weight bits from the layers' measured sensitivity. */
async function chooseWeightBits(
  config: ResolvedRunConfig,
  prepared: PreparedModel,
  ranges: ReadonlyMap<string, Range>,
  synthetic: Float32Array_ND,
  env: StageEnv,
): Promise<{ choice: MixedPrecisionChoice; plan: PreparedModel['plan']; sensitivityKey: string }> {
  const say = (message: string) => env.onEvent({ kind: 'phase', phase: 'mixed precision', message });
  const held = heldOutImages(synthetic);
  say(
    `measuring each layer's sensitivity at ${WEIGHT_CANDIDATES_TEXT} on ${held.count} synthetic images held out of calibration, then choosing bits${config.sizeBudget === null ? '' : ` within --size-budget ${config.sizeBudget}`}${config.bopsBudget === null ? '' : ` within --bops-budget ${config.bopsBudget}`}${config.maxDrop === null ? '' : ` within --max-drop ${config.maxDrop} points`}`,
  );
  const fixed = new Map(
    Object.entries(config.layerBits).flatMap(([layer, b]) =>
      b.weightBits === undefined ? [] : [[layer, b.weightBits] as const],
    ),
  );
  const images = tf.tensor4d(held.data, [held.count, ...synthetic.shape.slice(1)] as [
    number,
    number,
    number,
    number,
  ]);
  try {
    const { choice, sensitivity } = await chooseMixedPrecision(
      prepared.folding.graph,
      prepared.plan,
      ranges,
      images,
      { sizeBudget: config.sizeBudget, bopsBudget: config.bopsBudget, maxDrop: config.maxDrop },
      { seed: config.seed, fixed, onProgress: say },
    );
    const sensitivityKey = stageKey(env, 'analysis/sensitivity.json');
    await env.store.put(sensitivityKey, `${JSON.stringify(sensitivity, null, 2)}\n`);
    say(
      `chose ${Object.entries(choice.bits)
        .map(([l, b]) => `${l}=${b}`)
        .join(
          ', ',
        )}: ${choice.bytes} bytes of weights (uniform W4 ${choice.uniformBytes.w4}, W8 ${choice.uniformBytes.w8}), ${(100 * choice.agreement).toFixed(2)}% agreement with FP32 on the synthetic images`,
    );
    const weightBits = new Map(prepared.plan.weightBits);
    for (const [layer, bits] of Object.entries(choice.bits)) weightBits.set(layer, bits);
    return { choice, plan: { ...prepared.plan, weightBits }, sensitivityKey };
  } catch (e) {
    if (e instanceof BitBudgetError) throw new RunOptionError(() => e.message);
    throw e;
  } finally {
    images.dispose();
  }
}
