#!/usr/bin/env python3
"""Writes how PyTorch prints tensors and modules, for agrad's toString() to match.

    /usr/bin/python3 scripts/golden/printing.py

Tensors: each case stores the values (as float64, exact for float32), shape, dtype and whether
the tensor requires grad (or is the output of `* 2` on one that does, for grad_fn), and the
repr PyTorch prints. agrad names dtypes without 'torch.', and its default integer type is
int32 where PyTorch's is int64, so integer cases are built as int64 here and int32 there (neither
prints a dtype). Modules: the repr of each module in the table, built the same way in
packages/autograd/test/printing.test.ts and packages/nn/test/printing.test.ts.
CI only reads the JSON.
"""
import json
import math
import os

import torch
import torch.nn as nn

torch.manual_seed(7)


def values(t):
    # JSON has no NaN or infinity: those travel as the strings 'nan', 'inf', '-inf'.
    out = t.detach().reshape(-1).to(torch.float64).tolist()
    return [v if math.isfinite(v) else str(v) for v in out]


TENSORS = {
    'four_decimals_requires_grad': lambda: torch.tensor([[0.12345, 2.0]], requires_grad=True),
    'integral_floats': lambda: torch.tensor([1.0, 2.0, 3.0]),
    'scientific_spread': lambda: torch.tensor([1e-5, 1.0, 1000.0]),
    'scientific_large': lambda: torch.tensor([1.5e10, -2.25, 3.0]),
    'scientific_integral': lambda: torch.tensor([1e9, 1.0, -7.0]),
    'summarised_matrix': lambda: torch.randn(40, 40) * 3,
    'summarised_5d': lambda: torch.randn(2, 3, 4, 5, 10),
    'wrapped_vector': lambda: torch.randn(30) * 100,
    'long_vector_summarised': lambda: torch.arange(2000, dtype=torch.float32) / 7,
    'integers': lambda: torch.tensor([[1, -20, 300], [4, 5, 6]], dtype=torch.int64),
    'integers_summarised': lambda: torch.arange(3000, dtype=torch.int64).reshape(30, 100),
    'booleans': lambda: torch.tensor([[True, False], [False, True]]),
    'float64': lambda: torch.tensor([0.5, -1.25], dtype=torch.float64),
    'float64_requires_grad': lambda: torch.tensor([[1.0, 2.0]], dtype=torch.float64, requires_grad=True),
    'empty_matrix': lambda: torch.zeros(0, 3),
    'empty_vector_float64': lambda: torch.zeros(0, dtype=torch.float64),
    'scalar': lambda: torch.tensor(3.5),
    'scalar_integral': lambda: torch.tensor(-2.0),
    'non_finite': lambda: torch.tensor([float('nan'), float('inf'), float('-inf'), 1.5]),
    'non_finite_integral': lambda: torch.tensor([float('nan'), 2.0, float('-inf')]),
    'only_non_finite': lambda: torch.tensor([float('nan'), float('inf')]),
    'zeros': lambda: torch.zeros(2, 3),
    'negative_zero': lambda: torch.tensor([-0.0, 1.0]),
    'ties_round_half_even': lambda: torch.tensor([0.03125, 0.09375, 2.5, -0.15625]),
    'float32_rounding': lambda: torch.tensor([0.1, 1 / 3, 2 / 3]),
    'three_dims': lambda: torch.randn(2, 3, 4),
    'tiny': lambda: torch.tensor([1e-30, 5e-45]),
    'grad_fn': lambda: torch.tensor([1.0, 2.5], requires_grad=True),
    'suffix_wraps': lambda: torch.randn(11) * 1e5 + 1e6,
}

# Cases whose printed tensor is the leaf times 2 (to show grad_fn).
DOUBLED = {'grad_fn', 'suffix_wraps'}

class M(nn.Module):
    """Sub-modules assigned as attributes register themselves, in assignment order."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 2)
        self.scale = nn.Parameter(torch.ones(1))


MODULES = {
    'class_fields': M,
    'cnn': lambda: nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 14 * 14, 10)),
    'norms': lambda: nn.Sequential(nn.BatchNorm2d(8), nn.BatchNorm1d(4, momentum=None, affine=False), nn.LayerNorm(64),
                                   nn.LayerNorm([3, 4], eps=1e-6, elementwise_affine=False), nn.GroupNorm(2, 4)),
    'layers': lambda: nn.Sequential(nn.Dropout(0.1), nn.Embedding(10, 3, padding_idx=0), nn.Embedding(5, 2), nn.GELU(),
                                    nn.LeakyReLU(0.2), nn.Softmax(dim=1), nn.LogSoftmax(dim=-1), nn.Tanh(), nn.Sigmoid(),
                                    nn.SiLU(), nn.Identity(), nn.Linear(3, 2, bias=False)),
    'convs_and_pools': lambda: nn.Sequential(
        nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2, bias=False),
        nn.Conv2d(2, 3, 3, padding='same'), nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
        nn.MaxPool2d((2, 3)), nn.AvgPool2d(2), nn.AvgPool2d(3, stride=1, padding=1)),
    'nested': lambda: nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), nn.ModuleList([nn.Linear(2, 1)])),
    'empty_sequential': lambda: nn.Sequential(),
}


def main():
    tensors = {}
    for name, make in TENSORS.items():
        leaf = make()
        shown = leaf * 2 if name in DOUBLED else leaf
        tensors[name] = {
            'values': values(leaf),
            'shape': list(leaf.shape),
            'dtype': {torch.float32: 'float32', torch.float64: 'float64', torch.int64: 'int32', torch.bool: 'bool'}[leaf.dtype],
            'requires_grad': leaf.requires_grad,
            'doubled': name in DOUBLED,
            'expected': repr(shown).replace('torch.float64', 'float64'),
        }
    modules = {name: repr(make()) for name, make in MODULES.items()}
    parameter = repr(nn.Parameter(torch.tensor([1.0, 2.0])))
    header = {'generator': 'scripts/golden/printing.py', 'torch': torch.__version__}
    write('autograd', {**header, 'tensors': tensors})
    write('nn', {**header, 'parameter': parameter, 'modules': modules})


def write(package, content):
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'packages', package, 'test', 'fixtures', 'printing.json')
    with open(path, 'w') as fh:
        json.dump(content, fh, indent=1, allow_nan=False)
        fh.write('\n')
    print(f'wrote {os.path.normpath(path)}')


if __name__ == '__main__':
    main()
