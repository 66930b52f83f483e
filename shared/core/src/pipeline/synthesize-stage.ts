import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend/select-backend.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { encodeNpy } from '../data/npy.js';
import { saveImages } from '../images/save-images.js';
import { loadModel } from '../model/load-model.js';
import { noiseImages, realImages } from '../synthesis/baseline-images.js';
import { synthesizeDirect } from '../synthesis/direct-synthesis.js';
import type { SynthesisResult } from '../synthesis/synthesis-result.js';
import { modelOptions } from './model-options.js';
import type { RunConfig } from './run-config.js';
import { peakRssBytes, type StageEnv, type SynthesisOutput, secondsSince, stageKey } from './stage-env.js';

/** Stage 1: model -> calibration images (images.npy in normalized input space, plus PNGs). */
export async function synthesizeStage(config: RunConfig, env: StageEnv): Promise<SynthesisOutput> {
  const backend = await selectBackend(config.backend);
  const failed = backend.attempts.filter((a) => !a.ok).map((a) => `${a.backend}: ${a.reason}`);
  env.onEvent({
    kind: 'stage',
    stage: 'backend',
    message: `tensor backend: ${backend.name}${failed.length ? ` (${failed.join('; ')})` : ''}`,
  });
  const { graph } = await loadModel(config.modelPath, modelOptions(config));

  env.onEvent({
    kind: 'stage',
    stage: 'synthesis',
    message: `${config.synth}: ${config.images} images${config.synth === 'direct' ? `, ${config.iterations} iterations` : ''}`,
  });
  const start = performance.now();
  let result: SynthesisResult;
  if (config.synth === 'direct') {
    result = await synthesizeDirect(graph, {
      images: config.images,
      iterations: config.iterations,
      seed: config.seed,
      batchSize: config.synthBatchSize,
      learningRate: config.learningRate,
      onProgress: (progress) => env.onEvent({ kind: 'synthesis', progress }),
    });
  } else if (config.synth === 'noise') {
    result = noiseImages(graph, config.images, config.seed);
  } else {
    if (!config.evalDir)
      throw new Error(
        "--synth real needs --eval <dir>: the real images come from that directory's training split",
      );
    result = realImages(graph, await loadFashionMnist(config.evalDir, 'train'), config.images, config.seed);
  }
  const seconds = secondsSince(start);
  try {
    const images = await env.store.put(
      stageKey(env, 'images/images.npy'),
      encodeNpy({ shape: result.images.shape, data: result.images.dataSync() as Float32Array }),
    );
    let pngDir: string | null = null;
    let contactSheet: SynthesisOutput['contactSheet'] = null;
    if (config.saveImages) {
      pngDir = stageKey(env, 'images');
      await saveImages(result.images, graph.normalization, env.store.path(pngDir));
      contactSheet = await env.store.ref(stageKey(env, 'images/contact-sheet.png'));
    }
    return {
      backend: { name: backend.name, attempts: backend.attempts },
      images,
      pngDir,
      contactSheet,
      summary: {
        method: result.method,
        images: result.images.shape[0],
        iterations: result.iterations,
        seconds,
        lossInitial: result.lossInitial,
        lossFinal: result.lossFinal,
      },
      peakRssBytes: peakRssBytes(),
    };
  } finally {
    tf.dispose(result.images);
  }
}
