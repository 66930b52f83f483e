import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  allocateBits,
  BitBudgetError,
  calibrate,
  chooseMixedPrecision,
  foldBatchNorm,
  GraphRunner,
  hessianTraces,
  loadModel,
  type ModelGraph,
  measureSensitivity,
  noiseImages,
  planQuantization,
  seededRandom,
  selectBackend,
  type WeightedNode,
} from '../src/index.js';
import { EXAMPLE_MODEL } from './helpers.js';

beforeAll(async () => {
  await selectBackend('native');
});

describe('bit allocation by integer programming', () => {
  /** Random layers whose KL falls with bits, as measured ones do. */
  function randomLayers(seed: number, count: number) {
    const random = seededRandom(seed);
    return Array.from({ length: count }, (_, i) => {
      const parameters = 100 + Math.floor(random() * 5000);
      // Multiply-adds per weight differ by layer (a feature map's size), so BOPs and bytes disagree.
      const macs = parameters * (1 + Math.floor(random() * 200));
      const base = random() * 0.1;
      return {
        layer: `l${i}`,
        candidates: [2, 4, 8].map((bits) => ({
          bits,
          kl: base * 4 ** -(bits / 2) * (0.5 + random()),
          bytes: Math.ceil((parameters * bits) / 8),
          bops: macs * bits * 8,
        })),
      };
    });
  }

  /** Every assignment, for the true optimum. */
  function bruteForce(
    layers: ReturnType<typeof randomLayers>,
    budget: number,
    bopsBudget = Number.POSITIVE_INFINITY,
  ): number {
    let best = Number.POSITIVE_INFINITY;
    const visit = (i: number, bytes: number, bops: number, kl: number) => {
      if (bytes > budget || bops > bopsBudget) return;
      if (i === layers.length) {
        best = Math.min(best, kl);
        return;
      }
      for (const c of layers[i]?.candidates ?? []) visit(i + 1, bytes + c.bytes, bops + c.bops, kl + c.kl);
    };
    visit(0, 0, 0, 0);
    return best;
  }

  it('finds the least summed KL within the budget, as enumerating every assignment does', async () => {
    for (const seed of [1, 2, 3]) {
      const layers = randomLayers(seed, 6);
      const smallest = layers.reduce((a, l) => a + (l.candidates[0]?.bytes ?? 0), 0);
      const largest = layers.reduce((a, l) => a + (l.candidates[2]?.bytes ?? 0), 0);
      for (const share of [0.1, 0.35, 0.6, 0.9]) {
        const budget = smallest + share * (largest - smallest);
        const allocation = await allocateBits(layers, budget);
        expect(allocation.bytes).toBeLessThanOrEqual(budget);
        expect(allocation.kl).toBeCloseTo(bruteForce(layers, budget), 10);
        expect([...allocation.bits.keys()]).toEqual(layers.map((l) => l.layer));
      }
    }
  });

  it('honours a bit-operations budget beside the bytes, as enumerating every assignment does', async () => {
    for (const seed of [5, 6, 7]) {
      const layers = randomLayers(seed, 6);
      const total = (i: number) => layers.reduce((a, l) => a + (l.candidates[i]?.bops ?? 0), 0);
      const largestBytes = layers.reduce((a, l) => a + (l.candidates[2]?.bytes ?? 0), 0);
      for (const share of [0.15, 0.4, 0.7]) {
        const bopsBudget = total(0) + share * (total(2) - total(0));
        const allocation = await allocateBits(layers, largestBytes, bopsBudget);
        expect(allocation.bops).toBeLessThanOrEqual(bopsBudget);
        expect(allocation.kl).toBeCloseTo(bruteForce(layers, largestBytes, bopsBudget), 10);
      }
    }
  });

  it('refuses a budget below the smallest assignment, saying what would fit', async () => {
    const layers = randomLayers(4, 3);
    const smallest = layers.reduce((a, l) => a + (l.candidates[0]?.bytes ?? 0), 0);
    const error = await allocateBits(layers, smallest - 1).catch((e) => e);
    expect(error).toBeInstanceOf(BitBudgetError);
    expect(error.smallestBytes).toBe(smallest);
    expect(error.message).toContain(`the smallest candidates take ${smallest} bytes`);
  });
});

