#!/usr/bin/env python3
"""Writes PyTorch golden values for agrad's layers and losses.

    /usr/bin/python3 scripts/golden/nn.py

For each case: the module's state dict before the call (which agrad loads as is, so this also
checks that agrad's state-dict keys are PyTorch's), the inputs, the output, the gradients of
sum(output * w) for every float input and parameter, and the state dict after the call (running
statistics). Float64 throughout. RMSNorm and scaled_dot_product_attention are written out,
torch 1.13 has neither. CI only reads the JSON.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

DT = torch.float64


def rms_norm(x, weight, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * weight


class RMSNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(dim, dtype=DT))

    def forward(self, x):
        return rms_norm(x, self.weight, torch.finfo(x.dtype).eps)


class Fn(nn.Module):
    """A parameter-free function as a module."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def sdpa(q, k, v, mask=None, causal=False):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        scores = scores.masked_fill(~torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril(), float('-inf'))
    if mask is not None:
        scores = scores.masked_fill(~mask, float('-inf'))
    return torch.softmax(scores, -1) @ v


def randomize(module):
    # Norm layers start at weight 1, bias 0; random values make the gradient test meaningful.
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith('bias') or 'norm' in name or isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)):
                p.copy_(torch.randn_like(p) * 0.5 + (1 if name.endswith('weight') else 0))
    return module


def f(*shape):
    return ('float', list(shape))


def ties(*shape):
    return ('ties', list(shape))


def ids(high, *shape):
    return ('int', high, list(shape))


def flag(values):
    return ('bool', values)


