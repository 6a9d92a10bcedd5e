import { defineProject } from 'vitest/config';

// Tests run on the TypeScript sources: the "source" export condition points each @agrad/*
// package at its src/ instead of dist/.
const conditions = ['source', 'import', 'module', 'node', 'default'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: { name: 'gpu', include: ['test/**/*.test.ts'], testTimeout: 60_000 },
});
