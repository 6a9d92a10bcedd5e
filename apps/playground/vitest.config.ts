import { defineProject } from 'vitest/config';

const conditions = ['source', 'import', 'module', 'node', 'default'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: { name: 'playground', include: ['test/**/*.test.ts'], testTimeout: 180_000, hookTimeout: 60_000 },
});
