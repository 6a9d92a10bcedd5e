import { describe, expect, it } from 'vitest';
import { isTracing, noGrad, randn, type Tensor, trace, traceAs, traceScope } from '../src/index.js';

const names = (ops: { op: string }[]) => ops.map((o) => o.op);

describe('trace: every op of one run, for exporters', () => {
  it('notes primitives with their non-tensor arguments, whatever the grad mode', () => {
    const x = randn([2, 3]);
    const { result, ops } = trace(() => noGrad(() => x.permute([1, 0]).sum(0).exp()));
    expect(names(ops)).toEqual(['permute', 'sum', 'reshape', 'exp']);
    expect(ops[0].inputs[0]).toBe(x);
    expect(ops[0].attributes).toEqual({ dims: [1, 0] });
    expect(ops[1].attributes).toEqual({ dims: [0] });
    expect(ops[3].outputs[0]).toBe(result);
    expect(isTracing()).toBe(false);
  });

  it('notes ops without a gradient (comparisons, argmax, detach), so no value appears from nowhere', () => {
    const x = randn([3, 4]);
    const { ops } = trace(() => [x.gt(0), x.argmax(1), x.detach()]);
    expect(names(ops)).toEqual(['gt', 'argmax', 'detach']);
    expect(ops[1].attributes).toEqual({ dim: 1, keepdim: false });
  });

  it('a composite marked with traceAs is one op: its inner ops are not noted', () => {
    const x = randn([2, 5]);
    const { result, ops } = trace(() => traceAs('double', [x], { factor: 2 }, () => x.mul(2).add(0)).relu());
    expect(names(ops)).toEqual(['double', 'relu']);
    expect(ops[0].attributes).toEqual({ factor: 2 });
    expect(ops[1].inputs[0]).toBe(ops[0].outputs[0]);
    expect(ops[1].outputs[0]).toBe(result);
    // softmax is such a composite
    expect(names(trace(() => x.softmax(1)).ops)).toEqual(['softmax']);
  });

  it('scopes name where an op ran; outside a trace nothing is noted and traces do not nest', () => {
    const x = randn([2]);
    const { ops } = trace(() => traceScope('encoder', () => traceScope('layers.0', () => x.exp())).sin());
    expect(ops.map((o) => o.scope)).toEqual(['encoder.layers.0', '']);
    expect(traceAs('double', [x], {}, () => x.mul(2)).shape).toEqual([2]);
    expect(() => trace(() => trace(() => x))).toThrow(/already tracing/);
    expect(isTracing()).toBe(false);
  });

  it('a trace ends when its function throws', () => {
    expect(() =>
      trace((): Tensor => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(isTracing()).toBe(false);
  });
});
