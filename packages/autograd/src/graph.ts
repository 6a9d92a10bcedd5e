import { formatShape } from '@agrad/tensor';
import { inputsFirst } from './engine.js';
import type { Tensor } from './tensor.js';

/**
 * Drawing the autograd graph behind a tensor, as micrograd's trace_graph and torchviz's make_dot
 * do: every tensor the result was computed from, walked back through each result's Node (the
 * op that made it and its inputs). An op's result is drawn as the op's name and its shape; a leaf
 * as its name (when `params` names it) and shape, filled blue when it requires gradients (what
 * backward() writes .grad to) and grey when it is a constant; the tensor drawn from is outlined.
 */

export interface GraphOptions {
  /** Names for leaves, as `module.namedParameters()` gives them (or a plain object). */
  params?: Iterable<readonly [string, Tensor]> | Readonly<Record<string, Tensor>>;
}

/** What a node of the drawn graph is: an op's result, a leaf that requires gradients, or a constant. */
export type GraphNodeKind = 'op' | 'parameter' | 'constant';

/** One tensor of the drawn graph: an op's result or a leaf, with its shape and dtype. */
export interface GraphNode {
  id: string;
  kind: GraphNodeKind;
  /** The op's name, or the leaf's name if given. */
  title: string;
  shape: string;
  dtype: string;
  isRoot: boolean;
}

/** The graph behind a tensor, as autogradGraph returns it: nodes inputs first, and edges. */
export interface AutogradGraph {
  nodes: GraphNode[];
  /** [from, to] node ids: from is an input of the op that made `to`. */
  edges: Array<[string, string]>;
}

const KNOWN_OPTIONS = new Set(['params']);

function leafNames(op: string, params: GraphOptions['params']): Map<Tensor, string> {
  const names = new Map<Tensor, string>();
  if (params === undefined) return names;
  if (typeof params !== 'object' || params === null) {
    throw new TypeError(
      `${op}: params must be named tensors (module.namedParameters() or an object), got ${params}`,
    );
  }
  const entries =
    Symbol.iterator in params ? [...(params as Iterable<readonly [string, Tensor]>)] : Object.entries(params);
  for (const [name, tensor] of entries) names.set(tensor, name);
  return names;
}

/** The graph behind `root` as nodes and edges, inputs before the ops that use them. */
export function autogradGraph(root: Tensor, options: GraphOptions = {}, op = 'autogradGraph'): AutogradGraph {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new TypeError(`${op}: unknown option '${key}' (expected params)`);
  }
  const names = leafNames(op, options.params);
  const ids = new Map<Tensor, string>();
  const nodes: GraphNode[] = [];
  const edges: Array<[string, string]> = [];
  // Every input, constants included: they are part of what the result was computed from.
  for (const tensor of inputsFirst(root, () => true)) {
    const id = `t${nodes.length}`;
    ids.set(tensor, id);
    const node = tensor.gradFn;
    nodes.push({
      id,
      kind: node ? 'op' : tensor.requiresGrad ? 'parameter' : 'constant',
      title: node ? node.op : (names.get(tensor) ?? (tensor.requiresGrad ? 'leaf' : 'constant')),
      shape: formatShape(tensor.shape),
      dtype: tensor.dtype,
      isRoot: tensor === root,
    });
    for (const input of node?.inputs ?? []) edges.push([ids.get(input) as string, id]);
  }
  return { nodes, edges };
}

const dotText = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

/** The graph behind `tensor` in Graphviz DOT (render with `dot -Tsvg`). */
export function toDot(tensor: Tensor, options: GraphOptions = {}): string {
  const { nodes, edges } = autogradGraph(tensor, options, 'toDot');
  const style: Record<GraphNodeKind, string> = {
    op: 'shape=box, style="rounded"',
    parameter: 'shape=box, style=filled, fillcolor=lightblue',
    constant: 'shape=box, style=filled, fillcolor=lightgrey',
  };
  const lines = ['digraph autograd {', '  rankdir=BT;', '  node [fontname="Helvetica", fontsize=10];'];
  for (const n of nodes) {
    const label = `${dotText(n.title)}\\n${n.shape} ${n.dtype}`;
    lines.push(`  ${n.id} [label="${label}", ${style[n.kind]}${n.isRoot ? ', penwidth=2' : ''}];`);
  }
  for (const [from, to] of edges) lines.push(`  ${from} -> ${to};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Mermaid's entity codes for the characters that would end or break a quoted label. */
const mermaidText = (s: string) =>
  s.replace(/&/g, '#amp;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');

/** The graph behind `tensor` as a Mermaid flowchart (GitHub and most docs tools render it). */
export function toMermaid(tensor: Tensor, options: GraphOptions = {}): string {
  const { nodes, edges } = autogradGraph(tensor, options, 'toMermaid');
  const lines = ['flowchart BT'];
  for (const n of nodes)
    lines.push(`  ${n.id}["${mermaidText(n.title)}<br/>${n.shape} ${n.dtype}"]:::${n.kind}`);
  for (const [from, to] of edges) lines.push(`  ${from} --> ${to}`);
  lines.push(
    '  classDef op fill:#ffffff,stroke:#333333',
    '  classDef parameter fill:#add8e6,stroke:#333333',
    '  classDef constant fill:#d3d3d3,stroke:#333333',
  );
  const root = nodes.find((n) => n.isRoot);
  if (root) lines.push(`  style ${root.id} stroke-width:3px`);
  return `${lines.join('\n')}\n`;
}
