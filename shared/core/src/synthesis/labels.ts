import type { ModelGraph } from '../model/graph.js';
import { isWeighted } from '../model/graph.js';

/** Number of classes the model predicts (width of its last conv or dense layer). */
export function classCount(graph: ModelGraph): number {
  const last = [...graph.nodes].reverse().find(isWeighted);
  const shape = last?.kernel.shape;
  return shape ? (shape[shape.length - 1] as number) : 0;
}

/** Balanced class labels: offset, offset + 1, ... wrapping at `classes`. */
export function balancedLabels(count: number, classes: number, offset = 0): number[] {
  return Array.from({ length: count }, (_, i) => (i + offset) % classes);
}
