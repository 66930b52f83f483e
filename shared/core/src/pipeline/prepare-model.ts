import type { ResolvedRunConfig } from '@dfq/contract';
import type { BnPrior } from '../calibration/range-estimator.js';
import { type FoldResult, foldBatchNorm } from '../model/fold-batchnorm.js';
import type { ModelGraph } from '../model/graph.js';
import { loadModel } from '../model/load-model.js';
import { planQuantization, type QuantizationPlan } from '../quantization/quantization-plan.js';
import { modelOptions } from './model-options.js';

/**
 * A run's model as every stage sees it: loaded with the run's normalization, BatchNorm folded,
 * and the bits of every layer planned. The calibration profile is keyed by folded node names,
 * so all stages (and the bench scripts) prepare the model here.
 */
export interface PreparedModel {
  graph: ModelGraph;
  normalizationSource: string;
  folding: FoldResult;
  plan: QuantizationPlan;
}

export async function prepareModel(config: ResolvedRunConfig): Promise<PreparedModel> {
  const { graph, normalizationSource } = await loadModel(config.modelPath, modelOptions(config));
  const folding = foldBatchNorm(graph);
  return {
    graph,
    normalizationSource,
    folding,
    plan: planQuantization(folding.graph, config.resolved.bits, config.resolved.layers),
  };
}

/** For each layer a BatchNorm was folded into: that BatchNorm's β and |γ|, and the fused activation. */
export function bnPriors({ graph, folding }: PreparedModel): Map<string, BnPrior> {
  const priors = new Map<string, BnPrior>();
  const folded = new Map(folding.graph.nodes.map((n) => [n.name, n]));
  for (const node of graph.nodes) {
    const into = folding.folded[node.name];
    const layer = into ? folded.get(into) : undefined;
    if (node.op !== 'batchNorm' || !layer || !('activation' in layer)) continue;
    priors.set(layer.name, {
      mean: node.beta.data,
      std: node.gamma.data.map(Math.abs),
      activation: layer.activation,
    });
  }
  return priors;
}
