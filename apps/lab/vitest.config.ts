import { defineProject } from 'vitest/config';

const conditions = ['source', 'import', 'module', 'node', 'default'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: { name: 'lab', include: ['test/**/*.test.ts'], testTimeout: 300_000 },
});
