import { defineConfig } from 'tsup';

export default defineConfig({
  // The gpu.js backend is its own entry, so the CPU path never loads gpu.js.
  entry: { index: 'src/index.ts', 'gpu/index': 'src/gpu/index.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
  external: ['gpu.js'],
});
