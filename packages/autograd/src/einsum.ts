import { formatShape, promoteTypes } from '@agrad/tensor';
import { eye } from './creation.js';
import type { Tensor } from './tensor.js';

/**
 * Einstein summation (torch.einsum), composed from permute, reshape, expand, sum and batched
 * matmul, so it needs no gradient of its own: `einsum('bij,bjk->bik', a, b)`.
 *
 * Each operand's subscripts are letters, plus at most one `...` for its leading (broadcast)
 * dims; without `->` the output is the letters that occur once, in alphabetical order, after the
 * `...` dims. A letter repeated within one operand takes its diagonal; a letter in no other
 * operand and not in the output is summed first; then operands are multiplied pairwise, left to
 * right, each pair as one batched product over the letters they share.
 */
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  if (typeof equation !== 'string')
    throw new TypeError(`einsum: the equation must be a string, got ${typeof equation}`);
  const spec = equation.replace(/\s+/g, '');
  const [left, right, ...extra] = spec.split('->');
  if (extra.length > 0) throw new RangeError(`einsum: '${equation}' has more than one '->'`);
  const terms = left.split(',');
  if (terms.length !== operands.length)
    throw new RangeError(
      `einsum: '${equation}' names ${terms.length} operands, got ${operands.length} tensors`,
    );
  const bad = (why: string) => new RangeError(`einsum: '${equation}': ${why}`);
  const subscripts = (term: string, what: string) => {
    const rest = term.replace('...', '');
    if (term.split('...').length > 2) throw bad(`${what} has more than one '...'`);
    if (!/^[a-zA-Z]*$/.test(rest)) throw bad(`${what} '${term}' may hold only letters and one '...'`);
    return { letters: [...rest], ellipsisAt: term.indexOf('...') };
  };
  const parsed = terms.map((term, i) => subscripts(term, `operand ${i}`));
  // Ellipsis dims become labels of their own, '0', '1', ..., aligned from the right.
  const ellipsisRank = Math.max(
    0,
    ...parsed.map((p, i) => {
      const rank = operands[i].ndim - p.letters.length;
      if (p.ellipsisAt < 0 ? rank !== 0 : rank < 0)
        throw bad(
          `operand ${i} has ${operands[i].ndim} dims (${formatShape(operands[i].shape)}) but '${terms[i]}' names ${p.letters.length}`,
        );
      return p.ellipsisAt < 0 ? 0 : rank;
    }),
  );
  const ellipsisLabels = Array.from({ length: ellipsisRank }, (_, i) => String(i));
  const labelsOf = (p: { letters: string[]; ellipsisAt: number }, ndim: number) => {
    if (p.ellipsisAt < 0) return p.letters;
    const own = ellipsisLabels.slice(ellipsisRank - (ndim - p.letters.length));
    return [...p.letters.slice(0, p.ellipsisAt), ...own, ...p.letters.slice(p.ellipsisAt)];
  };
  let items = operands.map((t, i) => ({ tensor: t, labels: labelsOf(parsed[i], t.ndim) }));
  const counts = new Map<string, number>();
  for (const { labels } of items) for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  let output: string[];
  if (right === undefined) {
    const once = [...counts].filter(([l, c]) => c === 1 && /[a-zA-Z]/.test(l)).map(([l]) => l);
    output = [...ellipsisLabels, ...once.sort()];
  } else {
    const p = subscripts(right, 'the output');
    // Without '...' in an explicit output, the '...' dims are summed, as torch does.
    output =
      p.ellipsisAt < 0
        ? p.letters
        : [...p.letters.slice(0, p.ellipsisAt), ...ellipsisLabels, ...p.letters.slice(p.ellipsisAt)];
    for (const l of p.letters) {
      if (!counts.has(l)) throw bad(`output letter '${l}' is in no operand`);
      if (p.letters.indexOf(l) !== p.letters.lastIndexOf(l)) throw bad(`output letter '${l}' repeats`);
    }
  }
  // One size per letter; a size of 1 broadcasts against any other, as in torch.
  const sizes = new Map<string, number>();
  for (const { tensor, labels } of items)
    labels.forEach((l, d) => {
      const size = tensor.shape[d];
      const known = sizes.get(l);
      if (known === undefined || known === 1) sizes.set(l, size);
      else if (size !== known && size !== 1)
        throw bad(
          `letter '${/^\d/.test(l) ? '...' : l}' has size ${known} in one place and ${size} in another`,
        );
    });
  const dtype = operands.map((t) => t.dtype).reduce(promoteTypes);
  items = items.map(({ tensor, labels }) => diagonals(tensor.to(dtype), labels));
  // Letters needed after a step: in the output or in an operand not yet multiplied.
  const needed = (from: number) => new Set([...output, ...items.slice(from).flatMap((it) => it.labels)]);
  items = items.map((it, i) =>
    sumAway(it, new Set([...output, ...items.filter((_, j) => j !== i).flatMap((o) => o.labels)])),
  );
  let result = items[0];
  for (let i = 1; i < items.length; i++) result = contract(result, items[i], needed(i + 1), sizes);
  result = sumAway(result, new Set(output));
  const expanded = result.tensor.expand(result.labels.map((l) => sizes.get(l) as number));
  return expanded.permute(output.map((l) => result.labels.indexOf(l)));
}

