#!/usr/bin/env python3
"""Writes optimizer trajectories from PyTorch for agrad's optimizer tests.

    /usr/bin/python3 scripts/golden/optim.py

One small float64 problem (a tanh layer fitted by squared error); every optimizer configuration
runs 6 steps from the same start, with and without AGR in front, and the parameters after each
step are stored. torch.optim supplies SGD, Adam, AdamW, RMSprop, Adagrad and RAdam; Adan follows
the official sail-sg/Adan algorithm and Lion its paper, both written out below because torch 1.13
has neither; NAdam is written out as torch 2's (torch 1.13's multiplies mu_product_next by an
extra mu_t, a bug fixed in torch 2.0). AGR is written out as the official AGR.py defines it. CI
only reads the JSON. New configurations go at the end of CONFIGS, so earlier runs stay as they are.
"""
import json
import os

import torch

torch.manual_seed(7)
DT = torch.float64
X = torch.randn(5, 3, dtype=DT)
Y = torch.randn(5, 4, dtype=DT)
W0 = torch.randn(3, 4, dtype=DT) * 0.5
B0 = torch.randn(4, dtype=DT) * 0.1
STEPS = 6


def loss_fn(w, b):
    return ((torch.tanh(X @ w + b) - Y) ** 2).mean() * 10


def agr_(p):
    # Official AGR: alpha = |g| / sum|g|;  g <- g - alpha * g
    g = p.grad
    alpha = g.abs() / g.abs().sum()
    p.grad = g - alpha * g


class Adan:
    """The official Adan update (sail-sg/Adan, adan.py), single tensor, restart and clip off."""

    def __init__(self, params, lr=1e-3, betas=(0.98, 0.92, 0.99), eps=1e-8, weight_decay=0.0, no_prox=False):
        self.params, self.lr, self.betas, self.eps, self.wd, self.no_prox = params, lr, betas, eps, weight_decay, no_prox
        self.state = {}

    @torch.no_grad()
    def step(self):
        b1, b2, b3 = self.betas
        for p in self.params:
            s = self.state.setdefault(id(p), {})
            if not s:
                s['step'] = 0
                s['m'] = torch.zeros_like(p)
                s['v'] = torch.zeros_like(p)
                s['n'] = torch.zeros_like(p)
                s['pre_grad'] = p.grad.clone()
            s['step'] += 1
            k = s['step']
            g = p.grad
            d = g - s['pre_grad']
            s['m'].mul_(b1).add_(g, alpha=1 - b1)
            s['v'].mul_(b2).add_(d, alpha=1 - b2)
            update = g + b2 * d
            s['n'].mul_(b3).addcmul_(update, update, value=1 - b3)
            denom = (s['n'].sqrt() / (1 - b3 ** k) ** 0.5).add_(self.eps)
            step = (s['m'] / (1 - b1 ** k) + b2 * s['v'] / (1 - b2 ** k)).div_(denom)
            if self.no_prox:
                p.mul_(1 - self.lr * self.wd)
                p.add_(step, alpha=-self.lr)
            else:
                p.add_(step, alpha=-self.lr)
                p.div_(1 + self.lr * self.wd)
            s['pre_grad'] = g.clone()


class Lion:
    """Lion (Chen et al., 2023): the update of the paper's Program 1."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        self.params, self.lr, self.betas, self.wd = params, lr, betas, weight_decay
        self.state = {}

    @torch.no_grad()
    def step(self):
        b1, b2 = self.betas
        for p in self.params:
            m = self.state.setdefault(id(p), torch.zeros_like(p))
            c = m * b1 + p.grad * (1 - b1)
            p.mul_(1 - self.lr * self.wd)
            p.add_(torch.sign(c), alpha=-self.lr)
            m.mul_(b2).add_(p.grad, alpha=1 - b2)


class NAdam:
    """torch 2's NAdam (_single_tensor_nadam, coupled weight decay), single tensor."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3):
        self.params, self.lr, self.betas, self.eps, self.wd, self.md = params, lr, betas, eps, weight_decay, momentum_decay
        self.state = {}

    @torch.no_grad()
    def step(self):
        b1, b2 = self.betas
        for p in self.params:
            s = self.state.setdefault(id(p), {})
            if not s:
                s.update(step=0, mu_product=1.0, m=torch.zeros_like(p), v=torch.zeros_like(p))
            s['step'] += 1
            t = s['step']
            g = p.grad if self.wd == 0 else p.grad.add(p, alpha=self.wd)
            mu = b1 * (1. - 0.5 * (0.96 ** (t * self.md)))
            mu_next = b1 * (1. - 0.5 * (0.96 ** ((t + 1) * self.md)))
            s['mu_product'] *= mu
            s['m'].mul_(b1).add_(g, alpha=1 - b1)
            s['v'].mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = s['v'].div(1 - b2 ** t).sqrt().add_(self.eps)
            mu_product_next = s['mu_product'] * mu_next
            p.addcdiv_(g, denom, value=-self.lr * (1. - mu) / (1. - s['mu_product']))
            p.addcdiv_(s['m'], denom, value=-self.lr * mu_next / (1. - mu_product_next))