# name -> (module factory, inputs, train mode, extra)
CASES = {
    'linear': (lambda: nn.Linear(4, 3), [f(2, 4)], True),
    'linear_no_bias_3d': (lambda: nn.Linear(4, 3, bias=False), [f(2, 5, 4)], True),
    'conv2d': (lambda: nn.Conv2d(2, 4, 3, padding=1), [f(2, 2, 5, 5)], True),
    'conv2d_strided_grouped': (lambda: nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2), [f(1, 4, 7, 6)], True),
    'conv2d_no_bias': (lambda: nn.Conv2d(3, 2, 1, bias=False), [f(2, 3, 3, 4)], True),
    'maxpool2d': (lambda: nn.MaxPool2d(2), [f(2, 3, 4, 4)], True),
    'maxpool2d_padded': (lambda: nn.MaxPool2d(3, stride=2, padding=1), [f(1, 2, 7, 7)], True),
    'avgpool2d': (lambda: nn.AvgPool2d(2), [f(2, 3, 4, 4)], True),
    'avgpool2d_padded': (lambda: nn.AvgPool2d(3, stride=2, padding=1), [f(1, 2, 7, 7)], True),
    'batchnorm1d_train': (lambda: randomize(nn.BatchNorm1d(3)), [f(4, 3)], True),
    'batchnorm1d_train_3d': (lambda: randomize(nn.BatchNorm1d(3)), [f(4, 3, 5)], True),
    'batchnorm2d_train': (lambda: randomize(nn.BatchNorm2d(3)), [f(2, 3, 4, 4)], True),
    'batchnorm2d_eval': (lambda: randomize(nn.BatchNorm2d(3)), [f(2, 3, 4, 4)], False),
    'layernorm': (lambda: randomize(nn.LayerNorm([3, 4])), [f(2, 3, 4)], True),
    'rmsnorm': (lambda: RMSNorm(4), [f(2, 3, 4)], True),
    'groupnorm': (lambda: randomize(nn.GroupNorm(2, 4)), [f(2, 4, 3, 3)], True),
    'embedding': (lambda: nn.Embedding(10, 4), [ids(10, 2, 3)], True),
    'embedding_padding': (lambda: nn.Embedding(10, 4, padding_idx=0), [('int_values', [[0, 3, 0], [5, 0, 9]])], True),
    'multihead_attention': (lambda: randomize(nn.MultiheadAttention(8, 2)), [f(3, 2, 8)], True),
    'multihead_attention_masked': (lambda: randomize(nn.MultiheadAttention(8, 2, batch_first=True)),
                                   [f(2, 4, 8), flag([[False, True, True, True], [False, False, True, True], [False, False, False, True], [False, False, False, False]]),
                                    flag([[False, False, False, True], [False, False, False, False]])], True),
    'transformer_prenorm': (lambda: randomize(nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, norm_first=True, batch_first=True)), [f(2, 3, 8)], True),
    'transformer_postnorm_gelu': (lambda: randomize(nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation='gelu')), [f(3, 2, 8)], True),
    'sequential_mlp': (lambda: nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3), nn.Tanh()), [f(3, 4)], True),
    'activations': (lambda: nn.Sequential(nn.GELU(), nn.SiLU(), nn.LeakyReLU(0.2), nn.Softplus(), nn.Sigmoid()), [f(2, 5)], True),
    'sdpa_causal': (lambda: Fn(lambda q, k, v: sdpa(q, k, v, causal=True)), [f(2, 3, 4), f(2, 3, 4), f(2, 3, 4)], True),
    'sdpa_mask': (lambda: Fn(lambda q, k, v, m: sdpa(q, k, v, mask=m)), [f(2, 3, 4), f(2, 5, 4), f(2, 5, 4), flag([[True, True, False, True, False], [True, False, True, True, True], [False, True, True, True, True]])], True),
    'cross_entropy': (lambda: Fn(lambda x, t: F.cross_entropy(x, t.long())), [f(4, 5), ids(5, 4)], True),
    'cross_entropy_smoothing_ignore': (lambda: Fn(lambda x, t: F.cross_entropy(x, t.long(), label_smoothing=0.1, ignore_index=-100)),
                                       [f(4, 5), ('int_values', [1, -100, 4, 0])], True),
    'cross_entropy_spatial_sum': (lambda: Fn(lambda x, t: F.cross_entropy(x, t.long(), reduction='sum')), [f(2, 3, 4), ids(3, 2, 4)], True),
    'cross_entropy_none': (lambda: Fn(lambda x, t: F.cross_entropy(x, t.long(), reduction='none', label_smoothing=0.2)), [f(3, 4), ids(4, 3)], True),
    'nll_loss': (lambda: Fn(lambda x, t: F.nll_loss(torch.log_softmax(x, 1), t.long())), [f(4, 3), ids(3, 4)], True),
    'mse_loss': (lambda: Fn(lambda x, y: F.mse_loss(x, y)), [f(3, 4), f(3, 4)], True),
    'l1_loss_sum': (lambda: Fn(lambda x, y: F.l1_loss(x, y, reduction='sum')), [f(3, 4), f(3, 4)], True),
    'bce_with_logits': (lambda: Fn(lambda x, y: F.binary_cross_entropy_with_logits(x * 3, torch.sigmoid(y))), [f(3, 4), f(3, 4)], True),
    'bce_with_logits_pos_weight': (lambda: Fn(lambda x, y, w: F.binary_cross_entropy_with_logits(x * 3, torch.sigmoid(y), pos_weight=w.abs().detach(), reduction='none')), [f(3, 4), f(3, 4), f(4)], True),
    # A pretrained table whose padding row is not zero: forward returns the row, its gradient is 0.
    'embedding_padding_pretrained': (lambda: pretrained_embedding(), [('int_values', [[2, 3, 2], [5, 0, 9]])], True),
    'cross_entropy_weighted': (lambda: Fn(lambda x, t: F.cross_entropy(x, t.long(), weight=CLASS_WEIGHT)), [f(6, 5), ids(5, 6)], True),
    'cross_entropy_weighted_smoothing_ignore': (lambda: Fn(lambda x, t: F.cross_entropy(x, t.long(), weight=CLASS_WEIGHT, label_smoothing=0.1, ignore_index=3)),
                                                [f(6, 5), ('int_values', [1, 3, 4, 0, 3, 2])], True),
    'cross_entropy_weighted_spatial_none': (lambda: Fn(lambda x, t: F.cross_entropy(x, t.long(), weight=CLASS_WEIGHT, reduction='none', label_smoothing=0.2)),
                                            [f(2, 5, 3), ids(5, 2, 3)], True),
    'nll_loss_weighted_sum': (lambda: Fn(lambda x, t: F.nll_loss(torch.log_softmax(x, 1), t.long(), weight=CLASS_WEIGHT, reduction='sum', ignore_index=0)),
                              [f(5, 5), ('int_values', [0, 1, 4, 0, 2])], True),
    'maxpool2d_ceil': (lambda: nn.MaxPool2d(3, stride=2, ceil_mode=True), [f(1, 2, 6, 6)], True),
    'maxpool2d_ceil_padded_dilated': (lambda: nn.MaxPool2d(2, stride=2, padding=1, dilation=2, ceil_mode=True), [f(1, 2, 6, 7)], True),
    'avgpool2d_ceil': (lambda: nn.AvgPool2d(3, stride=2, ceil_mode=True), [f(1, 2, 6, 6)], True),
    'avgpool2d_exclude_pad': (lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), [f(1, 2, 7, 7)], True),
    'avgpool2d_ceil_padded': (lambda: nn.AvgPool2d(2, stride=2, padding=1, ceil_mode=True), [f(1, 2, 6, 5)], True),
    'avgpool2d_ceil_padded_exclude': (lambda: nn.AvgPool2d(2, stride=2, padding=1, ceil_mode=True, count_include_pad=False), [f(1, 2, 6, 5)], True),
    'avgpool2d_divisor': (lambda: nn.AvgPool2d((2, 3), stride=(1, 2), divisor_override=4), [f(2, 1, 4, 6)], True),
    'pad': (lambda: Fn(lambda x: F.pad(x, (1, 2, 0, -1, 2, 0), value=0.5)), [f(2, 3, 4, 3)], True),
    'conv2d_same': (lambda: nn.Conv2d(2, 3, (2, 3), padding='same', dilation=(1, 2)), [f(2, 2, 5, 6)], True),
    'conv2d_valid': (lambda: nn.Conv2d(2, 3, 3, padding='valid'), [f(1, 2, 5, 4)], True),
    # momentum=None: running statistics are the plain average of every batch (here after 3).
    'batchnorm1d_cumulative': (lambda: cumulative_batchnorm(), [f(4, 3)], True),
    # Few distinct values: windows hold ties, and the gradient must go to the first maximum.
    'maxpool2d_ties_overlapping': (lambda: nn.MaxPool2d(3, stride=1, padding=1), [ties(2, 2, 5, 6)], True),
    'maxpool2d_ties_ceil_dilated': (lambda: nn.MaxPool2d(2, stride=2, padding=1, dilation=2, ceil_mode=True), [ties(1, 3, 7, 6)], True),
    # Recurrent layers: the output is [output, h_n(, c_n)] flattened and concatenated.
    'lstm': (lambda: nn.LSTM(3, 4), [f(5, 2, 3)], True),
    'lstm_stacked_bidirectional_batch_first_state': (lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True),
                                                     [f(2, 5, 3), f(4, 2, 4), f(4, 2, 4)], True),
    'lstm_unbatched_no_bias': (lambda: nn.LSTM(3, 2, bias=False), [f(4, 3)], True),
    'gru': (lambda: nn.GRU(3, 4), [f(5, 2, 3)], True),
    'gru_stacked_bidirectional_batch_first_state': (lambda: nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True),
                                                    [f(2, 5, 3), f(4, 2, 4)], True),
    'gru_unbatched_state': (lambda: nn.GRU(2, 3, num_layers=3), [f(6, 2), f(3, 3)], True),
    'conv1d': (lambda: nn.Conv1d(2, 4, 3, padding=1), [f(2, 2, 7)], True),
    'conv1d_strided_grouped_dilated': (lambda: nn.Conv1d(4, 6, 3, stride=2, dilation=2, groups=2, bias=False), [f(1, 4, 11)], True),
    'conv1d_same_unbatched': (lambda: nn.Conv1d(3, 2, 4, padding='same'), [f(3, 9)], True),
    'adaptive_avgpool2d': (lambda: nn.AdaptiveAvgPool2d((3, 2)), [f(2, 3, 7, 5)], True),
    'adaptive_avgpool2d_none_unbatched': (lambda: nn.AdaptiveAvgPool2d((None, 4)), [f(2, 5, 9)], True),
    'adaptive_avgpool2d_global': (lambda: nn.AdaptiveAvgPool2d(1), [f(2, 3, 4, 6)], True),
    'upsample_nearest_2x': (lambda: nn.Upsample(scale_factor=2, mode='nearest'), [f(1, 2, 3, 4)], True),
    'upsample_nearest_size': (lambda: nn.Upsample(size=(5, 7), mode='nearest'), [f(2, 1, 3, 4)], True),
    'upsample_nearest_fraction': (lambda: Fn(lambda x: F.interpolate(x, scale_factor=(1.5, 0.75), mode='nearest')), [f(1, 2, 4, 6)], True),
    'upsample_bilinear': (lambda: nn.Upsample(scale_factor=2, mode='bilinear'), [f(1, 2, 3, 4)], True),
    'upsample_bilinear_align_corners': (lambda: nn.Upsample(size=(5, 3), mode='bilinear', align_corners=True), [f(2, 1, 4, 4)], True),
    'upsample_bilinear_down_unbatched': (lambda: Fn(lambda x: F.interpolate(x.unsqueeze(0), size=(2, 5), mode='bilinear').squeeze(0)), [f(2, 5, 7)], True),
    'conv_transpose2d': (lambda: nn.ConvTranspose2d(2, 3, 3), [f(2, 2, 4, 5)], True),
    'conv_transpose2d_strided_padded_output_padding': (lambda: nn.ConvTranspose2d(3, 2, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2)),
                                                       [f(1, 3, 3, 4)], True),
    'conv_transpose2d_grouped_dilated_no_bias': (lambda: nn.ConvTranspose2d(4, 6, 2, stride=2, dilation=2, groups=2, bias=False), [f(2, 4, 3, 3)], True),
    'conv_transpose2d_unbatched': (lambda: nn.ConvTranspose2d(2, 2, 2, stride=2), [f(2, 3, 3)], True),
}


