#!/usr/bin/env python3
"""Writes learning-rate schedules and clip_grad_norm_ results from PyTorch for agrad's tests.

    /usr/bin/python3 scripts/golden/schedules.py

Schedules: torch.optim.lr_scheduler's OneCycleLR (cycle_momentum off: agrad schedules only the
learning rate), LinearLR, ExponentialLR and StepLR on a one-parameter SGD; the learning rate each step
uses is stored, as agrad's schedules give it at steps 0, 1, ... Clipping:
torch.nn.utils.clip_grad_norm_ on float64 gradients, the total norm it returns and the gradients
after. CI only reads the JSON.
"""
import math

import torch
from fixture import write_fixture

torch.manual_seed(11)


def rates(make_scheduler, steps, lr=0.1):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    scheduler = make_scheduler(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]['lr'])
        opt.step()
        scheduler.step()
    return out


ONE_CYCLE = [
    {'maxLr': 0.1, 'totalSteps': 20},
    {'maxLr': 0.5, 'totalSteps': 37, 'pctStart': 0.25, 'annealStrategy': 'linear', 'divFactor': 10, 'finalDivFactor': 100},
    {'maxLr': 0.2, 'totalSteps': 30, 'threePhase': True},
    {'maxLr': 1.0, 'totalSteps': 50, 'pctStart': 0.4, 'threePhase': True, 'annealStrategy': 'linear'},
]


def one_cycle(o):
    def make(opt):
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=o['maxLr'], total_steps=o['totalSteps'], pct_start=o.get('pctStart', 0.3),
            anneal_strategy=o.get('annealStrategy', 'cos'), div_factor=o.get('divFactor', 25.0),
            final_div_factor=o.get('finalDivFactor', 1e4), three_phase=o.get('threePhase', False),
            cycle_momentum=False)
    return {'options': o, 'rates': rates(make, o['totalSteps'])}


LINEAR = [{'init': 0.1}, {'init': 0.5, 'startFactor': 0.1, 'endFactor': 0.9, 'totalIters': 7}]
EXPONENTIAL = [{'init': 0.1, 'gamma': 0.9}, {'init': 2.0, 'gamma': 0.5}]
STEP = [{'init': 0.1, 'stepSize': 3}, {'init': 1.0, 'stepSize': 2, 'gamma': 0.5}]


def clip_case(shapes, max_norm, norm_type, scale=1.0):
    grads = [torch.randn(*s, dtype=torch.float64) * scale for s in shapes]
    params = []
    for g in grads:
        p = torch.zeros_like(g, requires_grad=True)
        p.grad = g.clone()
        params.append(p)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    return {
        'shapes': [list(s) for s in shapes], 'maxNorm': max_norm,
        'normType': 'inf' if math.isinf(norm_type) else norm_type,
        'grads': [g.reshape(-1).tolist() for g in grads],
        'total': total.item(), 'clipped': [p.grad.reshape(-1).tolist() for p in params],
    }


def main():
    out = {
        'generator': 'scripts/golden/schedules.py', 'torch': torch.__version__,
        'oneCycle': [one_cycle(o) for o in ONE_CYCLE],
        'linearLR': [{'options': o, 'rates': rates(lambda opt, o=o: torch.optim.lr_scheduler.LinearLR(
            opt, start_factor=o.get('startFactor', 1 / 3), end_factor=o.get('endFactor', 1.0),
            total_iters=o.get('totalIters', 5)), 12, o['init'])} for o in LINEAR],
        'exponentialLR': [{'options': o, 'rates': rates(lambda opt, o=o: torch.optim.lr_scheduler.ExponentialLR(
            opt, gamma=o['gamma']), 12, o['init'])} for o in EXPONENTIAL],
        'stepLR': [{'options': o, 'rates': rates(lambda opt, o=o: torch.optim.lr_scheduler.StepLR(
            opt, step_size=o['stepSize'], gamma=o.get('gamma', 0.1)), 12, o['init'])} for o in STEP],
        'clipGradNorm': [
            clip_case([(3, 4), (4,)], 1.0, 2.0),
            clip_case([(3, 4), (4,)], 100.0, 2.0),  # under the limit: unchanged (coef 1)
            clip_case([(2, 5), (7,), (1,)], 0.5, float('inf')),
            clip_case([(6,), (2, 2)], 0.3, 1.0),
            clip_case([(5,), (3, 3)], 0.2, 3.0, scale=4.0),
        ],
    }
    write_fixture(out, 'optim', 'schedules.json')


if __name__ == '__main__':
    main()
