import { defineProject } from 'vitest/config';

// Tests run on the TypeScript sources: the "source" export condition points each @agrad/*
// package at its src/ instead of dist/.
const conditions = ['source', 'import', 'module', 'node', 'default'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    name: 'tensor',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // So that both GEMM builds run here: the relaxed-SIMD one, which Node 20 has only behind
    // this flag, and the SIMD128 one, which every other project runs.
    execArgv: ['--experimental-wasm-relaxed-simd'],
  },
});
