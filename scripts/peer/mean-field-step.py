#!/usr/bin/env python3
"""The peer for scripts/bench-meanfield.mjs: dfq's mean-field (pmf) distillation step in PyTorch on the
CPU, on the problem dfq wrote (folded graph, initial weight and activation quantizers, images).

Per step: teacher forward (float, taps at every weighted layer), each weight's expected value under
softmax(beta * scores) over its grid levels times its channel's scale, student forward with every
quantized activation fake-quantized (clipped straight-through gradient), KL at temperature T plus the
relative feature MSE of every weighted layer, backward, Adam on the scores (lr) and on log-scales and
biases (lr / 10). Prints one JSON object. Run with Debian's python3-torch:
  /usr/bin/python3 scripts/peer/mean-field-step.py <problem dir> <steps> <threads>
"""
import json
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

problem_dir, steps, threads = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(1)
p = json.loads((problem_dir / 'problem.json').read_text())
nodes, opts = p['nodes'], p['options']
n, h, w, c = p['imageShape']
images = torch.from_numpy(np.fromfile(problem_dir / 'images.f32', dtype=np.float32).reshape(n, h, w, c)).permute(0, 3, 1, 2).contiguous()


def tf_same_pad(x, kernel, stride, dilation):
    """TF's SAME padding (the odd pixel at the end) for an NCHW tensor."""
    pads = []
    for size, k, s, d in zip(x.shape[2:], kernel, stride, dilation):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        pads.append((total // 2, total - total // 2))
    (t, b), (l, r) = pads
    return F.pad(x, (l, r, t, b))


def act(y, a):
    if a == 'relu':
        return F.relu(y)
    if a == 'relu6':
        return F.relu6(y)
    if a == 'softmax':
        return F.softmax(y, dim=-1)
    if a != 'linear':
        raise SystemExit(f'activation {a} is not in this peer')
    return y


class FakeQuantSte(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, zero, bits):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = -zero * scale, (2 ** bits - 1 - zero) * scale
        return (torch.clamp(torch.round(x / scale) + zero, 0, 2 ** bits - 1) - zero) * scale

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        return dy * ((x >= ctx.lo) & (x <= ctx.hi)).to(dy.dtype), None, None, None


weighted = [nd for nd in nodes if 'kernel' in nd]
f32 = torch.float32  # JSON writes whole numbers as integers
fixed_kernel = {nd['name']: torch.tensor(nd['kernel']['data'], dtype=f32).reshape(nd['kernel']['shape']) for nd in weighted}
fixed_bias = {nd['name']: torch.tensor(nd['bias'], dtype=f32) if 'bias' in nd else None for nd in weighted}


def to_torch_kernel(node, k):
    if node['op'] == 'conv2d':
        return k.permute(3, 2, 0, 1)  # HWIO -> OIHW
    if node['op'] == 'depthwiseConv2d':
        kh, kw, ch, m = k.shape
        return k.permute(2, 3, 0, 1).reshape(ch * m, 1, kh, kw)
    return k  # dense: [in, out]


def run(x, kernels, biases, quantize, taps):
    out = {}
    for nd in nodes:
        op, name = nd['op'], nd['name']
        ins = [out[i] for i in nd['inputs']]
        if op == 'input':
            y = x
        elif op in ('conv2d', 'depthwiseConv2d'):
            k = to_torch_kernel(nd, kernels[name])
            xi = ins[0]
            if nd['padding'] == 'same':
                xi = tf_same_pad(xi, k.shape[2:], nd['strides'], nd['dilations'])
            y = F.conv2d(xi, k, biases[name], stride=nd['strides'], dilation=nd['dilations'],
                         groups=1 if op == 'conv2d' else xi.shape[1])
            y = act(y, nd['activation'])
        elif op == 'dense':
            y = ins[0].reshape(ins[0].shape[0], -1) @ kernels[name]
            if biases[name] is not None:
                y = y + biases[name]
            y = act(y, nd['activation'])
        elif op == 'add':
            y = act(sum(ins), nd['activation'])
        elif op == 'activation':
            y = act(ins[0], nd['activation'])
        elif op == 'zeroPad':
            (t, b), (l, r) = nd['padding']
            y = F.pad(ins[0], (l, r, t, b))
        elif op in ('maxPool', 'avgPool'):
            xi = ins[0]
            if nd['padding'] == 'same':
                xi = tf_same_pad(xi, nd['poolSize'], nd['strides'], (1, 1))
            pool = F.max_pool2d if op == 'maxPool' else F.avg_pool2d
            y = pool(xi, nd['poolSize'], nd['strides'])
        elif op == 'globalAvgPool':
            y = ins[0].mean(dim=(2, 3))
        elif op == 'flatten':
            y = ins[0].permute(0, 2, 3, 1).reshape(ins[0].shape[0], -1)
        elif op == 'identity':
            y = ins[0]
        else:
            raise SystemExit(f'node {name}: {op} is not in this peer')
        a = p['activations'].get(name)
        if quantize and a:
            y = FakeQuantSte.apply(y, a['scale'], a['zeroPoint'], a['bits'])
        out[name] = y
        if name in taps:
            taps[name] = y
    return out[p['output']]


# Trainable state, initialised as dfq does: scores -(w/s - level)^2, log scales, biases.
states = {}
for nd in weighted:
    q = p['weights'][nd['name']]
    levels = torch.tensor(q['levels'], dtype=torch.float32)
    k = fixed_kernel[nd['name']].reshape(-1)
    channels = len(q['scales'])
    scales = torch.tensor(q['scales'], dtype=torch.float32)
    x = k / scales.repeat(k.numel() // channels)
    scores = -((x[:, None] - levels[None, :]) ** 2)
    bias = fixed_bias[nd['name']]
    states[nd['name']] = {
        'scores': scores.clone().requires_grad_(True),
        'log_scale': scales.log().clone().requires_grad_(True),
        'bias': (bias.clone() if bias is not None else torch.zeros(channels)).requires_grad_(True),
        'levels': levels,
        'channels': channels,
        'shape': fixed_kernel[nd['name']].shape,
    }
score_opt = torch.optim.Adam([s['scores'] for s in states.values()], lr=opts['learningRate'])
affine_opt = torch.optim.Adam([t for s in states.values() for t in (s['log_scale'], s['bias'])], lr=opts['learningRate'] / 10)
growth = (opts['betaEnd'] / opts['betaStart']) ** (1 / max(1, opts['steps'] - 1))
beta, T, fw = opts['betaStart'], opts['temperature'], opts['featureWeight']
batch = min(opts['batchSize'], n)
rng = np.random.default_rng(1)
names = [nd['name'] for nd in weighted]
times, loss = [], None
for step in range(steps + 1):  # step 0 is warm-up, not timed
    start = time.perf_counter()
    x = images[torch.from_numpy(rng.integers(0, n, batch))]
    if rng.random() < 0.5:
        x = x.flip(3)
    with torch.no_grad():
        t_taps = {k: None for k in names}
        teacher = run(x, fixed_kernel, fixed_bias, False, t_taps)
    kernels, biases = {}, {}
    for name, s in states.items():
        u = F.softmax(s['scores'] * beta, dim=1)
        lv = (u * s['levels']).sum(1).reshape(-1, s['channels']) * s['log_scale'].exp()
        kernels[name], biases[name] = lv.reshape(s['shape']), s['bias']
    s_taps = {k: None for k in names}
    student = run(x, kernels, biases, True, s_taps)
    t = F.softmax(teacher / T, dim=-1)
    loss = (t * ((t + 1e-8).log() - F.log_softmax(student / T, dim=-1))).sum(-1).mean() * T * T
    if fw > 0:
        for k in names:
            loss = loss + ((s_taps[k] - t_taps[k]) ** 2).mean() / ((t_taps[k] ** 2).mean() + 1e-8) * fw / len(names)
    score_opt.zero_grad()
    affine_opt.zero_grad()
    loss.backward()
    score_opt.step()
    affine_opt.step()
    beta *= growth
    if step > 0:
        times.append(time.perf_counter() - start)
print(json.dumps({
    'engine': f'pytorch {torch.__version__}',
    'threads': threads,
    'steps': steps,
    'batch': batch,
    'msPerStep': 1000 * sum(times) / len(times),
    'lossFinal': float(loss),
    'peakRssBytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
}))
