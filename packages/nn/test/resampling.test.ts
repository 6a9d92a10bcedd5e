import { gradcheck, randn } from '@agrad/autograd';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdaptiveAvgPool2d, Conv1d, ConvTranspose2d, F, Upsample } from '../src/index.js';

/**
 * conv1d, convTranspose2d, adaptiveAvgPool2d and interpolate beyond the PyTorch goldens (layers.test.ts): their
 * gradients against central differences (float64) over random sizes, and bad input named.
 */

const dtype = 'float64' as const;

describe('conv1d, adaptiveAvgPool2d and interpolate', () => {
  it('property: conv1d passes gradcheck for input, weight and bias', () => {
    fc.assert(
      fc.property(
        fc.record({
          groups: fc.integer({ min: 1, max: 2 }),
          perGroup: fc.integer({ min: 1, max: 2 }),
          out: fc.integer({ min: 1, max: 2 }),
          kernel: fc.integer({ min: 1, max: 3 }),
          stride: fc.integer({ min: 1, max: 2 }),
          padding: fc.integer({ min: 0, max: 2 }),
          dilation: fc.integer({ min: 1, max: 2 }),
          extra: fc.integer({ min: 0, max: 4 }),
        }),
        (o) => {
          const channels = o.groups * o.perGroup;
          const length = o.dilation * (o.kernel - 1) + 1 + o.extra;
          const x = randn([2, channels, length], { dtype });
          const w = randn([o.out * o.groups, o.perGroup, o.kernel], { dtype });
          const b = randn([o.out * o.groups], { dtype });
          const { stride, padding, dilation, groups } = o;
          const report = gradcheck(
            (xi, wi, bi) => F.conv1d(xi, wi, bi, { stride, padding, dilation, groups }),
            [x, w, b],
          );
          expect(report.ok, report.message).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('property: convTranspose2d passes gradcheck, and is the adjoint of conv2d', () => {
    fc.assert(
      fc.property(
        fc.record({
          groups: fc.integer({ min: 1, max: 2 }),
          inPerGroup: fc.integer({ min: 1, max: 2 }),
          outPerGroup: fc.integer({ min: 1, max: 2 }),
          kernel: fc.integer({ min: 1, max: 3 }),
          stride: fc.integer({ min: 1, max: 2 }),
          dilation: fc.integer({ min: 1, max: 2 }),
          h: fc.integer({ min: 1, max: 3 }),
          w: fc.integer({ min: 1, max: 3 }),
        }),
        (o) => {
          const x = randn([1, o.inPerGroup * o.groups, o.h, o.w], { dtype });
          const weight = randn([o.inPerGroup * o.groups, o.outPerGroup, o.kernel, o.kernel], { dtype });
          const bias = randn([o.outPerGroup * o.groups], { dtype });
          const { stride, dilation, groups } = o;
          const y = F.convTranspose2d(x, weight, null, { stride, dilation, groups });
          // <conv2d(z), x> = <z, convTranspose2d(x)>: the transposed convolution's weight
          // [in, out/groups, k, k] is the conv2d weight [out, in/groups, k, k] of its adjoint.
          const z = randn(y.shape, { dtype });
          const forward = F.conv2d(z, weight, null, { stride, dilation, groups });
          expect(forward.shape).toEqual(x.shape);
          expect(forward.mul(x).sum().item()).toBeCloseTo(z.mul(y).sum().item(), 10);
          const report = gradcheck(
            (a, b, c) => F.convTranspose2d(a, b, c, { stride, dilation, groups }),
            [x, weight, bias],
          );
          expect(report.ok, report.message).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('property: adaptiveAvgPool2d and interpolate (nearest, bilinear) pass gradcheck', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom('nearest', 'bilinear', 'bilinear-corners', 'pool'),
        (h, w, outH, outW, kind) => {
          const x = randn([1, 2, h, w], { dtype });
          const fn =
            kind === 'pool'
              ? (xi: typeof x) => F.adaptiveAvgPool2d(xi, [outH, outW])
              : (xi: typeof x) =>
                  F.interpolate(xi, {
                    size: [outH, outW],
                    mode: kind === 'nearest' ? 'nearest' : 'bilinear',
                    ...(kind === 'bilinear-corners' ? { alignCorners: true } : {}),
                  });
          const y = fn(x);
          expect(y.shape).toEqual([1, 2, outH, outW]);
          const report = gradcheck(fn, [x]);
          expect(report.ok, report.message).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keep constants constant and the mean of each window, whatever the sizes', () => {
    const x = randn([1, 1, 5, 7], { dtype }).mul(0).add(3);
    for (const y of [
      F.interpolate(x, { size: [9, 4], mode: 'bilinear' }),
      F.interpolate(x, { scaleFactor: 1.7 }),
      F.adaptiveAvgPool2d(x, [3, 3]),
    ])
      for (const v of y.data) expect(v).toBeCloseTo(3, 12);
    const image = randn([2, 3, 4, 6], { dtype });
    // The global pool is the mean over each image and channel.
    const pooled = F.adaptiveAvgPool2d(image, 1).reshape([6]).data;
    const means = image.mean([2, 3]).reshape([6]).data;
    pooled.forEach((v, i) => expect(v).toBeCloseTo(means[i], 12));
  });

  it('refuse bad sizes and options, naming them', () => {
    const x = randn([1, 2, 4, 4]);
    expect(() => F.interpolate(x, { size: [2, 2], scaleFactor: 2 })).toThrow(
      /interpolate: give exactly one of size and scaleFactor/,
    );
    expect(() => F.interpolate(x, {})).toThrow(/interpolate: give exactly one/);
    expect(() => F.interpolate(x, { scaleFactor: 2, alignCorners: true })).toThrow(
      /alignCorners applies to mode 'bilinear'/,
    );
    expect(() => F.interpolate(x, { scaleFactor: 0.1 })).toThrow(/interpolate: the output would have 0 rows/);
    expect(() => F.interpolate(x, { scaleFactor: 2, mode: 'bicubic' as never })).toThrow(/interpolate.*mode/);
    expect(() => F.interpolate(randn([4, 4]), { scaleFactor: 2 })).toThrow(
      /interpolate: expected input \[N,C,H,W\]/,
    );
    expect(() => new Upsample({ scale: 2 } as never)).toThrow(/Upsample.*scale/);
    expect(() => F.adaptiveAvgPool2d(x, 0)).toThrow(
      /adaptiveAvgPool2d: outputSize must be a positive integer/,
    );
    expect(() => new AdaptiveAvgPool2d([2, -1] as never)).toThrow(/AdaptiveAvgPool2d: outputSize/);
    expect(() => new Conv1d(4, 6, 3, { groups: 4 })).toThrow(/Conv1d: groups=4 must divide/);
    expect(() => new ConvTranspose2d(2, 2, 3, { stride: 2, outputPadding: 2 })).toThrow(
      /ConvTranspose2d: outputPadding \(2, 2\) must be smaller than the stride \(2, 2\)/,
    );
    expect(() => F.convTranspose2d(randn([1, 3, 4, 4]), randn([2, 2, 3, 3]))).toThrow(
      /convTranspose2d: input has 3 channels but weight \[2,2,3,3\] expects 2/,
    );
    expect(() => F.convTranspose2d(randn([1, 2, 1, 1]), randn([2, 2, 3, 3]), null, { padding: 3 })).toThrow(
      /convTranspose2d: the output would be -3x-3/,
    );
    expect(String(new ConvTranspose2d(2, 4, 3, { stride: 2, outputPadding: 1 }))).toBe(
      'ConvTranspose2d(2, 4, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1))',
    );
    expect(() => new Conv1d(2, 2, 3, { padding: 'same', stride: 2 })).toThrow(
      /Conv1d: padding 'same' needs stride 1/,
    );
    expect(() => F.conv1d(randn([1, 3, 5]), randn([2, 2, 3]))).toThrow(/conv2d: input has 3 channels/);
    expect(String(new Conv1d(2, 4, 3, { padding: 1 }))).toBe(
      'Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=(1,))',
    );
    expect(String(new Upsample({ scaleFactor: 2, mode: 'bilinear' }))).toBe(
      "Upsample(scale_factor=2.0, mode='bilinear')",
    );
  });
});
