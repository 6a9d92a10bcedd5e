import { describe, expect, it } from 'vitest';
import { autogradGraph, type Tensor, tensor, toDot, toMermaid } from '../src/index.js';

/** Declared node ids and edges of a DOT or Mermaid text, read back by pattern. */
function parse(text: string, edge: RegExp, declaration: RegExp) {
  const declared = [...text.matchAll(declaration)].map((m) => m[1]);
  const edges = [...text.matchAll(edge)].map((m) => [m[1], m[2]]);
  return { declared, edges };
}

describe('the autograd graph behind a tensor', () => {
  const build = () => {
    const w = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    const b = tensor(
      [
        [0.5, -0.5],
        [1, 2],
      ],
      { requiresGrad: true },
    );
    const x = tensor([
      [1, 0],
      [0, 1],
    ]);
    const h = w.mul(x).add(b);
    const loss = h.mul(h).sum();
    return { w, b, x, loss };
  };

  it('has one node per tensor and one edge per op input, inputs before users', () => {
    const { w, b, loss } = build();
    const graph = autogradGraph(loss, { params: { weight: w, bias: b } });
    const titles = graph.nodes.map((n) => `${n.kind}:${n.title}:${n.shape}`);
    // The tape's own primitives: sum over all elements is a sum to [1, 1] and a reshape to [].
    expect(titles.sort()).toEqual(
      [
        'parameter:weight:[2,2]',
        'constant:constant:[2,2]',
        'op:mul:[2,2]',
        'parameter:bias:[2,2]',
        'op:add:[2,2]',
        'op:mul:[2,2]',
        'op:sum:[1,1]',
        'op:reshape:[]',
      ].sort(),
    );
    // h is used twice by the second mul: two edges from it; mul and add have two inputs each.
    expect(graph.edges).toHaveLength(2 + 2 + 2 + 1 + 1);
    const position = new Map(graph.nodes.map((n, i) => [n.id, i]));
    for (const [from, to] of graph.edges) expect(position.get(from)).toBeLessThan(position.get(to) as number);
    expect(graph.nodes.filter((n) => n.isRoot).map((n) => n.title)).toEqual(['reshape']);
  });

  it('toDot declares every node once, with the leaf names and shapes, and only edges between them', () => {
    const { w, b, loss } = build();
    const dot = toDot(loss, { params: [['fc.weight', w] as const, ['fc.bias', b] as const] });
    expect(dot.startsWith('digraph autograd {')).toBe(true);
    const { declared, edges } = parse(dot, /^ {2}(t\d+) -> (t\d+);$/gm, /^ {2}(t\d+) \[label=/gm);
    expect(new Set(declared).size).toBe(declared.length);
    expect(declared).toHaveLength(8);
    expect(edges).toHaveLength(8);
    for (const [from, to] of edges) expect(declared).toEqual(expect.arrayContaining([from, to]));
    expect(dot).toMatch(/label="fc\.weight\\n\[2,2\] float32", shape=box, style=filled, fillcolor=lightblue/);
    expect(dot).toMatch(/label="constant\\n\[2,2\] float32", shape=box, style=filled, fillcolor=lightgrey/);
    expect(dot).toMatch(/label="reshape\\n\[\] float32", shape=box, style="rounded", penwidth=2/);
  });

  it('toMermaid gives the same structure as a flowchart, with quotes in names escaped', () => {
    const { w, b, loss } = build();
    const mermaid = toMermaid(loss, { params: { 'say "w"': w, bias: b } });
    expect(mermaid.split('\n')[0]).toBe('flowchart BT');
    const { declared, edges } = parse(mermaid, /^ {2}(t\d+) --> (t\d+)$/gm, /^ {2}(t\d+)\["/gm);
    expect(declared).toHaveLength(8);
    expect(edges).toHaveLength(8);
    for (const [from, to] of edges) expect(declared).toEqual(expect.arrayContaining([from, to]));
    expect(mermaid).toContain('["say #quot;w#quot;<br/>[2,2] float32"]:::parameter');
    expect(mermaid).toMatch(/\["add<br\/>\[2,2\] float32"\]:::op/);
  });

  it('a constant result has a graph of one node; a deep chain does not overflow the stack', () => {
    expect(autogradGraph(tensor([1, 2])).nodes).toEqual([
      { id: 't0', kind: 'constant', title: 'constant', shape: '[2]', dtype: 'float32', isRoot: true },
    ]);
    let x: Tensor = tensor([1], { requiresGrad: true });
    for (let i = 0; i < 20_000; i++) x = x.add(x);
    const graph = autogradGraph(x);
    expect(graph.nodes).toHaveLength(20_001);
    expect(graph.edges).toHaveLength(40_000);
  });

  it('refuses unknown options and params that are not named tensors, naming the op', () => {
    const { loss } = build();
    expect(() => toDot(loss, { names: {} } as never)).toThrow(
      "toDot: unknown option 'names' (expected params)",
    );
    expect(() => toMermaid(loss, { params: 3 } as never)).toThrow(/toMermaid: params must be named tensors/);
  });
});
