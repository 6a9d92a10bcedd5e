#!/usr/bin/env python3
"""Writes torch.utils.data results for agrad's DataLoader and randomSplit tests.

    /usr/bin/python3 scripts/golden/data.py

Unshuffled DataLoader batches over a TensorDataset (batch sizes, drop_last, the rows in each
batch), and the subset sizes random_split gives for fractions (agrad draws its own permutation,
so only the sizes are compared). CI only reads the JSON.
"""

import torch
from torch.utils.data import DataLoader, TensorDataset, random_split
from fixture import write_fixture

LOADERS = [(10, 4, False), (10, 4, True), (7, 7, False), (7, 8, True), (5, 1, False)]
SPLITS = [(11, [0.3, 0.3, 0.4]), (5, [0.5, 0.5]), (7, [0.1] * 10), (10, [3, 7]), (9, [1 / 3] * 3), (4, [0.25, 0.75])]


def main():
    loaders = []
    for n, batch_size, drop_last in LOADERS:
        x = torch.arange(n * 2, dtype=torch.float64).reshape(n, 2)
        y = torch.arange(n, dtype=torch.int32) * 10
        batches = [{'x': bx.reshape(-1).tolist(), 'xShape': list(bx.shape), 'y': by.tolist()}
                   for bx, by in DataLoader(TensorDataset(x, y), batch_size=batch_size, drop_last=drop_last)]
        loaders.append({'n': n, 'batchSize': batch_size, 'dropLast': drop_last, 'batches': batches})
    splits = [{'n': n, 'lengths': lengths, 'sizes': [len(s) for s in random_split(range(n), lengths)]}
              for n, lengths in SPLITS]
    out = {'generator': 'scripts/golden/data.py', 'torch': torch.__version__, 'loaders': loaders, 'splits': splits}
    write_fixture(out, 'nn', 'data.json')


if __name__ == '__main__':
    main()
