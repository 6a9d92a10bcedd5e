import { defineProject } from 'vitest/config';

// As in the packages: @agrad/* resolve to their TypeScript sources ("source" export condition).
const conditions = ['source', 'import', 'module', 'node', 'default'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: { name: 'docs', include: ['test/**/*.test.ts'], testTimeout: 180_000, hookTimeout: 300_000 },
});
