// Builds dist/agrad.browser.js: one self-contained ES module for browsers. The workspace packages
// come from their TypeScript sources, gpu.js from its browser build (package.json "browser"
// field), and node:fs and node:path (used only by checkpoint files) from stubs that explain the
// alternative.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

await build({
  entryPoints: { 'agrad.browser': here('./src/index.ts') },
  outdir: here('./dist'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  conditions: ['source', 'browser', 'import', 'module', 'default'],
  alias: { 'node:fs': here('./src/node-fs.ts'), 'node:path': here('./src/node-path.ts') },
  logLevel: 'warning',
});