def cumulative_batchnorm():
    module = randomize(nn.BatchNorm1d(3, momentum=None)).to(DT)
    with torch.no_grad():
        module.running_mean.copy_(torch.randn(3, dtype=DT))
        module.running_var.copy_(torch.rand(3, dtype=DT) + 0.5)
        module.num_batches_tracked.fill_(2)
    return module

# Class weights for the weighted losses (not trained: PyTorch has no gradient for them).
CLASS_WEIGHT = torch.tensor([0.5, 1.0, 2.0, 0.25, 1.5], dtype=DT)


def pretrained_embedding():
    module = nn.Embedding(10, 4, padding_idx=2)
    with torch.no_grad():
        module.weight.copy_(torch.randn(10, 4))
    return module


def make_input(spec):
    kind = spec[0]
    if kind == 'float':
        return torch.randn(*spec[1], dtype=DT)
    if kind == 'ties':
        return torch.randint(0, 3, spec[1]).to(DT)
    if kind == 'int':
        return torch.randint(0, spec[1], spec[2], dtype=torch.int32)
    if kind == 'int_values':
        return torch.tensor(spec[1], dtype=torch.int32)
    return torch.tensor(spec[1], dtype=torch.bool)


def encode(t):
    dtype = {torch.float64: 'float64', torch.int32: 'int32', torch.int64: 'int32', torch.bool: 'bool'}[t.dtype]
    return {'shape': list(t.shape), 'dtype': dtype, 'data': t.detach().reshape(-1).to(torch.float64 if dtype != 'bool' else torch.int32).tolist()}


