import { describe, expect, it } from 'vitest';
import { cat, gather, indexSelect, ones, stack, tensor, zeros } from '../src/index.js';

/** Bad input throws at the call, naming the op, the shapes or values, and what was expected. */
describe('bad input', () => {
  it('matmul names both shapes and the inner dimensions', () => {
    expect(() => zeros([2, 3]).matmul(zeros([4, 5]))).toThrow(
      'matmul: [2,3] @ [4,5]: inner dimensions 3 and 4 differ',
    );
    expect(() => zeros([]).matmul(zeros([2]))).toThrow(/matmul: both arguments need at least 1 dim/);
  });
  it('broadcasting errors name the op and the shapes', () => {
    expect(() => zeros([2, 3]).add(zeros([4, 3]))).toThrow(
      /add: shapes \[2,3\] and \[4,3\] cannot be broadcast/,
    );
  });
  it('dims out of range name the op and the valid range', () => {
    expect(() => zeros([2, 3]).sum(2)).toThrow(
      'sum: dim 2 is out of range for a tensor with 2 dims (expected -2..1)',
    );
    expect(() => zeros([2, 3]).softmax(-3)).toThrow(/softmax: dim -3 is out of range/);
    expect(() => zeros([2, 3]).permute([0, 0])).toThrow(/permute: dims \[0,0\] are not a permutation/);
  });
  it('reshape refuses sizes that do not fit', () => {
    expect(() => zeros([2, 3]).reshape([4, 2])).toThrow(
      /reshape: cannot reshape \[2,3\] \(6 elements\) to \[4,2\]/,
    );
    expect(() => zeros([2, 3]).reshape([-1, -1])).toThrow(/only one dim may be -1/);
  });
  it('gather and indexSelect refuse bad indices', () => {
    const x = ones([2, 3]);
    expect(() => gather(x, 1, tensor([[0, 5]], { dtype: 'int32' }))).toThrow(
      'gather: index 5 is out of bounds for dim 1 with size 3',
    );
    expect(() => gather(x, 1, tensor([[0.5]]))).toThrow('gather: index must be an int32 tensor, got float32');
    expect(() => indexSelect(x, 0, tensor([2], { dtype: 'int32' }))).toThrow(
      /indexSelect: index 2 is out of bounds for dim 0 with size 2/,
    );
    expect(() => gather(x, 1, tensor([0], { dtype: 'int32' }))).toThrow(/gather: index has 1 dims/);
  });
  it('cat and stack name the mismatching shapes', () => {
    expect(() => cat([zeros([2, 3]), zeros([2, 4])], 0)).toThrow(
      /cat: tensors must match in every dim but 0: got \[2,3\], \[2,4\]/,
    );
    expect(() => stack([zeros([2]), zeros([3])])).toThrow(
      /stack: every tensor must have one shape, got \[2\], \[3\]/,
    );
  });
  it('max of an empty tensor and unknown dtypes are refused', () => {
    expect(() => zeros([0]).max()).toThrow(/max: cannot reduce an empty tensor of shape \[0\]/);
    expect(() => zeros([1]).to('float16')).toThrow(
      "to: unknown dtype or backend 'float16'; expected a dtype (float32, float64, int32, bool) or a backend (cpu)",
    );
  });
});
