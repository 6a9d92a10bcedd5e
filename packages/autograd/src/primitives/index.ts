import { CpuBackend, cpuBackend, ops, type Window } from '@agrad/tensor';
import { fromTypedArray } from '../creation.js';
import type { Tensor } from '../tensor.js';
import * as binary from './binary.js';
import * as indexing from './indexing.js';
import { matmul3d } from './matmul.js';
import * as movement from './movement.js';
import * as reduce from './reduce.js';
import * as unary from './unary.js';
import { where } from './where.js';
import * as windowed from './window.js';

/**
 * Every primitive: the ops with a vector-Jacobian product of their own (everything else in
 * ../functions.ts is composed from them). Each entry says how to call it on test inputs and where
 * its derivative exists; the gradient tests walk this table at first and second order
 * (packages/autograd/test/gradients.test.ts) and fail for an exported primitive missing here, so
 * a new primitive cannot go untested.
 */
export interface InputDomain {
  min?: number;
  max?: number;
  /** Keep values at least this far from 0 (kinks at 0: relu). */
  awayFromZero?: number;
  /** Distinct values spaced 0.1 apart (ties are kinks: amax). */
  distinct?: boolean;
  /** Values moved to k + this offset, for two inputs that must never tie (maximum). */
  grid?: number;
}

export interface PrimitiveCase {
  /** Calls the primitive on inputs of `shapes`; index and window arguments are made here. */
  call: (...inputs: Tensor[]) => Tensor;
  /** Input shapes from a random base shape of two to four dims, each at least 2 (default: one input of the base shape). */
  shapes?: (base: readonly number[]) => number[][];
  /** Per input, where the derivative exists and central differences can check it. */
  domains?: InputDomain[];
  /** gradcheck options, where rounding needs a wider step (a cast to float32). */
  tolerance?: { eps: number; atol: number; rtol: number };
}

const same = (n: number) => (base: readonly number[]) => Array.from({ length: n }, () => [...base]);

/** An int32 index tensor on the host, made from the shape (indices must not depend on values). */
function index(values: number[], shape: readonly number[]): Tensor {
  return fromTypedArray(Int32Array.from(values), shape, cpuBackend);
}

/** out[p] = x[p with p[1] := (p[0] + 2 p[1]) mod size]: repeats and skips some positions. */
function gatherIndex(shape: readonly number[]): Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  const inner = shape.slice(1).reduce((p, d) => p * d, 1) / shape[1];
  return index(
    Array.from({ length: size }, (_, i) => {
      const [p0, p1] = [Math.floor(i / (shape[1] * inner)), Math.floor(i / inner) % shape[1]];
      return (p0 + 2 * p1) % shape[1];
    }),
    shape,
  );
}

/** Picks rows 0, n-1, 0, 1 along dim 0 (a repeat included). */
const rowIndex = (n: number) => index([0, n - 1, 0, 1], [4]);

/** A bool mask of the shape, true on a checkerboard. */
function checkerboard(shape: readonly number[]): Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  return fromTypedArray(
    Uint8Array.from({ length: size }, (_, i) => i % 2),
    shape,
    cpuBackend,
  );
}

const window: Window = { kernel: [2, 2], stride: [1, 1], padding: [1, 1], dilation: [1, 1] };
/** A four-dim image shape [N, C, H, W] from the base shape. */
const image = (base: readonly number[]) => [base[0], base[1], base[2] ?? 2, base[3] ?? 3];

/** A second host backend, to move tensors to and from. */
const elsewhere = new CpuBackend();

export const PRIMITIVES: Record<string, PrimitiveCase> = {
  add: { call: binary.add, shapes: same(2) },
  mul: { call: binary.mul, shapes: same(2) },
  div: { call: binary.div, shapes: same(2), domains: [{}, { min: 0.5, max: 3 }] },
  pow: {
    call: binary.pow,
    shapes: same(2),
    domains: [
      { min: 0.2, max: 3 },
      { min: -2, max: 2 },
    ],
  },
  maximum: { call: binary.maximum, shapes: same(2), domains: [{ grid: 0.25 }, { grid: 0.75 }] },
  reluBackward: { call: binary.reluBackward, shapes: same(2), domains: [{}, { awayFromZero: 1e-3 }] },
  exp: { call: unary.exp },
  log: { call: unary.log, domains: [{ min: 0.1, max: 5 }] },
  log1p: { call: unary.log1p, domains: [{ min: -0.9, max: 5 }] },
  sqrt: { call: unary.sqrt, domains: [{ min: 0.1, max: 5 }] },
  sin: { call: unary.sin },
  cos: { call: unary.cos },
  tanh: { call: unary.tanh },
  relu: { call: unary.relu, domains: [{ awayFromZero: 1e-3 }] },
  sigmoid: { call: unary.sigmoid, domains: [{ min: -8, max: 8 }] },
  erf: { call: unary.erf },
  where: { call: (a, b) => where(checkerboard(a.shape), a, b), shapes: same(2) },
  sum: { call: (x) => reduce.sum(x, [0, x.ndim - 1]) },
  amax: { call: (x) => reduce.amax(x, [1]), domains: [{ distinct: true }] },
  gather: { call: (x) => indexing.gather(x, 1, gatherIndex(x.shape)) },
  scatterAdd: {
    call: (x) =>
      indexing.scatterAdd([x.shape[0], x.shape[1] + 1, ...x.shape.slice(2)], 1, gatherIndex(x.shape), x),
  },
  indexSelect: { call: (x) => indexing.indexSelect(x, 0, rowIndex(x.shape[0])) },
  indexAdd: {
    call: (x) => indexing.indexAdd(x.shape, 0, index([0, 2, 0], [3]), x),
    shapes: (b) => [[3, ...b.slice(1)]],
  },
  matmul3d: {
    call: matmul3d,
    shapes: (b) => [
      [b[0], b[1], 3],
      [b[0], 3, b[1] + 1],
    ],
  },
  reshape: { call: (x) => movement.reshape(x, [x.size]) },
  permute: {
    call: (x) =>
      movement.permute(
        x,
        x.shape.map((_, i) => x.ndim - 1 - i),
      ),
  },
  expand: { call: (x) => movement.expand(x, [3, ...x.shape.slice(1)]), shapes: (b) => [[1, ...b.slice(1)]] },
  narrow: { call: (x) => movement.narrow(x, 0, 1, x.shape[0] - 1) },
  slice: { call: (x) => movement.slice(x, 1, 0, x.shape[1], 2) },
  cat: { call: (a, b) => movement.cat([a, b], 0), shapes: same(2) },
  cast: {
    call: (x) => movement.cast(x, 'float32'),
    // float32 rounding (about 1e-7) over a step of 1e-6 would swamp the difference quotient.
    tolerance: { eps: 1e-2, atol: 1e-4, rtol: 1e-3 },
  },
  toBackend: { call: (x) => movement.toBackend(movement.toBackend(x, elsewhere), cpuBackend) },
  unfold: { call: (x) => windowed.unfold(x, window), shapes: (b) => [image(b)] },
  fold: {
    call: (cols) => windowed.fold(cols, [cols.shape[0], cols.shape[1] / 4, 2, 3], window),
    shapes: (b) => {
      const [n, c] = image(b);
      const [outH, outW] = ops.windowOutput('fold', [n, c, 2, 3], window);
      return [[n, c * 4, outH * outW]];
    },
  },
};
