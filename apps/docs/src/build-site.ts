/**
 * `pnpm docs`: builds the documentation site into docs/site/, a static folder that works from any
 * host and any path (every link relative): TypeDoc's API reference of the six packages with the
 * tutorials (docs/tutorials) as its documents, then the playground's static build under
 * playground/. TypeDoc runs with warnings as errors, so an undocumented export or a broken link
 * fails the build.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

const HERE = resolve(import.meta.dirname, '..');
const ROOT = resolve(HERE, '../..');
export const SITE = join(ROOT, 'docs/site');
const PLAYGROUND = join(ROOT, 'apps/playground/dist');

/** Every file under `dir`. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function build(): void {
  if (!existsSync(join(PLAYGROUND, 'index.html')))
    throw new Error('docs: apps/playground/dist is missing; build the playground first (`pnpm docs` does)');
  // TypeDoc reads each package through its tsconfig, whose project references need the
  // referenced packages' declarations: build them first (incremental, so cheap when up to date).
  const packages = ['tensor', 'autograd', 'nn', 'optim', 'onnx', 'gpu'].map((p) => join(ROOT, 'packages', p));
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', ...packages], {
    stdio: 'inherit',
  });
  execFileSync(join(HERE, 'node_modules/.bin/typedoc'), ['--options', 'typedoc.json'], {
    cwd: HERE,
    stdio: 'inherit',
  });
  cpSync(PLAYGROUND, join(SITE, 'playground'), { recursive: true });
  // TypeDoc writes the header's navigation links as given; make the playground's relative to
  // each page's folder, so the site works below any path.
  for (const file of filesUnder(SITE).filter(
    (f) => f.endsWith('.html') && !f.includes(`${sep}playground${sep}`),
  )) {
    const depth = relative(SITE, file).split(sep).length - 1;
    const html = readFileSync(file, 'utf8');
    const fixed = html.replaceAll(
      'href="playground/index.html"',
      `href="${'../'.repeat(depth)}playground/index.html"`,
    );
    if (fixed !== html) writeFileSync(file, fixed);
  }
  console.log(`docs: ${SITE} (${filesUnder(SITE).length} files)`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) build();
