import { describe, expect, it } from 'vitest';
import {
  customOp,
  grad,
  gradients,
  noGrad,
  ones,
  randn,
  type Tensor,
  tensor,
  valueAndGrad,
  zeros,
} from '../src/index.js';
import { expectGradients } from '../src/testing/index.js';

const values = (t: Tensor | null) => Array.from(t!.data);

describe('backward', () => {
  it('accumulates contributions from every use of a tensor', () => {
    const x = tensor([2, 3], { requiresGrad: true });
    const y = x.mul(x).add(x.mul(3)).sum(); // d/dx = 2x + 3
    y.backward();
    expect(values(x.grad)).toEqual([7, 9]);
  });

  it('adds into an existing .grad across calls, and .grad is assignable', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    x.mul(2).sum().backward();
    x.mul(2).sum().backward();
    expect(values(x.grad)).toEqual([4, 4]);
    x.grad = null;
    x.mul(5).sum().backward();
    expect(values(x.grad)).toEqual([5, 5]);
  });

  it('takes a gradient argument for non-scalar outputs', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    x.mul(x).backward(tensor([1, 0, -1]));
    expect(values(x.grad)).toEqual([2, 0, -6]);
  });

  it('refuses a non-scalar output without a gradient, with a hint', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(/shape \[2\].*y\.sum\(\)\.backward\(\)/);
  });

  it('checks the gradient argument against the output', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(() => x.mul(2).backward(tensor([1, 2, 3]))).toThrow(
      /gradient has shape \[3\] but the tensor has shape \[2\]/,
    );
  });

  it('frees the graph after backward unless retainGraph', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward();
    expect(() => y.backward()).toThrow(/already freed.*retainGraph/);
    const z = x.exp().sum();
    z.backward(undefined, { retainGraph: true });
    z.backward();
    expect(values(x.grad)[0]).toBeCloseTo(Math.exp(1) * 3, 5);
  });

  it('names the op whose backward returned a wrongly shaped gradient', () => {
    const bad = customOp('badOp', { forward: (x: Tensor) => x.mul(2), backward: (g) => [g.sum()] });
    const x = tensor([1, 2], { requiresGrad: true });
    expect(() => bad(x).sum().backward()).toThrow(
      /backward of 'badOp' \(input 0\): gradient has shape \[\] but the tensor has shape \[2\]/,
    );
  });

  it('refuses gradients for integer tensors', () => {
    expect(() => tensor([1, 2], { dtype: 'int32', requiresGrad: true })).toThrow(/only float32 and float64/);
    expect(() => tensor([true], { requiresGrad: true })).toThrow(/bool/);
  });

  it('does not record under noGrad, and detach cuts the graph', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    const z = x.detach().mul(2);
    expect(z.requiresGrad).toBe(false);
    expect(() => z.sum().backward()).toThrow(/does not require grad/);
  });

  it('keeps gradients of non-leaves with retainGrad', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.mul(3).retainGrad();
    h.mul(h).sum().backward();
    expect(values(h.grad)).toEqual([6, 12]);
    expect(values(x.grad)).toEqual([18, 36]);
  });

  it('runs hooks on gradients and lets them replace the gradient', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const seen: number[][] = [];
    const handle = x.registerHook((g) => {
      seen.push(Array.from(g.data));
      return g.mul(10);
    });
    x.mul(x).sum().backward();
    expect(seen).toEqual([[2, 4]]);
    expect(values(x.grad)).toEqual([20, 40]);
    handle.remove();
    x.grad = null;
    x.sum().backward();
    expect(values(x.grad)).toEqual([1, 1]);
  });

  it('handles a deep graph without overflowing the stack', () => {
    const x = tensor([1], { requiresGrad: true });
    let y = x;
    for (let i = 0; i < 20_000; i++) y = y.add(1);
    y.sum().backward();
    expect(values(x.grad)).toEqual([1]);
  });
});

