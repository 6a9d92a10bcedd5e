import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, noGrad, randn } from '@agrad/autograd';
import { load } from '@agrad/nn';
import * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkModel, onnxChecker } from '../../../packages/onnx/test/helpers.js';
import { resumeCommand, runCli } from '../src/cli.js';
import { SMOOTHNESS_PRESETS } from '../src/experiments/smoothness.js';
import {
  gridRates,
  instability,
  pilotScales,
  STABILITY_PRESETS,
  stabilityTransform,
} from '../src/experiments/stability.js';
import { makeClassifier } from '../src/models.js';
import type { Metrics } from '../src/run/experiment.js';
import { resetStepCounter, stopSignal } from '../src/run/runner.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function capture() {
  const text = { out: '', err: '' };
  return {
    text,
    output: { writeOut: (s: string) => void (text.out += s), writeErr: (s: string) => void (text.err += s) },
  };
}

const fresh = (name: string) => join(mkdtempSync(join(tmpdir(), 'agrad-lab-')), name);
const readMetrics = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as Metrics<unknown>;

/** The directory's model.onnx, run in onnxruntime, equals its model.safetensors loaded into agrad. */
async function expectServedAsTrained(directory: string, name: 'vit' | 'cnn'): Promise<void> {
  const model = makeClassifier(name);
  model.loadStateDict(load(join(directory, 'model.safetensors')));
  model.eval();
  manualSeed(9);
  const images = randn([3, 1, 28, 28]);
  const expected = noGrad(() => model.forward(images)).array.read();
  if (onnxChecker) expect(checkModel(readFileSync(join(directory, 'model.onnx')))).toBe('');
  const session = await ort.InferenceSession.create(join(directory, 'model.onnx'));
  const { logits } = await session.run({
    images: new ort.Tensor('float32', Float32Array.from(images.array.read()), [3, 1, 28, 28]),
  });
  expect(logits.dims).toEqual([3, 10]);
  const actual = logits.data as Float32Array;
  expected.forEach((v, i) => expect(Math.abs(actual[i] - v)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(v))));
}

function expectPlots(dir: string, names: string[]) {
  for (const name of names) {
    expect(readFileSync(join(dir, `${name}.svg`), 'utf8')).toContain('<svg');
    expect([...readFileSync(join(dir, `${name}.png`)).subarray(0, 8)]).toEqual(PNG_SIGNATURE);
  }
}

afterEach(() => {
  stopSignal.requested = false;
  stopSignal.afterSteps = Number.POSITIVE_INFINITY;
  resetStepCounter();
});

