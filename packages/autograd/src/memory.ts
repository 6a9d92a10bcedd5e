import { checkValue, NDArray, ops, rules, type Storage } from '@agrad/tensor';
import type { Tensor } from './tensor.js';

/**
 * Explicit memory scopes, for backends whose memory the garbage collector cannot see (the gpu.js
 * backend's textures). On the CPU backend both are no-ops: typed arrays are freed by the GC.
 *
 * tidy(fn) runs fn and then releases every GPU tensor made during it, except those reachable from
 * its result (tensors, arrays and plain objects of them) and those passed to keep(). A released
 * tensor throws if used again, so a mistake is loud, never silently wrong. The library keeps what
 * must outlive a step by itself: parameters are updated in place, backward() keeps the gradients
 * it stores in `.grad`, and the Optimizer keeps its state.
 *
 * @example
 * for (const { x, y } of batches) {
 *   const loss = tidy(() => {
 *     const loss = F.crossEntropy(model.forward(x), y);
 *     optimizer.zeroGrad();
 *     loss.backward();
 *     optimizer.step();
 *     return loss;            // survives; every intermediate is freed now
 *   });
 * }
 */
export function tidy<T>(fn: () => T): T {
  checkValue('tidy', 'fn', fn, rules.func);
  ops.openScope();
  let result: T;
  try {
    result = fn();
  } catch (error) {
    ops.closeScope(new Set());
    throw error;
  }
  if (result instanceof Promise) {
    ops.closeScope(new Set());
    throw new TypeError('tidy: fn must be synchronous (it returned a promise)');
  }
  ops.closeScope(storagesIn(result));
  return result;
}

/**
 * The memory hook of backward(): a gradient stored in `.grad` outlives any tidy() around the
 * backward that made it, as parameters do.
 */
export function retainGradient(grad: Tensor): Tensor {
  ops.unrecordStorage(grad.array.storage);
  return grad;
}

/** A Tensor, recognised by its shape: this module sits below the Tensor class (see ./engine.ts). */
function isTensor(value: object): value is Tensor {
  return 'array' in value && value.array instanceof NDArray && 'grad' in value;
}

/** Exempts a tensor from every enclosing tidy(): its memory is left to the garbage collector. */
export function keep<T extends Tensor>(tensor: T): T {
  ops.unrecordStorage(tensor.array.storage);
  return tensor;
}

/**
 * Frees the memory of the tensors in `value` now (GPU backends; a no-op on the CPU). Using them
 * afterwards throws. For tensors kept past a tidy() once they are no longer needed.
 */
export function dispose(value: unknown): void {
  for (const storage of storagesIn(value)) {
    ops.unrecordStorage(storage);
    storage.backend.release?.(storage);
  }
}

/** The storages of every tensor in a value: tensors, arrays, Maps, Sets and plain objects. */
export function storagesIn(
  value: unknown,
  out = new Set<Storage>(),
  seen = new Set<unknown>(),
): Set<Storage> {
  if (value === null || typeof value !== 'object' || seen.has(value)) return out;
  seen.add(value);
  if (isTensor(value)) {
    out.add(value.array.storage);
    if (value.grad) out.add(value.grad.array.storage);
  } else if (value instanceof NDArray) out.add(value.storage);
  else if (Array.isArray(value) || value instanceof Set) for (const v of value) storagesIn(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) storagesIn(v, out, seen);
  else {
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null)
      for (const v of Object.values(value)) storagesIn(v, out, seen);
  }
  return out;
}
