/** One step of an optimization over image batches (direct synthesis, generator training). */
export interface SynthesisProgress {
  iteration: number;
  iterations: number;
  batch: number;
  batches: number;
  loss: number;
}

/** One step of weight training (pmf, pgd: the whole model; recon: one block at a time). */
export interface DistillationProgress {
  /** Steps done and in all, over every block. */
  step: number;
  steps: number;
  beta: number;
  /** The loss of this step: the whole model's, or the current block's reconstruction error. */
  loss: number;
  seconds: number;
  etaSeconds: number;
  /** The block being reconstructed (index from 1, and its output node); null for whole-model training. */
  block: { index: number; count: number; output: string } | null;
}

/** The models evaluation reports progress for: FP32, fake-quantized, and the integer-only executor. */
/** The models evaluation runs, in its order. */
export const EVALUATED_MODELS = ['fp32', 'quantized', 'integer', 'onnx-runtime'] as const;
export type EvaluatedModel = (typeof EVALUATED_MODELS)[number];

export interface EvaluationProgress {
  model: EvaluatedModel;
  done: number;
  total: number;
}

/** What the pipeline tells its caller as it goes. */
export type RunEvent =
  | { kind: 'phase'; phase: string; message: string }
  | { kind: 'synthesis'; progress: SynthesisProgress }
  | { kind: 'distillation'; progress: DistillationProgress }
  | { kind: 'evaluation'; progress: EvaluationProgress };

/**
 * A stage job's progress as the queue stores it and clients read it: the phase in force and
 * the counters of the loop running in it (null where that loop has not run in this stage).
 */
export interface JobProgress {
  /** The queue stage (synthesize, calibrate, quantize). */
  stage: string;
  phase: string | null;
  message: string | null;
  synthesis: SynthesisProgress | null;
  distillation: DistillationProgress | null;
  evaluation: EvaluationProgress | null;
  /** When this progress was reported (ISO time). */
  at: string;
}

export function initialProgress(stage: string, at: string): JobProgress {
  return { stage, phase: null, message: null, synthesis: null, distillation: null, evaluation: null, at };
}

/** The progress after one more event. */
export function nextProgress(previous: JobProgress, event: RunEvent, at: string): JobProgress {
  switch (event.kind) {
    case 'phase':
      return { ...previous, phase: event.phase, message: event.message, at };
    case 'synthesis':
      return { ...previous, synthesis: event.progress, at };
    case 'distillation':
      return { ...previous, distillation: event.progress, at };
    case 'evaluation':
      return { ...previous, evaluation: event.progress, at };
  }
}

/** Reads a job's progress as stored; anything that is not a JobProgress (a bare number, null) reads as none. */
export function asJobProgress(value: unknown): JobProgress | null {
  if (typeof value !== 'object' || value === null) return null;
  const p = value as Partial<JobProgress>;
  return typeof p.stage === 'string' && typeof p.at === 'string' ? (p as JobProgress) : null;
}

/** The counters of the loop running now, for a one-line status. */
export function progressDetail(p: JobProgress): string {
  const parts: string[] = [];
  if (p.phase === 'evaluation' && p.evaluation) {
    const e = p.evaluation;
    parts.push(`${e.model}: ${e.done}/${e.total} images`);
  } else if (p.distillation && p.phase === 'quantization') {
    const d = p.distillation;
    const block = d.block ? `block ${d.block.index}/${d.block.count} (${d.block.output}) ` : '';
    parts.push(
      `${block}step ${d.step}/${d.steps} beta ${d.beta.toFixed(1)} loss ${d.loss.toFixed(5)} ETA ${d.etaSeconds.toFixed(0)}s`,
    );
  } else if (p.synthesis && p.phase === 'synthesis') {
    const s = p.synthesis;
    parts.push(
      `batch ${s.batch}/${s.batches} iteration ${s.iteration}/${s.iterations} loss ${s.loss.toFixed(5)}`,
    );
  } else if (p.message) {
    parts.push(p.message);
  }
  return parts.join(' ');
}

/**
 * How far a stage is, 0-1, from the loop running in it; it never goes back within a stage. The
 * quantize stage gives its first half to distillation and its second to the report's evaluation.
 */
export function stageFraction(p: JobProgress): number {
  if (p.phase === 'evaluation') {
    if (!p.evaluation) return 0.5;
    const model = EVALUATED_MODELS.indexOf(p.evaluation.model);
    const done = p.evaluation.done / Math.max(1, p.evaluation.total);
    return 0.5 + (0.5 * (model + done)) / EVALUATED_MODELS.length;
  }
  if (p.phase === 'overflow check') return 0.5;
  if (p.phase === 'quantization' && p.distillation)
    return (0.5 * p.distillation.step) / Math.max(1, p.distillation.steps);
  if (p.phase === 'synthesis' && p.synthesis) {
    const s = p.synthesis;
    return (s.batch - 1 + s.iteration / Math.max(1, s.iterations)) / Math.max(1, s.batches);
  }
  return 0;
}
