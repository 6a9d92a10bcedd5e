import { describe, expect, it } from 'vitest';
import { dispose, keep, storagesIn, tensor, tidy } from '../src/index.js';

/**
 * tidy/keep/dispose on the CPU backend: the garbage collector frees typed arrays, so they must be
 * transparent here (the gpu.js side, where they free textures, is tested in apps/examples).
 */
describe('memory scopes on the CPU backend', () => {
  it('tidy returns its result untouched and leaves every tensor usable', () => {
    let inside = tensor([0]);
    const out = tidy(() => {
      inside = tensor([1, 2]).mul(3);
      return { values: [inside.add(1)] };
    });
    expect(out.values[0].toArray()).toEqual([4, 7]);
    expect(inside.toArray()).toEqual([3, 6]);
    const kept = keep(tensor([5]));
    dispose([kept]);
    expect(kept.toArray()).toEqual([5]);
  });

  it('storagesIn finds tensors (and their gradients) in arrays, maps and plain objects, once each', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    a.mul(a).sum().backward();
    const b = tensor([3]);
    const found = storagesIn({ list: [a, b, a], map: new Map([['b', b]]), nested: { deeper: [[b]] } });
    expect(found).toEqual(new Set([a.array.storage, a.grad?.array.storage, b.array.storage]));
    expect(storagesIn(new (class Opaque {})())).toEqual(new Set());
  });

  it('tidy refuses an async function, whose tensors it could not track', () => {
    expect(() => tidy(() => Promise.resolve(1))).toThrow(
      'tidy: fn must be synchronous (it returned a promise)',
    );
  });
});
