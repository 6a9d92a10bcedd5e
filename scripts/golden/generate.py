#!/usr/bin/env python3
"""Writes PyTorch golden values for agrad's composite functions.

Run with Debian's PyTorch (apt-get install python3-torch):
    /usr/bin/python3 scripts/golden/generate.py
For each case it stores the inputs, a fixed weight tensor w, the output f(inputs) and the
gradients of sum(f(inputs) * w) with respect to every float input, all in float64. The test
packages/autograd/test/golden.test.ts rebuilds the same function in agrad and compares.
CI never runs this script; it reads the committed JSON.
"""
import itertools
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(1234)
DT = torch.float64


def randn(*shape):
    return torch.randn(*shape, dtype=DT)


def positive(*shape):
    return torch.rand(*shape, dtype=DT) * 2 + 0.1


def away(*shape):
    # Values at least 0.1 away from 0 (and from each other in practice) so kinks are not hit.
    x = torch.randn(*shape, dtype=DT)
    return x + torch.sign(x) * 0.1


def index(high, *shape):
    return torch.randint(0, high, shape, dtype=torch.int32)


# A matrix with ties in every row and column.
TIES = torch.tensor([[1., 3., 3., 0.], [2., 2., 2., 5.], [4., 1., 4., 4.]], dtype=DT)

