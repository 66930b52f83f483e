import { defineConfig } from 'vitest/config';

// Tests that need nothing but the repository and built workspace packages: no Redis, no
// Fashion-MNIST, no native addon (`npm run test:unit`).
const UNIT = [
  'shared/contract/test/**/*.test.ts',
  'services/cli/test/**/*.test.ts',
  'shared/core/test/**/*.test.ts',
];
// Core tests that read Fashion-MNIST or load the native backend.
const CORE_NEEDS_MORE = ['idx', 'integer', 'generative'].map((f) => `shared/core/test/${f}.test.ts`);

export default defineConfig({
  test: {
    // Tensor work is CPU-bound and the machines have 2 cores: more workers only thrash.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT, exclude: CORE_NEEDS_MORE } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [
            ...CORE_NEEDS_MORE,
            'shared/tfjs-backend-native/test/**/*.test.ts',
            'services/api/test/**/*.test.ts',
            'test/**/*.test.ts',
          ],
        },
      },
    ],
  },
});