describe('pnpm lab: the experiments end to end (smoke presets)', () => {
  it('classify writes metrics, a report with paired differences, plots and the FID feature CNN', async () => {
    const out = fresh('classify');
    await runCli(['classify', '--preset', 'smoke', '--out', out, '--quiet']);
    const metrics = readMetrics(out);
    expect(Object.keys(metrics.results)).toHaveLength(3 * 2 * 2); // models x {adamw, adamw+agr} x seeds
    for (const result of Object.values(metrics.results)) {
      expect(result.final.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(result.final.testAccuracy).toBeLessThanOrEqual(100);
      expect(result.log.losses.length).toBeGreaterThan(0);
      expect(result.log.alpha.length).toBeGreaterThan(0);
    }
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain('# AGR lab: Fashion-MNIST classification');
    expect(report).toContain('adamw+agr − adamw');
    expect(report).toMatch(/Used: the first \d+ training and \d+ test images/);
    expectPlots(out, ['loss', 'test-accuracy', 'grad-norm', 'alpha-mlp']);
    expect(existsSync(join(out, 'fid-cnn.safetensors'))).toBe(true);
    expect(existsSync(join(out, 'checkpoints', 'mlp_adamw_seed0.safetensors'))).toBe(false);
    // Each arm's first trained model, as safetensors and as ONNX: onnxruntime gives agrad's logits
    // (the ViT and the CNN at a batch size other than the export's).
    for (const model of ['vit', 'cnn'] as const)
      for (const arm of ['adamw', 'adamw+agr'])
        await expectServedAsTrained(join(out, 'models', model, arm), model);

    // `pnpm lab report DIR` rebuilds the report and plots from metrics.json alone.
    rmSync(join(out, 'report.md'));
    rmSync(join(out, 'loss.png'));
    await runCli(['report', out]);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('adamw+agr − adamw');
    expectPlots(out, ['loss']);
  });

  it('generate trains the latent-diffusion arms, names its FID honestly, says how sure the feature CNN is, and writes sample grids', async () => {
    const out = fresh('generate');
    await runCli(['generate', '--preset', 'smoke', '--out', out, '--quiet']);
    const metrics = readMetrics(out);
    const denoisers = Object.values(metrics.results).filter((r) => r.info.model === 'latent-mlp');
    expect(denoisers).toHaveLength(2 * 2);
    for (const r of denoisers) {
      expect(r.final.fid).toBeGreaterThan(0);
      expect(r.final.maxClassProbability).toBeGreaterThanOrEqual(0.1);
      expect(r.final.maxClassProbability).toBeLessThanOrEqual(1);
    }
    expect(Number(metrics.data['Max-class probability, real'])).toBeGreaterThanOrEqual(0.1);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain('FID, FMNIST-CNN features');
    expect(report).toContain('not Inception FID');
    expect(report).toContain('top 16 principal components');
    expect(report).toMatch(/max-class probability [0-9.]+ \(test images\)/);
    expect([...readFileSync(join(out, 'samples-adan+agr.png')).subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expectPlots(out, ['loss', 'held-out-loss', 'grad-norm']);
  });

  it('generate --denoiser unet trains the tiny UNet on pixels instead', async () => {
    const out = fresh('generate-unet');
    await runCli(['generate', '--preset', 'smoke', '--denoiser', 'unet', '--out', out, '--quiet']);
    const metrics = readMetrics(out);
    expect((metrics.config as { denoiser: unknown }).denoiser).toEqual({ kind: 'unet', channels: 8 });
    expect(Object.values(metrics.results).filter((r) => r.info.model === 'unet')).toHaveLength(2 * 2);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain('A tiny UNet (base width 8');
    expect(metrics.data['Latent codec']).toBeUndefined();
  });

  it('language sweeps the weight decays and reports SOP and MLM accuracy', async () => {
    const out = fresh('language');
    await runCli(['language', '--preset', 'smoke', '--out', out, '--quiet', '--weight-decays', '0,0.001']);
    const metrics = readMetrics(out);
    expect(Object.keys(metrics.results).sort()).toEqual(
      [
        'wd0.001/adamw+agr/seed0',
        'wd0.001/adamw+agr/seed1',
        'wd0.001/adamw/seed0',
        'wd0.001/adamw/seed1',
        'wd0/adamw+agr/seed0',
        'wd0/adamw+agr/seed1',
        'wd0/adamw/seed0',
        'wd0/adamw/seed1',
      ].sort(),
    );
    for (const r of Object.values(metrics.results)) {
      expect(r.final.sopAccuracy).toBeGreaterThanOrEqual(0);
      expect(r.final.mlmAccuracy).toBeLessThanOrEqual(100);
    }
    expect(metrics.data.Baselines).toMatch(
      /most frequent training word .* MLM accuracy [\d.]+%; .* SOP accuracy [\d.]+%/,
    );
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('paper SOP (WikiText-2)');
    expectPlots(out, ['loss', 'sop-accuracy']);
  });
  it('stability sweeps each arm upward to its first failure, with a pilot for the matched-step arm', async () => {
    const out = fresh('stability');
    await runCli(['stability', '--preset', 'smoke', '--out', out, '--quiet']);
    const metrics = readMetrics(out);
    const rates = gridRates(STABILITY_PRESETS.smoke.grid.sgd);
    for (const arm of ['sgd', 'sgd+agr', 'sgd+matched-step']) {
      for (const seed of [0, 1]) {
        const runs = Object.values(metrics.results)
          .filter((r) => r.info.arm === arm && r.info.seed === seed)
          .sort((a, b) => Number(a.info.lr) - Number(b.info.lr));
        // From the grid's first rate up, each run only after every lower one trained.
        expect(runs.map((r) => r.info.lr)).toEqual(rates.slice(0, runs.length));
        runs.slice(0, -1).forEach((r) => expect(instability(r)).toBeNull());
        // The MLP's own step count (perModel), not the preset's default.
        for (const r of runs) expect(r.log.losses.at(-1)?.step).toBe(r.log.divergedAt ?? 40);
        if (runs.length < rates.length) expect(instability(runs.at(-1)!)).not.toBeNull();
      }
    }
    // The pilot's scales: AGR shrinks every tensor's gradient, the small output bias the most.
    const scales = pilotScales(metrics.results['mlp/sgd/pilot']);
    expect(Object.keys(scales).sort()).toEqual([
      '1.bias',
      '1.weight',
      '3.bias',
      '3.weight',
      '5.bias',
      '5.weight',
    ]);
    for (const s of Object.values(scales)) expect(s > 0 && s < 1).toBe(true);
    expect(scales['5.bias']).toBeLessThan(scales['1.weight']);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report.indexOf('## The claim and the prediction')).toBeLessThan(report.indexOf('## Results'));
    expect(report).toMatch(/## Verdict\n\n- stability · mlp · sgd: \S/);
    expectPlots(out, ['stability']);
  });

  it('ablation runs AGR by tensor size and records the counterfactual along the runs without AGR', async () => {
    const out = fresh('ablation');
    await runCli(['ablation', '--preset', 'smoke', '--out', out, '--quiet']);
    const metrics = readMetrics(out);
    expect(Object.keys(metrics.results).sort()).toEqual(
      ['sgd', 'sgd+agr', 'sgd+agr<1000', 'sgd+agr>=1000']
        .flatMap((arm) => [0, 1].map((s) => `mlp/${arm}/seed${s}`))
        .sort(),
    );
    for (const r of Object.values(metrics.results)) {
      const probes = r.log.counterfactual ?? [];
      if (r.info.arm !== 'sgd') {
        expect(probes).toHaveLength(0);
        continue;
      }
      // Every tensor at every probe; the biases' updates change more than the weight matrices'.
      expect(new Set(probes.map((p) => p.layer)).size).toBe(6);
      const mean = (small: boolean) => {
        const picked = probes.filter((p) => p.size < 1000 === small).map((p) => p.change);
        return picked.reduce((a, b) => a + b, 0) / picked.length;
      };
      expect(mean(true)).toBeGreaterThan(mean(false));
      for (const p of probes) expect(p.change >= 0 && p.change < 1).toBe(true);
    }
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report.indexOf('## The question and the prediction')).toBeLessThan(
      report.indexOf('## Test accuracy'),
    );
    expect(report).toContain('## One-step counterfactual per tensor');
    expect(report).toMatch(/## Verdict\n\n- ablation · mlp · sgd: \S/);
    expectPlots(out, ['accuracy']);
  });

  it('decide runs classify (AdamW, SGD) and stability, then lists what they decided and what they left open', async () => {
    const out = fresh('decide');
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      await runCli(['decide', '--preset', 'smoke', '--out', out, '--quiet']);
    } finally {
      spy.mockRestore();
    }
    const text = written.join('');
    const classify = readMetrics(join(out, 'classify'));
    expect(new Set(Object.values(classify.results).map((r) => r.info.optimizer))).toEqual(
      new Set(['adamw', 'sgd']),
    );
    expect(readMetrics(join(out, 'stability')).experiment).toBe('stability');
    const decided = text.slice(
      text.indexOf('What this run decided about AGR:'),
      text.indexOf('What it left open'),
    );
    const open = text.slice(text.indexOf('What it left open'));
    expect(decided.length > 0 && open.length > 0).toBe(true);
    // Every question is answered in exactly one of the two lists.
    const subjects = ['mlp', 'cnn', 'vit']
      .flatMap((m) => ['adamw', 'sgd'].map((o) => `classify · ${m} · ${o}`))
      .concat(['stability · mlp · sgd']);
    for (const subject of subjects)
      expect([subject, decided.includes(subject), open.includes(subject)]).toContain(true);
    for (const subject of subjects) expect(decided.includes(subject)).not.toBe(open.includes(subject));
  });

  it('smoothness probes along each step and the Hessian at checkpoints, paired with and without AGR', async () => {
    const out = fresh('smoothness');
    await runCli(['smoothness', '--preset', 'smoke', '--out', out, '--quiet']);
    const metrics = readMetrics(out);
    const { probePoints, multiples, hessianPoints } = SMOOTHNESS_PRESETS.smoke;
    expect(Object.keys(metrics.results)).toHaveLength(2 * 2 * 2); // lr multiples x {sgd, sgd+agr} x seeds
    for (const r of Object.values(metrics.results)) {
      const probes = r.log.smoothness ?? [];
      expect(probes).toHaveLength(probePoints * (multiples.length + 1));
      for (const p of probes) {
        expect(Number.isFinite(p.loss)).toBe(true);
        if (p.multiple > 0) expect(p.smoothness).toBeGreaterThan(0);
      }
      expect(r.log.curvature?.map((c) => Number.isFinite(c.eigenvalue))).toEqual(
        Array(hessianPoints).fill(true),
      );
    }
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report.indexOf('## The claim and the prediction')).toBeLessThan(report.indexOf('## Per arm'));
    expect(report).toMatch(/## Verdict\n\n- smoothness · mlp · sgd · lr×1: \S/);
    expectPlots(out, ['smoothness']);
  });

  it("the matched-step arm scales each tensor's update by its pilot scale", () => {
    manualSeed(3);
    const model = makeClassifier('mlp');
    const scales = Object.fromEntries(
      [...model.namedParameters()].map(([name], i) => [name, 0.25 + 0.1 * i]),
    );
    const update = (arm: 'base' | 'matched') => {
      const config = STABILITY_PRESETS.smoke;
      const t = stabilityTransform('adamw', arm, 1e-2, config, scales);
      const params = Object.fromEntries(model.namedParameters());
      const grads = Object.fromEntries(Object.entries(params).map(([n, p]) => [n, randn(p.shape)]));
      return t.update(grads, t.init(params), params).updates;
    };
    manualSeed(5);
    const base = update('base');
    manualSeed(5);
    const matched = update('matched');
    for (const [name, u] of Object.entries(base)) {
      const expected = u.data.map((v) => v * scales[name]);
      matched[name].data.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    }
  });
});

describe('pnpm lab: interrupt and resume', () => {
  it('a run stopped mid-job and resumed ends with exactly the numbers of an uninterrupted run', async () => {
    const args = ['classify', '--preset', 'smoke', '--models', 'mlp,cnn', '--seeds', '1', '--quiet'];
    const straight = fresh('straight');
    await runCli([...args, '--out', straight]);

    const interrupted = fresh('interrupted');
    stopSignal.afterSteps = 12; // 8 steps per job: stops at the second job's 4th step
    resetStepCounter();
    await runCli([...args, '--out', interrupted]);
    expect(process.exitCode).toBe(130);
    process.exitCode = undefined;
    expect(readdirSync(join(interrupted, 'checkpoints'))).toEqual(['mlp_adamw+agr_seed0.safetensors']);
    expect(Object.keys(readMetrics(interrupted).results)).toEqual(['mlp/adamw/seed0']);

    stopSignal.afterSteps = Number.POSITIVE_INFINITY;
    await runCli([...args, '--out', interrupted, '--resume']);
    const a = readMetrics(straight).results;
    const b = readMetrics(interrupted).results;
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const key of Object.keys(a)) {
      expect(b[key].final).toEqual(a[key].final);
      expect(b[key].log.losses).toEqual(a[key].log.losses);
      expect(b[key].log.gradNorms).toEqual(a[key].log.gradNorms);
    }
  });

  it('refuses to resume with different settings, or to overwrite a run without --resume', async () => {
    const out = fresh('settings');
    await runCli([
      'classify',
      '--preset',
      'smoke',
      '--optimizers',
      'adamw',
      '--seeds',
      '1',
      '--out',
      out,
      '--quiet',
    ]);
    await expect(
      runCli(['classify', '--preset', 'smoke', '--seeds', '2', '--out', out, '--resume']),
    ).rejects.toThrow(/--resume: .* was started with .*"seeds":1.*but these options give .*"seeds":2/);
    await expect(
      runCli(['classify', '--preset', 'smoke', '--models', 'mlp', '--seeds', '1', '--out', out]),
    ).rejects.toThrow(
      'already holds a run (metrics.json); pass --resume to continue it or choose another --out',
    );
    await expect(runCli(['classify', '--out', fresh('none'), '--resume'])).rejects.toThrow(
      /metrics.json not found; there is no run to resume/,
    );
  });

  it('Ctrl-C (SIGINT) in a real process keeps a checkpoint and prints how to resume', async () => {
    const out = fresh('sigint');
    const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx/esm',
        '--conditions=source',
        cli,
        'classify',
        '--preset',
        'smoke',
        '--out',
        out,
        '--quiet',
      ],
      { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        // After the first job ends, interrupt the second.
        if (stderr.includes('cnn · adamw · seed 0:')) resolve();
      });
    });
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('Ctrl-C: saving a checkpoint after this step');
    expect(stderr).toMatch(/Continue with: pnpm lab classify --out \S+ --resume --preset smoke/);
    expect(stderr.match(/--out/g)).toHaveLength(1);
    expect(readdirSync(join(out, 'checkpoints'))).toHaveLength(1);
  }, 120_000);
});