# name -> (inputs, function). Names match the table in golden.test.ts.
CASES = {
    'add_broadcast': ([randn(3, 4), randn(4)], lambda a, b: a + b),
    'sub_broadcast': ([randn(2, 1, 3), randn(4, 1)], lambda a, b: a - b),
    'mul_broadcast': ([randn(3, 1), randn(1, 5)], lambda a, b: a * b),
    'div': ([randn(3, 4), positive(3, 4)], lambda a, b: a / b),
    'pow_tensor': ([positive(3, 4), randn(3, 4)], lambda a, b: a ** b),
    'pow_scalar': ([randn(5)], lambda a: a ** 3),
    'exp': ([randn(2, 3)], torch.exp),
    'log': ([positive(2, 3)], torch.log),
    'log1p': ([positive(2, 3)], torch.log1p),
    'sqrt': ([positive(2, 3)], torch.sqrt),
    'abs': ([away(2, 3)], torch.abs),
    'sin_cos': ([randn(4)], lambda a: torch.sin(a) * torch.cos(a)),
    'tanh': ([randn(2, 3)], torch.tanh),
    'sigmoid': ([randn(2, 3) * 4], torch.sigmoid),
    'erf': ([randn(2, 3) * 2], torch.erf),
    'relu': ([away(2, 3)], torch.relu),
    'gelu': ([randn(2, 3) * 2], F.gelu),
    'silu': ([randn(2, 3) * 2], F.silu),
    'softplus': ([randn(2, 3) * 3], F.softplus),
    'leaky_relu': ([away(2, 3)], lambda a: F.leaky_relu(a, 0.2)),
    'clamp': ([away(3, 3)], lambda a: torch.clamp(a, -0.5, 0.5)),
    'maximum_minimum': ([randn(3, 4), randn(4)], lambda a, b: torch.maximum(a, b) * 2 + torch.minimum(a, b)),
    'matmul_2d': ([randn(3, 4), randn(4, 5)], torch.matmul),
    'matmul_batched_broadcast': ([randn(2, 1, 3, 4), randn(3, 4, 5)], torch.matmul),
    'matmul_vector_matrix': ([randn(4), randn(4, 5)], torch.matmul),
    'matmul_matrix_vector': ([randn(3, 4), randn(4)], torch.matmul),
    'matmul_dot': ([randn(4), randn(4)], torch.matmul),
    'sum_dim': ([randn(3, 4, 2)], lambda a: a.sum(dim=(0, 2))),
    'mean_keepdim': ([randn(3, 4)], lambda a: a.mean(dim=1, keepdim=True)),
    'max_dim': ([randn(3, 5)], lambda a: a.max(dim=1).values),
    'max_all': ([randn(3, 5)], lambda a: a.max()),
    'min_dim': ([randn(3, 5)], lambda a: a.amin(dim=0)),
    'var_dim': ([randn(3, 5)], lambda a: a.var(dim=1)),
    'std_keepdim': ([randn(4, 3)], lambda a: a.std(dim=0, keepdim=True)),
    'var_all': ([randn(6)], lambda a: a.var()),
    'logsumexp': ([randn(3, 4) * 3], lambda a: torch.logsumexp(a, dim=1)),
    'softmax': ([randn(3, 4) * 2], lambda a: torch.softmax(a, dim=-1)),
    'log_softmax': ([randn(3, 4) * 2], lambda a: torch.log_softmax(a, dim=0)),
    'shapes': ([randn(2, 3, 4)], lambda a: a.permute(2, 0, 1).reshape(4, 6).transpose(0, 1).narrow(0, 1, 4).unsqueeze(1).expand(4, 3, 4).flatten(1) * 1.5),
    'squeeze': ([randn(3, 1, 2)], lambda a: a.squeeze(1) * a.squeeze()),
    'gather': ([randn(3, 5), index(5, 3, 2)], lambda a, i: torch.gather(a, 1, i.long())),
    'index_select': ([randn(5, 3), index(5, 7)], lambda a, i: torch.index_select(a, 0, i.long())),
    'cat_stack': ([randn(2, 3), randn(4, 3)], lambda a, b: torch.cat([a, b], 0) * torch.stack([a.sum(0), b.sum(0)], 0).sum(0)),
    'where': ([randn(3, 4), randn(3, 4)], lambda a, b: torch.where(a > b, a * b, a - b)),
    'mlp_nll': ([randn(4, 3), randn(3, 5), randn(5), randn(5, 2), index(2, 4, 1)],
                lambda x, w1, b1, w2, y: -torch.log_softmax(torch.tanh(x @ w1 + b1) @ w2, dim=1).gather(1, y.long()).mean()),
    'normalize': ([randn(3, 6)], lambda x: (x - x.mean(dim=1, keepdim=True)) / torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + 1e-5)),
    'attention': ([randn(2, 3, 4), randn(2, 3, 4), randn(2, 3, 4)],
                  lambda q, k, v: torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(4), dim=-1) @ v),
    # torch.max/min with a dim send the gradient to the returned index, even among ties;
    # amax/amin share it between the ties. The indices ride along as floats.
    'max_min_dim_ties': ([TIES], lambda a: torch.cat([a.max(dim=1).values * 2, a.min(dim=0).values,
                                                      a.max(dim=1).indices.to(DT), a.min(dim=0).indices.to(DT)])),
    'max_dim_keepdim': ([randn(3, 4)], lambda a: a.max(dim=-1, keepdim=True).values * a),
    'amax_amin_ties': ([TIES], lambda a: a.amax(dim=1) * 2 + a.amin(dim=1)),
    'slice_step': ([randn(4, 7)], lambda a: a[1:, 1:6:2] * a[:3, ::3].sum()),
    'slice_negative': ([randn(5, 6)], lambda a: a[-3:-1, -5::2] * 2),
}

