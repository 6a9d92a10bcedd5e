import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The workspace packages are used from their TypeScript sources ("source" export condition), as in
// the tests; node:fs and node:path (checkpoint files, unused here) are replaced by the browser
// bundle's stubs.
const conditions = ['source', 'browser', 'import', 'module', 'default'];

export default defineConfig({
  base: './',
  resolve: {
    conditions,
    alias: {
      'node:fs': fileURLToPath(new URL('../browser/src/node-fs.ts', import.meta.url)),
      'node:path': fileURLToPath(new URL('../browser/src/node-path.ts', import.meta.url)),
    },
  },
  worker: { format: 'es' },
  build: { outDir: 'dist', target: 'es2022', chunkSizeWarningLimit: 2000 },
  server: { port: 5173 },
});
