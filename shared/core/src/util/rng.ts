/** A small seeded PRNG (mulberry32): same seed, same sequence, on every platform. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** k distinct indices from [0, n), in a seeded random order. */
export function sampleIndices(n: number, k: number, seed: number): number[] {
  const random = seededRandom(seed);
  const pool = Array.from({ length: n }, (_, i) => i);
  const take = Math.min(k, n);
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(random() * (n - i));
    [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
  }
  return pool.slice(0, take);
}

/** Larger than any seed expression dfq forms, so it collides with none. */
const ZERO_SEED_STAND_IN = 2 ** 52 + 1;

/**
 * TF.js's random ops read a seed of 0 as "no seed" and draw from Math.random, so every seed
 * expression that can reach 0 (seed 0, the default, at batch or step 0) made a run
 * irreproducible. 0 maps to a fixed stand-in; every other seed passes unchanged, so runs with
 * other seeds draw exactly what they drew before.
 */
export function tfSeed(seed: number): number {
  return seed === 0 ? ZERO_SEED_STAND_IN : seed;
}
