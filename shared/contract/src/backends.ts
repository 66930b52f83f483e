/** Tensor backends a run may ask for; `auto` takes the first that loads, in this order after itself. */
export const BACKEND_CHOICES = ['auto', 'tfjs-node-gpu', 'tfjs-node', 'native', 'wasm', 'cpu'] as const;
export type BackendRequest = (typeof BACKEND_CHOICES)[number];

/** Where Debian's dataset-fashion-mnist package puts the IDX files. */
export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
