export * from './start-worker.js';
export * from './worker-env.js';
