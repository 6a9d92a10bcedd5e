import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runnablePage } from '../src/doctest.js';

/**
 * The packages as a user outside the monorepo gets them: each is packed (pnpm rewrites the
 * workspace versions), the tarballs are installed with npm into fresh projects, and ESM,
 * CommonJS and TypeScript code that imports them runs or typechecks there. Needs `pnpm build`
 * first (the CI command builds before it tests).
 */
const ROOT = resolve(import.meta.dirname, '../../..');
const PACKAGES = ['tensor', 'autograd', 'nn', 'optim', 'onnx', 'gpu'];
const CPU_ONLY = ['tensor', 'autograd', 'nn', 'optim'];
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

let work: string;
const tarballs = new Map<string, string>();

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    // The child's output quoted with a bar, so that its stack lines are not read as this test's.
    const output = `${e.stdout ?? ''}${e.stderr ?? e.message}`.replace(/^/gm, '| ');
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed:\n${output}`);
  }
}

/** `npm install` in `dir`, quietly. */
const npmInstall = (dir: string, args: string[]) =>
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...args], dir);

/** A fresh npm project with the given packages' tarballs installed; returns its folder and the install time. */
function installProject(name: string, packages: string[], extraNpmArgs: string[] = []) {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `try-${name}`, private: true }));
  const began = performance.now();
  npmInstall(dir, [...extraNpmArgs, ...packages.map((p) => tarballs.get(p) as string)]);
  return { dir, seconds: (performance.now() - began) / 1000 };
}

/** Every package installed under node_modules, scoped ones as @scope/name. */
function installedPackages(dir: string): string[] {
  const top = join(dir, 'node_modules');
  return readdirSync(top)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(top, n)).map((m) => `${n}/${m}`) : [n]))
    .sort();
}

/** A package README's example as a program (it promises its output in `// →` comments). */
function readmeExample(pkg: string): { program: string; promised: string[] } {
  const { blocks, program, promised } = runnablePage(
    readFileSync(join(ROOT, 'packages', pkg, 'README.md'), 'utf8'),
  );
  expect(blocks.length, `packages/${pkg}/README.md has no ts example`).toBeGreaterThan(0);
  return { program, promised };
}

