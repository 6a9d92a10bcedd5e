import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '@agrad/autograd';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';

/** onnxruntime's tensor for an agrad tensor (bools as onnxruntime takes them: one byte each). */
export function toOrt(t: Tensor): ort.Tensor {
  const dims = [...t.shape];
  const values = t.array.read();
  if (t.dtype === 'bool') return new ort.Tensor('bool', Uint8Array.from(values), dims);
  if (t.dtype === 'int32') return new ort.Tensor('int32', Int32Array.from(values), dims);
  if (t.dtype === 'float64') return new ort.Tensor('float64', Float64Array.from(values), dims);
  return new ort.Tensor('float32', Float32Array.from(values), dims);
}

/** Runs an ONNX model in onnxruntime-node on named inputs; returns its outputs by name. */
export async function runOnnx(
  bytes: Uint8Array,
  feeds: Record<string, Tensor>,
): Promise<Record<string, { dims: readonly number[]; data: ArrayLike<number> }>> {
  const session = await ort.InferenceSession.create(bytes);
  const inputs = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, toOrt(t)]));
  const results = await session.run(inputs);
  return Object.fromEntries(
    Object.entries(results).map(([name, value]) => [
      name,
      { dims: value.dims, data: value.data as unknown as ArrayLike<number> },
    ]),
  );
}

/** onnxruntime's output equals agrad's to 1e-5 (absolute, plus 1e-5 relative), shape included. */
export function expectClose(
  actual: { dims: readonly number[]; data: ArrayLike<number> },
  expected: Tensor,
): void {
  expect([...actual.dims]).toEqual([...expected.shape]);
  const want = expected.array.read();
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const error = Math.abs(Number(actual.data[i]) - want[i]) / (1 + Math.abs(want[i]));
    if (!(error <= worst)) worst = error;
  }
  expect(worst).toBeLessThanOrEqual(1e-5);
}

/** Whether Debian's python3-onnx is importable (CI installs it and requires the check). */
export const onnxChecker = (() => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  if (process.env.AGRAD_ONNX_CHECKER === 'required')
    throw new Error(
      'AGRAD_ONNX_CHECKER=required, but /usr/bin/python3 cannot import onnx (install python3-onnx)',
    );
  return false;
})();

/** onnx.checker.check_model(model, full_check=True) on the bytes; returns its error text, or '' when it passes. */
export function checkModel(bytes: Uint8Array): string {
  const directory = mkdtempSync(join(tmpdir(), 'agrad-onnx-'));
  try {
    const path = join(directory, 'model.onnx');
    writeFileSync(path, bytes);
    const script = 'import onnx, sys\nonnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)\n';
    const run = spawnSync('/usr/bin/python3', ['-c', script, path], { encoding: 'utf8' });
    return run.status === 0 ? '' : `${run.stderr}`.trim() || `exit ${run.status}`;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
