#!/usr/bin/env python3
"""Safetensors interop with PyTorch, both directions.

    PYTHONPATH=<dir with safetensors> /usr/bin/python3 scripts/golden/safetensors_interop.py write
        writes packages/nn/test/fixtures/torch-written.safetensors with safetensors.torch.save_file
        (values are arange-based so the test can recompute them)
    ... safetensors_interop.py check FILE
        loads a file written by agrad with safetensors.torch.load_file and checks the same values

Debian has no python3-safetensors; `pip install --target DIR safetensors` provides it.
"""
import os
import sys

import torch
from safetensors.torch import load_file, save_file

FIXTURE = os.path.join(os.path.dirname(__file__), '..', '..', 'packages', 'nn', 'test', 'fixtures', 'torch-written.safetensors')


def tensors():
    return {
        'linear.weight': torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8,
        'linear.bias': torch.arange(3, dtype=torch.float64) - 1.5,
        'bn.num_batches_tracked': torch.tensor(7, dtype=torch.int64),
        'mask': torch.tensor([True, False, True]),
        'half': torch.tensor([0.5, -2.0, 65504.0], dtype=torch.float16),
        'bhalf': torch.tensor([1.0, -0.375, 3.0e38], dtype=torch.bfloat16),
        'ids': torch.tensor([[1, 2], [3, -4]], dtype=torch.int32),
    }


def main():
    if sys.argv[1] == 'write':
        save_file(tensors(), FIXTURE, metadata={'written_by': 'safetensors.torch', 'step': '7'})
        print('wrote', os.path.normpath(FIXTURE))
    else:
        loaded = load_file(sys.argv[2])
        expected = {
            'weight': torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8,
            'bias': torch.arange(3, dtype=torch.float64) - 1.5,
            'count': torch.tensor(7, dtype=torch.int32),
            'mask': torch.tensor([True, False, True]),
        }
        for name, value in expected.items():
            assert loaded[name].dtype == value.dtype, (name, loaded[name].dtype, value.dtype)
            assert torch.equal(loaded[name], value), (name, loaded[name], value)
        print('PyTorch read', sys.argv[2], 'correctly:', {k: (str(v.dtype), list(v.shape)) for k, v in loaded.items()})


if __name__ == '__main__':
    main()
