import { defineConfig, type Options } from 'tsup';

/**
 * How every @agrad package is built, written once: ESM (.js) and CommonJS (.cjs) with declaration
 * files for each (.d.ts, .d.cts), so `import` and `require` both work and TypeScript finds types
 * under every moduleResolution. Splitting is on for both formats, so that a package with two
 * entries (@agrad/autograd and its ./testing) shares one copy of its modules, and of their state,
 * between them.
 */
export function packageConfig(entry: Record<string, string>, extra: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    splitting: true,
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    tsconfig: 'tsconfig.build.json',
    ...extra,
  });
}
