import { expect, it } from 'vitest';
import { grad, tensor } from '../src/index.js';

// The README's ten-line example, kept here so it cannot drift from what the code does.
it('README example computes what the README says', () => {
  const w = tensor(
    [
      [1, 2],
      [3, 4],
    ],
    { requiresGrad: true },
  );
  const x = tensor([1, 1]);
  const loss = w.matmul(x).pow(2).sum();
  loss.backward();
  expect(w.grad?.toArray()).toEqual([
    [6, 6],
    [14, 14],
  ]);
  const d2 = grad(grad((t) => t.pow(3).sum()));
  expect(d2(tensor([2])).toArray()).toEqual([12]);
});