describe('higher-order gradients', () => {
  it('createGraph gives second derivatives', () => {
    const x = tensor([0.5, -1.5], { dtype: 'float64', requiresGrad: true });
    const [dx] = gradients(x.tanh().sum(), [x], { createGraph: true });
    const [ddx] = gradients(dx.sum(), [x]);
    const t = [0.5, -1.5].map(Math.tanh);
    values(ddx).forEach((v, i) => expect(v).toBeCloseTo(-2 * t[i] * (1 - t[i] ** 2), 12));
  });

  it('grad(grad(f)) nests, as in JAX', () => {
    const f = (x: Tensor) => x.pow(3).sum();
    const d2 = grad(grad(f) as (x: Tensor) => Tensor);
    const d3 = grad((x: Tensor) => (grad(grad(f) as (x: Tensor) => Tensor)(x) as Tensor).sum());
    expect(values(d2(tensor([2], { dtype: 'float64' })) as Tensor)).toEqual([12]);
    expect(values(d3(tensor([2], { dtype: 'float64' })) as Tensor)).toEqual([6]);
  });

  it('second derivatives of composites match finite differences of first derivatives', () => {
    const fns: [string, (x: Tensor) => Tensor][] = [
      ['softmax', (x) => x.softmax(-1).pow(2).sum()],
      ['gelu', (x) => x.gelu().sum()],
      ['logsumexp', (x) => x.logsumexp(1).exp().sum()],
      ['matmul', (x) => x.matmul(x.transpose(0, 1)).sin().sum()],
    ];
    for (const [, fn] of fns) {
      const x = randn([2, 3], { dtype: 'float64' });
      expectGradients((a) => grad(fn)(a) as Tensor, [x]);
    }
  });
});

describe('functional API', () => {
  it('valueAndGrad returns the value and the gradients for argnums', () => {
    const f = (a: Tensor, b: Tensor) => a.mul(b).sum();
    const [value, grads] = valueAndGrad(f, { argnums: [0, 1] })(tensor([1, 2]), tensor([3, 4]));
    expect(value.item()).toBe(11);
    expect((grads as Tensor[]).map(values)).toEqual([
      [3, 4],
      [1, 2],
    ]);
  });

  it('grad does not touch .grad of its arguments', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    grad((a: Tensor) => a.sum())(x);
    expect(x.grad).toBeNull();
  });

  it('customOp uses the given backward', () => {
    const clipGrad = customOp('clipGrad', {
      forward: (x: Tensor) => x.clone(),
      backward: (g) => [g.clamp(-1, 1)],
    });
    const x = tensor([1, 2], { requiresGrad: true });
    clipGrad(x).mul(5).sum().backward();
    expect(values(x.grad)).toEqual([1, 1]);
  });
});

describe('tensor creation and members', () => {
  it('builds from numbers, nested arrays and typed arrays with shape', () => {
    expect(tensor(3).shape).toEqual([]);
    expect(tensor([[1, 2, 3]]).shape).toEqual([1, 3]);
    expect(tensor([[1, 2, 3]]).dtype).toBe('float32');
    const t = tensor(new Int32Array([1, 2, 3, 4]), { shape: [2, 2] });
    expect(t.dtype).toBe('int32');
    expect(t.toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(tensor([1, 2, 3, 4], { shape: [2, 2], dtype: 'float64' }).toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(tensor([true, false]).dtype).toBe('bool');
  });

  it('refuses ragged arrays and mismatched shapes', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged nested array: expected length 2 at depth 1, got 1/);
    expect(() => tensor([1, 2, 3], { shape: [2, 2] })).toThrow(/3 values cannot fill shape \[2,2\]/);
  });

  it('item, clone, to, size and ndim', () => {
    const x = tensor([[1.5]]);
    expect(x.item()).toBe(1.5);
    expect(x.ndim).toBe(2);
    expect(x.size).toBe(1);
    expect(() => tensor([1, 2]).item()).toThrow(/2 elements, expected exactly 1/);
    const y = tensor([1.7, -1.7]).to('int32');
    expect(Array.from(y.data)).toEqual([1, -1]);
    expect(zeros([2]).clone().add(1).toArray()).toEqual([1, 1]);
    expect(ones([2, 2]).sum().item()).toBe(4);
  });
});

describe('in-place copy_', () => {
  it('updates parameters inside noGrad and refuses outside', () => {
    const p = tensor([1, 2], { requiresGrad: true });
    expect(() => p.copy_(tensor([0, 0]))).toThrow(/only inside noGrad/);
    noGrad(() => p.copy_(p.sub(tensor([0.5, 0.5]))));
    expect(values(p)).toEqual([0.5, 1.5]);
    expect(p.requiresGrad).toBe(true);
    noGrad(() => p.copy_(3));
    expect(values(p)).toEqual([3, 3]);
  });
  it('writes through a non-contiguous view into its storage', () => {
    const base = zeros([2, 3]);
    base
      .transpose(0, 1)
      .narrow(0, 1, 1)
      .copy_(tensor([[7, 8]]));
    expect(base.toArray()).toEqual([
      [0, 7, 0],
      [0, 8, 0],
    ]);
  });
});