describe('Hessian trace (Hutchinson with finite-difference Hessian-vector products)', () => {
  it("matches the exact trace of a softmax layer's Hessian", async () => {
    // logits = x W + b with cross-entropy against fixed labels: the Hessian block of W is
    // (1/N) Σ_n (x_n x_nᵀ) ⊗ (diag(p_n) - p_n p_nᵀ), whose trace is (1/N) Σ_n |x_n|² Σ_k p_nk (1 - p_nk).
    const random = seededRandom(7);
    const [inputs, classes, n] = [6, 4, 32];
    const kernel = Float32Array.from({ length: inputs * classes }, () => random() - 0.5);
    const graph: ModelGraph = {
      name: 'softmax',
      inputName: 'input',
      outputName: 'fc',
      normalization: { mean: [0], std: [1] },
      metadata: {},
      nodes: [
        { op: 'input', name: 'input', inputs: [], shape: [1, 1, inputs] },
        { op: 'flatten', name: 'flat', inputs: ['input'] },
        {
          op: 'dense',
          name: 'fc',
          inputs: ['flat'],
          kernel: { shape: [inputs, classes], data: kernel },
          activation: 'linear',
        },
      ],
    };
    const x = tf.randomNormal([n, 1, 1, inputs], 0, 1, 'float32', 11) as tf.Tensor4D;
    const w = tf.tensor2d(kernel, [inputs, classes]);
    const reference = tf.tidy(() => x.reshape([n, inputs]).matMul(w)) as tf.Tensor2D;
    const exact = tf.tidy(() => {
      const p = tf.softmax(reference);
      const spread = p.mul(tf.scalar(1).sub(p)).sum(1);
      return x.reshape([n, inputs]).square().sum(1).mul(spread).mean().dataSync()[0] as number;
    });
    const runner = new GraphRunner(graph);
    const fc = graph.nodes[2] as WeightedNode;
    const estimate = (
      await hessianTraces(runner, [fc], x, reference, { probes: 400, seed: 1, batchSize: 16 })
    ).get('fc');
    expect(estimate).toBeGreaterThan(0.85 * exact);
    expect(estimate).toBeLessThan(1.15 * exact);
    const again = (
      await hessianTraces(runner, [fc], x, reference, { probes: 400, seed: 1, batchSize: 16 })
    ).get('fc');
    expect(again).toBe(estimate);
    runner.dispose();
    tf.dispose([x, w, reference]);
  });
});

describe('per-layer sensitivity and mixed precision on the example model', () => {
  it('measures every layer at every candidate, worse at fewer bits, and fits the budget it is given', async () => {
    const folded = foldBatchNorm((await loadModel(EXAMPLE_MODEL)).graph).graph;
    const plan = planQuantization(folded, {
      weightBits: 8,
      activationBits: 8,
      firstLastBits: null,
      residualBits: null,
    });
    const images = noiseImages(folded, 16, 3).images;
    const profile = calibrate(new GraphRunner(folded), images, plan.activationBits.keys(), (name) => ({
      bits: plan.activationBits.get(name) as number,
    }));
    const ranges = new Map(Object.entries(profile.ranges));
    const report = await measureSensitivity(folded, images, ranges, {
      weightBits: [2, 8],
      activationBits: [4],
      probes: 1,
      seed: 0,
    });
    expect(report.layers.map((l) => l.layer)).toEqual([...plan.weightBits.keys()]);
    for (const layer of report.layers) {
      const [w2, w8] = layer.candidates;
      expect(w2?.kl).toBeGreaterThan(w8?.kl as number);
      expect(w2?.sqnr).toBeLessThan(w8?.sqnr as number);
      expect(w8?.bytes).toBe(layer.parameters);
    }
    expect(report.activations.length).toBe(ranges.size);

    const w4Bytes = report.layers.reduce((a, l) => a + Math.ceil(l.parameters / 2), 0);
    const { choice } = await chooseMixedPrecision(
      folded,
      plan,
      ranges,
      images,
      { sizeBudget: w4Bytes * 1.5, bopsBudget: null, maxDrop: null },
      {
        seed: 0,
        fixed: new Map([['fc', 8]]),
      },
    );
    expect(choice.bytes).toBeLessThanOrEqual(w4Bytes * 1.5);
    expect(choice.bits.fc).toBeUndefined();
    expect(new Set(Object.values(choice.bits)).size).toBeGreaterThan(1);
    expect(choice.agreement).toBeGreaterThan(0);

    // --max-drop: the smallest budget the search found whose whole model stays within the drop.
    const drop = await chooseMixedPrecision(
      folded,
      plan,
      ranges,
      images,
      { sizeBudget: null, bopsBudget: null, maxDrop: 15 },
      {
        seed: 0,
        fixed: new Map(),
      },
    );
    expect(drop.choice.agreement).toBeGreaterThanOrEqual(0.85);
    expect(drop.choice.searched.length).toBeGreaterThan(1);
    const passing = drop.choice.searched.filter((s) => s.agreement >= 0.85);
    expect(drop.choice.bytes).toBe(Math.min(...passing.map((s) => s.bytes)));
    expect(drop.choice.bytes).toBeLessThan(drop.choice.uniformBytes.w8);
    images.dispose();
  }, 120_000);
});
