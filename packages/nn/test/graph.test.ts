import { autogradGraph, manualSeed, randn, tensor, toDot, toMermaid } from '@agrad/autograd';
import { describe, expect, it } from 'vitest';
import { Conv2d, F, Flatten, Linear, ReLU, Sequential } from '../src/index.js';

describe("a model's loss graph", () => {
  it('names every parameter of an MLP as a blue leaf with its shape, and holds the input as a constant', () => {
    manualSeed(0);
    const model = new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 2));
    const loss = F.crossEntropy(model.forward(randn([5, 4])), tensor([0, 1, 1, 0, 1], { dtype: 'int32' }));
    const graph = autogradGraph(loss, { params: model.namedParameters() });
    const leaves = graph.nodes.filter((n) => n.kind === 'parameter').map((n) => `${n.title} ${n.shape}`);
    expect(leaves.sort()).toEqual(['0.bias [3]', '0.weight [3,4]', '2.bias [2]', '2.weight [2,3]']);
    // The input, as the tape holds it: matmul's operand, reshaped to a batch of one.
    expect(graph.nodes.some((n) => n.kind === 'constant' && n.shape === '[1,5,4]')).toBe(true);
    // Every op node is reachable from the parameters: nothing floats unconnected.
    const used = new Set(graph.edges.flat());
    for (const n of graph.nodes) if (!n.isRoot) expect(used.has(n.id)).toBe(true);
    const dot = toDot(loss, { params: model.namedParameters() });
    expect(dot).toMatch(/label="2\.weight\\n\[2,3\] float32", shape=box, style=filled, fillcolor=lightblue/);
  });

  it('a CNN graph holds its convolution weights and one edge per op input', () => {
    manualSeed(1);
    const model = new Sequential(
      new Conv2d(1, 2, 3, { padding: 1 }),
      new ReLU(),
      new Flatten(),
      new Linear(32, 3),
    );
    const loss = model
      .forward(randn([2, 1, 4, 4]))
      .pow(2)
      .mean();
    const mermaid = toMermaid(loss, { params: model.namedParameters() });
    expect(mermaid).toContain('["0.weight<br/>[2,1,3,3] float32"]:::parameter');
    expect(mermaid).toContain('["3.weight<br/>[3,32] float32"]:::parameter');
    const graph = autogradGraph(loss);
    const edgeLines = mermaid.split('\n').filter((line) => line.includes(' --> '));
    expect(edgeLines).toHaveLength(graph.edges.length);
  });
});