def call(name, module, xs):
    if name.startswith('multihead_attention'):
        if len(xs) == 3:
            out, weights = module(xs[0], xs[0], xs[0], attn_mask=xs[1], key_padding_mask=xs[2])
        else:
            out, weights = module(xs[0], xs[0], xs[0])
        return torch.cat([out.reshape(-1), weights.reshape(-1)])
    if name.startswith('lstm'):
        out, (h, c) = module(xs[0], (xs[1], xs[2])) if len(xs) == 3 else module(xs[0])
        return torch.cat([out.reshape(-1), h.reshape(-1), c.reshape(-1)])
    if name.startswith('gru'):
        out, h = module(xs[0], xs[1]) if len(xs) == 2 else module(xs[0])
        return torch.cat([out.reshape(-1), h.reshape(-1)])
    return module(*xs)


def main():
    torch.manual_seed(2024)
    cases = {}
    for name, (factory, specs, train) in CASES.items():
        module = factory().to(DT)
        module.train(train)
        if name == 'batchnorm2d_eval':
            with torch.no_grad():
                module.running_mean.copy_(torch.randn(3, dtype=DT))
                module.running_var.copy_(torch.rand(3, dtype=DT) + 0.5)
        before = {k: encode(v) for k, v in module.state_dict().items()}
        xs = [make_input(s) for s in specs]
        for x in xs:
            if x.is_floating_point():
                x.requires_grad_()
        y = call(name, module, xs)
        w = torch.randn(y.shape, dtype=DT)
        (y * w).sum().backward()
        cases[name] = {
            'train': train,
            'state_before': before,
            'inputs': [encode(x) for x in xs],
            'output': encode(y),
            'weight': encode(w),
            'input_grads': [x.grad.reshape(-1).tolist() if x.grad is not None else None for x in xs],
            'param_grads': {k: p.grad.reshape(-1).tolist() for k, p in module.named_parameters() if p.grad is not None},
            'state_after': {k: encode(v) for k, v in module.state_dict().items()},
        }
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'packages', 'nn', 'test', 'fixtures', 'layers.json')
    with open(path, 'w') as fh:
        json.dump({'generator': 'scripts/golden/nn.py', 'torch': torch.__version__, 'cases': cases}, fh, separators=(',', ':'))
        fh.write('\n')
    print(f'wrote {len(cases)} cases to {os.path.normpath(path)}')


if __name__ == '__main__':
    main()