beforeAll(() => {
  for (const pkg of PACKAGES) {
    if (!existsSync(join(ROOT, 'packages', pkg, 'dist/index.js')))
      throw new Error(`packages/${pkg}/dist is missing: run \`pnpm build\` before this test`);
  }
  work = mkdtempSync(join(tmpdir(), 'agrad-packaging-'));
  const out = join(work, 'tarballs');
  for (const pkg of PACKAGES) {
    run('npx', ['--yes', 'pnpm@10.34.8', 'pack', '--pack-destination', out], join(ROOT, 'packages', pkg));
    tarballs.set(pkg, join(out, `agrad-${pkg}-0.1.0.tgz`));
  }
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the tarballs', () => {
  it('hold the built entries, the sources the exports name, a README and a LICENSE', () => {
    for (const pkg of PACKAGES) {
      const files = run('tar', ['tzf', tarballs.get(pkg) as string], work)
        .split('\n')
        .filter(Boolean)
        .map((f) => f.replace(/^package\//, ''));
      const manifest = JSON.parse(
        run('tar', ['xzf', tarballs.get(pkg) as string, '-O', 'package/package.json'], work),
      );
      expect(files, pkg).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json']));
      // Every file an export condition names is in the tarball.
      const targets: string[] = [];
      const walk = (v: unknown) => {
        if (typeof v === 'string') targets.push(v.replace(/^\.\//, ''));
        else if (v && typeof v === 'object') Object.values(v).forEach(walk);
      };
      walk(manifest.exports);
      walk([manifest.main, manifest.module, manifest.types]);
      expect(
        targets.filter((t) => !files.includes(t)),
        `${pkg}: exports naming unshipped files`,
      ).toEqual([]);
      for (const key of ['description', 'license', 'repository', 'keywords', 'homepage', 'bugs', 'engines'])
        expect(manifest[key], `${pkg}: ${key}`).toBeTruthy();
      expect(JSON.stringify(manifest.dependencies ?? {}), `${pkg}: workspace versions left`).not.toMatch(
        /workspace:|catalog:/,
      );
      // Test libraries are not runtime dependencies.
      expect(Object.keys(manifest.dependencies ?? {}), pkg).not.toContain('fast-check');
    }
  });
});

describe('@agrad/nn and @agrad/optim installed from tarballs with npm', () => {
  let project: { dir: string; seconds: number };
  beforeAll(() => {
    project = installProject('cpu', CPU_ONLY);
    console.log(
      `npm install of ${CPU_ONLY.map((p) => `@agrad/${p}`).join(', ')}: ${project.seconds.toFixed(1)} s`,
    );
  });

  it('installs only what they need, and nothing that builds native code', () => {
    expect(installedPackages(project.dir)).toEqual([
      '@agrad/autograd',
      '@agrad/nn',
      '@agrad/optim',
      '@agrad/tensor',
      '@humanwhocodes/momoa',
    ]);
    for (const name of installedPackages(project.dir)) {
      const dir = join(project.dir, 'node_modules', name);
      const scripts = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts ?? {};
      expect(
        ['preinstall', 'install', 'postinstall'].filter((s) => s in scripts),
        name,
      ).toEqual([]);
      expect(existsSync(join(dir, 'binding.gyp')), name).toBe(false);
    }
  });

  it('run each README example as TypeScript, printing what the README promises', () => {
    for (const pkg of CPU_ONLY) {
      const { program, promised } = readmeExample(pkg);
      const file = join(project.dir, `readme-${pkg}.ts`);
      writeFileSync(file, program);
      const printed = run(TSX, [file], project.dir).trim().split('\n');
      expect(printed, `packages/${pkg}/README.md`).toEqual(promised);
    }
  });

  const training = (load: (name: string) => string) => `
${load('autograd')}
${load('nn')}
${load('optim')}
const { tensor, manualSeed } = autograd;
manualSeed(0);
const model = new nn.Sequential(new nn.Linear(2, 16), new nn.Tanh(), new nn.Linear(16, 2));
const optimizer = new optim.Optimizer(model, optim.chain(optim.agr(), optim.adamw({ lr: 0.05 })));
const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
const y = tensor([0, 1, 1, 0], { dtype: 'int32' });
let first = 0;
let last = 0;
for (let step = 0; step < 200; step++) {
  const loss = nn.F.crossEntropy(model.forward(x), y);
  optimizer.zeroGrad();
  loss.backward();
  optimizer.step();
  if (step === 0) first = loss.item();
  last = loss.item();
}
console.log(JSON.stringify({ first, last, predicted: Array.from(model.forward(x).argmax(1).data) }));
`;

  const expectLearnedXor = (printed: string) => {
    const result = JSON.parse(printed.trim());
    expect(result.first).toBeGreaterThan(0.5);
    expect(result.last).toBeLessThan(0.05);
    expect(result.predicted).toEqual([0, 1, 1, 0]);
  };

  it('train XOR from an ES module (import)', () => {
    const file = join(project.dir, 'xor.mjs');
    writeFileSync(
      file,
      training((n) => `import * as ${n} from '@agrad/${n}';`),
    );
    expectLearnedXor(run('node', [file], project.dir));
  });

  it('train XOR from a CommonJS script (require)', () => {
    const file = join(project.dir, 'xor.cjs');
    writeFileSync(
      file,
      training((n) => `const ${n} = require('@agrad/${n}');`),
    );
    expectLearnedXor(run('node', [file], project.dir));
  });

  it.each([
    ['node16', 'node16'],
    ['bundler', 'esnext'],
    ['node10', 'commonjs'],
  ])('typecheck with moduleResolution %s', (moduleResolution, module) => {
    const dir = join(project.dir, `ts-${moduleResolution}`);
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module,
          moduleResolution,
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        files: ['check.ts'],
      }),
    );
    // A deliberate type error proves that the types were found and are checked, not `any`.
    const good = `import { tensor, type Tensor } from '@agrad/autograd';
import { Linear } from '@agrad/nn';
import { adamw, agr, chain, Optimizer } from '@agrad/optim';
import { ops } from '@agrad/tensor';
const layer = new Linear(3, 2);
const optimizer = new Optimizer(layer, chain(agr(), adamw({ lr: 1e-3 })));
const out: Tensor = layer.forward(tensor([[1, 2, 3]]));
const shape: number[] = ops.fromTypedArray(new Float32Array(4), [2, 2]).shape.slice();
export { optimizer, out, shape };
`;
    writeFileSync(join(dir, 'check.ts'), good);
    run('node', [TSC, '-p', dir], dir);
    writeFileSync(
      join(dir, 'check.ts'),
      `${good}export const wrong: string = new Linear(3, 2).forward(tensor([[1, 2, 3]]));\n`,
    );
    expect(() => run('node', [TSC, '-p', dir], dir)).toThrow(
      /Type 'Tensor' is not assignable to type 'string'/,
    );
  });
});

describe('@agrad/onnx and @agrad/gpu installed from tarballs with npm', () => {
  let project: { dir: string; seconds: number };
  beforeAll(() => {
    // Without optional dependencies: gpu.js's headless-GL build (`gl`) is one, and compiles C++.
    project = installProject('all', PACKAGES, ['--omit=optional', '--ignore-scripts']);
  });

  it('run their README examples', () => {
    for (const pkg of ['onnx', 'gpu']) {
      const { program, promised } = readmeExample(pkg);
      const file = join(project.dir, `readme-${pkg}.ts`);
      writeFileSync(file, program);
      expect(run(TSX, [file], project.dir).trim().split('\n'), `packages/${pkg}/README.md`).toEqual(promised);
    }
  });

  it('load @agrad/autograd/testing when fast-check, its optional peer, is installed', () => {
    npmInstall(project.dir, ['--omit=optional', '--ignore-scripts', 'fast-check@4']);
    const file = join(project.dir, 'testing.mjs');
    writeFileSync(
      file,
      `import fc from 'fast-check';
import { shapeArb } from '@agrad/autograd/testing';
const shapes = fc.sample(shapeArb({ maxDims: 3, maxSize: 4 }), { numRuns: 20, seed: 1 });
console.log(shapes.every((s) => s.length <= 3 && s.every((d) => d >= 0 && d <= 4)));
`,
    );
    expect(run('node', [file], project.dir).trim()).toBe('true');
  });
});