def make(name, params, options):
    o = dict(options)
    rename = {'weightDecay': 'weight_decay', 'lrDecay': 'lr_decay', 'initialAccumulatorValue': 'initial_accumulator_value', 'noProx': 'no_prox',
              'momentumDecay': 'momentum_decay'}
    o = {rename.get(k, k): (tuple(v) if isinstance(v, list) else v) for k, v in o.items()}
    if name == 'sgd':
        return torch.optim.SGD(params, **o)
    if name == 'adam':
        return torch.optim.Adam(params, **o)
    if name == 'adamw':
        return torch.optim.AdamW(params, **o)
    if name == 'rmsprop':
        return torch.optim.RMSprop(params, **o)
    if name == 'adagrad':
        return torch.optim.Adagrad(params, **o)
    if name == 'adan':
        return Adan(params, **o)
    if name == 'lion':
        return Lion(params, **o)
    if name == 'nadam':
        return NAdam(params, **o)
    if name == 'radam':
        return torch.optim.RAdam(params, **o)
    raise ValueError(name)


CONFIGS = [
    ('sgd', {'lr': 0.1}),
    ('sgd', {'lr': 0.1, 'momentum': 0.9}),
    ('sgd', {'lr': 0.1, 'momentum': 0.9, 'nesterov': True, 'weightDecay': 0.01}),
    ('sgd', {'lr': 0.1, 'momentum': 0.5, 'dampening': 0.3, 'weightDecay': 0.05}),
    ('adam', {'lr': 0.01}),
    ('adam', {'lr': 0.01, 'betas': [0.8, 0.95], 'weightDecay': 0.1, 'amsgrad': True}),
    ('adamw', {'lr': 0.01}),
    ('adamw', {'lr': 0.01, 'weightDecay': 0.1, 'amsgrad': True, 'eps': 1e-6}),
    ('adan', {'lr': 0.01}),
    ('adan', {'lr': 0.01, 'weightDecay': 0.02}),
    ('adan', {'lr': 0.01, 'weightDecay': 0.02, 'noProx': True}),
    ('lion', {'lr': 0.001, 'weightDecay': 0.1}),
    ('rmsprop', {'lr': 0.01}),
    ('rmsprop', {'lr': 0.01, 'centered': True, 'momentum': 0.9, 'weightDecay': 0.01}),
    ('adagrad', {'lr': 0.1}),
    ('adagrad', {'lr': 0.1, 'lrDecay': 0.01, 'weightDecay': 0.01, 'initialAccumulatorValue': 0.1}),
    ('nadam', {'lr': 0.01}),
    ('nadam', {'lr': 0.01, 'betas': [0.8, 0.9], 'weightDecay': 0.1, 'momentumDecay': 0.01, 'eps': 1e-6}),
    # RAdam's rectification starts once rho_t > 5: at step 5 with the default betas, step 6 with (0.9, 0.9).
    ('radam', {'lr': 0.01}),
    ('radam', {'lr': 0.01, 'betas': [0.9, 0.9], 'weightDecay': 0.05, 'eps': 1e-6}),
]
# (agr, clip): without AGR, with AGR in front, and the paper's recipe: clip, then AGR.
VARIANTS = [(False, None), (True, None), (True, 0.5)]


def run(name, options, use_agr, clip):
    w = W0.clone().requires_grad_()
    b = B0.clone().requires_grad_()
    opt = make(name, [w, b], options)
    trajectory = []
    for _ in range(STEPS):
        w.grad = None
        b.grad = None
        loss_fn(w, b).backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_([w, b], clip)
        if use_agr:
            agr_(w)
            agr_(b)
        opt.step()
        trajectory.append({'weight': w.detach().reshape(-1).tolist(), 'bias': b.detach().reshape(-1).tolist()})
    return trajectory


def main():
    runs = []
    for name, options in CONFIGS:
        for use_agr, clip in VARIANTS:
            if clip is not None and name not in ('adamw', 'adan', 'sgd'):
                continue
            runs.append({'optimizer': name, 'options': options, 'agr': use_agr, 'clip': clip,
                         'trajectory': run(name, options, use_agr, clip)})
    out = {
        'generator': 'scripts/golden/optim.py', 'torch': torch.__version__, 'steps': STEPS,
        'problem': {'x': X.reshape(-1).tolist(), 'y': Y.reshape(-1).tolist(),
                    'weight': W0.reshape(-1).tolist(), 'bias': B0.reshape(-1).tolist()},
        'runs': runs,
    }
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'packages', 'optim', 'test', 'fixtures', 'trajectories.json')
    with open(path, 'w') as f:
        json.dump(out, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {len(runs)} runs to {os.path.normpath(path)}')


if __name__ == '__main__':
    main()