interface Labelled {
  tensor: Tensor;
  labels: string[];
}

/** Takes the diagonal for each letter repeated within one operand ('ii->i'). */
function diagonals(tensor: Tensor, labels: string[]): Labelled {
  let [t, ls] = [tensor, [...labels]];
  for (;;) {
    const i = ls.findIndex((l, k) => ls.indexOf(l) !== k);
    if (i < 0) return { tensor: t, labels: ls };
    const first = ls.indexOf(ls[i]);
    const n = t.shape[i];
    const mask = eye(n, n, { dtype: t.dtype }).reshape(
      t.shape.map((_, d) => (d === first || d === i ? n : 1)),
    );
    t = t.mul(mask).sum(i);
    ls = ls.filter((_, k) => k !== i);
  }
}

/** Sums away the dims whose letter is not in `keep`. */
function sumAway({ tensor, labels }: Labelled, keep: Set<string>): Labelled {
  const away = labels.map((l, d) => (keep.has(l) ? -1 : d)).filter((d) => d >= 0);
  if (away.length === 0) return { tensor, labels };
  return { tensor: tensor.sum(away), labels: labels.filter((l) => keep.has(l)) };
}

/** a times b over their shared letters, as one batched product [batch, m, k] @ [batch, k, n]. */
function contract(a: Labelled, b: Labelled, needed: Set<string>, sizes: Map<string, number>): Labelled {
  const shared = a.labels.filter((l) => b.labels.includes(l));
  const batch = shared.filter((l) => needed.has(l));
  const summed = shared.filter((l) => !needed.has(l));
  const aOnly = a.labels.filter((l) => !shared.includes(l));
  const bOnly = b.labels.filter((l) => !shared.includes(l));
  const size = (ls: string[]) => ls.reduce((p, l) => p * (sizes.get(l) as number), 1);
  const arrange = (x: Labelled, order: string[]) =>
    x.tensor.permute(order.map((l) => x.labels.indexOf(l))).expand(order.map((l) => sizes.get(l) as number));
  const left = arrange(a, [...batch, ...aOnly, ...summed]).reshape([size(batch), size(aOnly), size(summed)]);
  const right = arrange(b, [...batch, ...summed, ...bOnly]).reshape([size(batch), size(summed), size(bOnly)]);
  const labels = [...batch, ...aOnly, ...bOnly];
  const shape = labels.map((l) => sizes.get(l) as number);
  return { tensor: left.matmul(right).reshape(shape), labels };
}
