import type { RunEvent, SynthesisMethod } from '@dfq/contract';
import type { ArtifactRef, ArtifactStore } from '../artifacts/artifact-store.js';
import type { BackendAttempt } from '../backend/select-backend.js';
import type { TensorCalibration } from '../calibration/calibrate.js';
import type { MemoryPlan } from './memory-plan.js';
import type { GeneratorUse } from './synthesizers.js';

export type { RunEvent } from '@dfq/contract';

/** Where a stage keeps its artifacts and whom it tells about progress. */
export interface StageEnv {
  store: ArtifactStore;
  /** Key prefix of this run inside the store ('' for an embedded run writing straight into --out). */
  prefix: string;
  onEvent: (e: RunEvent) => void;
  /** A shared worker's memory limit for one run (DFQ_WORKER_MEMORY_MIB); absent for a local run. */
  memoryCapMiB?: number;
  /** How the report shows a file path: a shared worker hides its own layout from tenants. */
  shownPath?: (path: string) => string;
}

export interface BackendUsed {
  name: string;
  attempts: BackendAttempt[];
}

export function stageKey(env: StageEnv, key: string): string {
  return env.prefix ? `${env.prefix}/${key}` : key;
}

export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

export interface SynthesisOutput {
  backend: BackendUsed;
  images: ArtifactRef;
  pngDir: string | null;
  contactSheet: ArtifactRef | null;
  summary: {
    method: SynthesisMethod;
    images: number;
    iterations: number;
    seconds: number;
    lossInitial: number | null;
    lossFinal: number | null;
    imagesPerSecond: number;
    /** Images optimized together: the option's value, or fewer where the memory budget requires. */
    batchSize: number;
    /** Where images and iterations came from, and the auto rule applied (pipeline/run-sizing.ts). */
    sizing: {
      imagesFrom: 'option' | 'auto';
      iterationsFrom: 'option' | 'auto';
      stopOnPlateau: boolean;
      averageLayers: boolean;
      rule: string;
    };
    /** The memory plan made before synthesis began (pipeline/memory-plan.ts). */
    memory: {
      budgetBytes: number;
      budgetSource: MemoryPlan['budgetSource'];
      estimatedPeakBytes: number;
      inputShape: number[];
      activationValuesPerImage: number;
      forwardMacsPerImage: number;
    };
    /** Share of images the model assigns to the class they were made for (null: untargeted method). */
    targetAgreement: number | null;
    /** Mean within-class cosine distance of penultimate features (classes as the model predicts them). */
    diversity: number;
    /** The same on real test images, when an evaluation set is given. */
    realDiversity: number | null;
    bnLossPerLayer: Record<string, number>;
    generator: GeneratorUse | null;
  };
  peakRssBytes: number;
}

export interface CalibrationOutput {
  backend: BackendUsed;
  profile: ArtifactRef;
  summary: { method: string; images: number; seconds: number; tensors: Record<string, TensorCalibration> };
  peakRssBytes: number;
}
