import type { AutogradGraph, GraphNode } from '@agrad/autograd';

/**
 * The autograd graph behind a loss as an SVG drawing, for the page: each node in the row of its
 * depth (one more than its deepest input, so leaves are in row 0 and the loss in the last row),
 * edges from inputs down to the ops that use them. Colours as toDot's: parameters blue, constants
 * grey, ops white, the loss outlined.
 */
const BOX = { width: 112, height: 34, gapX: 14, gapY: 30 } as const;
const FILL: Record<GraphNode['kind'], string> = { op: '#ffffff', parameter: '#cfe3ff', constant: '#e6e6e6' };

const escapeXml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Each node's row: 0 for a node without inputs, else one more than its deepest input's. */
export function graphRows(graph: AutogradGraph): Map<string, number> {
  const inputs = new Map<string, string[]>();
  for (const [from, to] of graph.edges) inputs.set(to, [...(inputs.get(to) ?? []), from]);
  const rows = new Map<string, number>();
  // Nodes come inputs first, so every input's row is known when its user is reached.
  for (const node of graph.nodes) {
    const depths = (inputs.get(node.id) ?? []).map((id) => rows.get(id) as number);
    rows.set(node.id, depths.length === 0 ? 0 : Math.max(...depths) + 1);
  }
  return rows;
}

export function graphSvg(graph: AutogradGraph): string {
  const rows = graphRows(graph);
  const byRow: GraphNode[][] = [];
  for (const node of graph.nodes) (byRow[rows.get(node.id) as number] ??= []).push(node);
  const widest = Math.max(1, ...byRow.map((r) => r.length));
  const width = widest * (BOX.width + BOX.gapX) + BOX.gapX;
  const height = byRow.length * (BOX.height + BOX.gapY) + BOX.gapY;
  const at = new Map<string, { x: number; y: number }>();
  byRow.forEach((row, r) => {
    const offset = (width - row.length * (BOX.width + BOX.gapX) + BOX.gapX) / 2;
    row.forEach((node, i) => {
      at.set(node.id, { x: offset + i * (BOX.width + BOX.gapX), y: BOX.gapY + r * (BOX.height + BOX.gapY) });
    });
  });
  const edges = graph.edges.map(([from, to]) => {
    const [a, b] = [at.get(from), at.get(to)] as { x: number; y: number }[];
    return `<line x1="${a.x + BOX.width / 2}" y1="${a.y + BOX.height}" x2="${b.x + BOX.width / 2}" y2="${b.y}" />`;
  });
  const nodes = graph.nodes.map((node) => {
    const { x, y } = at.get(node.id) as { x: number; y: number };
    const stroke = node.isRoot ? ' stroke-width="2.5"' : '';
    return (
      `<g class="node ${node.kind}" data-id="${node.id}"><title>${escapeXml(`${node.title} ${node.shape} ${node.dtype}`)}</title>` +
      `<rect x="${x}" y="${y}" width="${BOX.width}" height="${BOX.height}" rx="4" fill="${FILL[node.kind]}"${stroke} />` +
      `<text x="${x + BOX.width / 2}" y="${y + 14}">${escapeXml(node.title)}</text>` +
      `<text x="${x + BOX.width / 2}" y="${y + 28}" class="shape">${escapeXml(node.shape)}</text></g>`
    );
  });
  return (
    // Scaled down to its box where narrower (a phone), never up: zoom in to read a large graph.
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" style="max-width: ${width}px; height: auto" role="img" aria-label="autograd graph of the loss">` +
    `<g class="edges" stroke="#888" stroke-width="1">${edges.join('')}</g>` +
    `<g class="nodes" stroke="#333" font-size="11" text-anchor="middle">${nodes.join('')}</g></svg>`
  );
}