# Cases added later draw their inputs after every earlier case's weight (see main), so adding one
# leaves the earlier cases' values as they were.
LATE_CASES = {
    # Transposed (column-major) operands, whose gradients agrad computes in their own layout,
    # and a batch times one matrix (a linear layer on 3-D input), computed as one product.
    'matmul_transposed_operands': (lambda: [randn(4, 3), randn(5, 4)], lambda a, b: torch.matmul(a.t(), b.t())),
    'matmul_batch_by_transposed_matrix': (lambda: [randn(2, 3, 4), randn(5, 4)], lambda a, b: torch.matmul(a, b.t())),
    # Orderings, scatters and einsum. sort and topk return [values, indices], compared as one
    # vector: the values (which carry the gradient) then the indices as numbers.
    'cumsum_dim0': (lambda: [randn(5, 3)], lambda a: torch.cumsum(a, 0)),
    'cumsum_dim_last_3d': (lambda: [randn(2, 3, 7)], lambda a: torch.cumsum(a, -1)),
    'sort_ascending': (lambda: [randn(3, 6)], lambda a: sort_pair(torch.sort(a, 1))),
    'sort_descending_dim0': (lambda: [randn(5, 2, 3)], lambda a: sort_pair(torch.sort(a, 0, descending=True))),
    'topk_largest': (lambda: [randn(4, 7)], lambda a: sort_pair(torch.topk(a, 3, 1))),
    'topk_smallest_dim0': (lambda: [randn(6, 3)], lambda a: sort_pair(torch.topk(a, 2, 0, largest=False))),
    # src as large as index: torch 1.13's scatter_add backward fails for a larger src.
    'scatter_add_dim0': (lambda: [randn(4, 3), index(4, 6, 3), randn(6, 3)], lambda x, i, s: torch.scatter_add(x, 0, i.long(), s)),
    'scatter_add_dim1': (lambda: [randn(3, 5), index(5, 3, 4), randn(3, 4)], lambda x, i, s: torch.scatter_add(x, 1, i.long(), s)),
    'scatter_dim0': (lambda: [randn(4, 3), distinct_rows(4, 2, 3), randn(2, 3)], lambda x, i, s: torch.scatter(x, 0, i.long(), s)),
    'scatter_value_dim1': (lambda: [randn(3, 5), distinct_rows(5, 2, 3).t().contiguous()], lambda x, i: torch.scatter(x, 1, i.long(), 2.5)),
    'einsum_matmul': (lambda: [randn(2, 3), randn(3, 4)], lambda a, b: torch.einsum('ij,jk->ik', a, b)),
    'einsum_batched': (lambda: [randn(2, 3, 4), randn(2, 4, 5)], lambda a, b: torch.einsum('bij,bjk->bik', a, b)),
    'einsum_diagonal_trace': (lambda: [randn(4, 4)], lambda a: torch.cat([torch.einsum('ii->i', a), torch.einsum('ii', a).reshape(1)])),
    'einsum_outer_implicit': (lambda: [randn(3), randn(4)], lambda a, b: torch.einsum('i,j', a, b)),
    'einsum_three_operands': (lambda: [randn(2, 3), randn(3, 4), randn(4, 2)], lambda a, b, c: torch.einsum('ij,jk,kl->il', a, b, c)),
    'einsum_ellipsis_broadcast': (lambda: [randn(2, 1, 3, 4), randn(5, 4, 2)], lambda a, b: torch.einsum('...ij,...jk->...ik', a, b)),
    'einsum_sum_and_permute': (lambda: [randn(2, 3, 4)], lambda a: torch.einsum('ijk->kj', a)),
    'einsum_bilinear': (lambda: [randn(2, 3), randn(5, 3, 4), randn(2, 4)], lambda a, w, b: torch.einsum('bi,oij,bj->bo', a, w, b)),
}


def sort_pair(pair):
    values, indices = pair
    return torch.cat([values.reshape(-1), indices.to(DT).reshape(-1)])


def distinct_rows(high, rows, cols):
    # Per column, `rows` different indices below `high`: no position of a scatter written twice.
    return torch.rand(high, cols).argsort(0)[:rows].to(torch.int32)


def tolist(t):
    return t.detach().reshape(-1).tolist()


def main():
    out = {'generator': 'scripts/golden/generate.py', 'torch': torch.__version__, 'cases': {}}
    late = ((name, (make(), fn)) for name, (make, fn) in LATE_CASES.items())  # drawn as reached
    for name, (inputs, fn) in itertools.chain(CASES.items(), late):
        tracked = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
        y = fn(*tracked)
        w = torch.randn(y.shape, dtype=DT)
        (y * w).sum().backward()
        out['cases'][name] = {
            'inputs': [{'shape': list(x.shape), 'dtype': 'float64' if x.is_floating_point() else 'int32', 'data': tolist(x)} for x in inputs],
            'weight': {'shape': list(w.shape), 'data': tolist(w)},
            'output': {'shape': list(y.shape), 'data': tolist(y)},
            'grads': [tolist(x.grad) if x.is_floating_point() else None for x in tracked],
        }
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'packages', 'autograd', 'test', 'fixtures', 'golden.json')
    with open(path, 'w') as f:
        json.dump(out, f, indent=None, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {len(out["cases"])} cases to {os.path.normpath(path)}')


if __name__ == '__main__':
    main()
