import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/**
 * Loads ./workloads/tfjs.ts bundled by esbuild. TensorFlow.js core registers its gradients only
 * in its ES-module build (dist/register_all_gradients), which plain Node cannot load (it uses
 * directory imports) and whose CommonJS build leaves out; bundling gives one consistent copy of
 * TensorFlow.js with gradients, as a web app would get from its bundler.
 */
export async function loadTfjs(): Promise<typeof import('./workloads/tfjs.js')> {
  const here = dirname(fileURLToPath(import.meta.url));
  const outfile = join(mkdtempSync(join(tmpdir(), 'agrad-bench-')), 'tfjs.mjs');
  await build({
    entryPoints: [join(here, 'workloads', 'tfjs.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    outfile,
    logLevel: 'error',
    // The emscripten glue of the wasm backend uses CommonJS's require and __dirname; give the bundle both.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; import { dirname as __dn } from 'node:path'; import { fileURLToPath as __fp } from 'node:url'; const require = __cr(import.meta.url); const __filename = __fp(import.meta.url); const __dirname = __dn(__filename);",
    },
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(join(here, 'workloads', 'tfjs.ts')).href) },
  });
  return import(pathToFileURL(outfile).href);
}
