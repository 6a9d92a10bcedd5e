import { defineConfig } from 'vitest/config';

// One vitest project per package; tests import the TypeScript sources through the "source" export
// condition, so they run without a build.
export default defineConfig({
  resolve: { conditions: ['source'] },
  test: {
    projects: ['packages/*'],
  },
});