describe('the command that continues an interrupted run', () => {
  it('names --out once, with the folder used, and --resume once, keeping the other options', () => {
    expect(
      resumeCommand('ablation', 'results/a', [
        '--out',
        'results/a',
        '--resume',
        '--preset',
        'full',
        '--quiet',
      ]),
    ).toBe('pnpm lab ablation --out results/a --resume --preset full --quiet');
    expect(resumeCommand('classify', 'results/b', ['--out=results/b', '--seeds', '2'])).toBe(
      'pnpm lab classify --out results/b --resume --seeds 2',
    );
    expect(resumeCommand('generate', 'results/generate-quick', [])).toBe(
      'pnpm lab generate --out results/generate-quick --resume',
    );
  });
});

describe('pnpm lab: usage errors', () => {
  const usage = async (args: string[]) => {
    const { text, output } = capture();
    await expect(runCli(args, output)).rejects.toThrow();
    return text.err;
  };

  it('names an unknown experiment, flag, preset or optimizer', async () => {
    expect(await usage(['train'])).toContain("lab: unknown command 'train'");
    expect(await usage(['classify', '--bogus'])).toContain("lab: unknown option '--bogus'");
    expect(await usage(['classify', '--preset', 'huge'])).toMatch(/'huge' is invalid.*quick, full, smoke/);
    expect(await usage(['classify', '--optimizers', 'adam'])).toContain(
      "unknown optimizer 'adam' (expected a comma-separated list of adamw, adan, sgd",
    );
    expect(await usage(['classify', '--seeds', '0'])).toContain(
      "--seeds must be a whole number from 1 to 100 (seeds per arm), got '0'",
    );
    expect(await usage(['classify', '--seeds', '1e9'])).toContain(
      "--seeds must be a whole number from 1 to 100 (seeds per arm), got '1e9'",
    );
    expect(await usage(['classify', '--epochs', '5000'])).toContain(
      '--epochs must be a whole number from 1 to 1000',
    );
    expect(await usage(['classify', '--threads', '1.5'])).toContain(
      '--threads must be a whole number from 1 to 64',
    );
    expect(await usage(['language', '--weight-decays', '0,2'])).toContain(
      "--weight-decays: expected comma-separated numbers from 0 to 1, got '0,2'",
    );
    expect(await usage(['classify', '--models', 'resnet'])).toContain("--models: unknown model 'resnet'");
    expect(await usage(['language', '--weight-decays', 'x'])).toContain(
      '--weight-decays: expected comma-separated numbers',
    );
  });

  it('missing data names the files and how to get them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agrad-lab-empty-'));
    await expect(runCli(['classify', '--data', dir, '--out', fresh('x')])).rejects.toThrow(
      /train-images-idx3-ubyte.gz.*not found.*apt-get install dataset-fashion-mnist/,
    );
    await expect(runCli(['language', '--data', dir, '--out', fresh('y')])).rejects.toThrow(
      /kjv.txt: cannot read the corpus.*apt-get install bible-kjv/,
    );
  });
});
