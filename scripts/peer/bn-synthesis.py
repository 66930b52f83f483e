#!/usr/bin/env python3
"""The peer for scripts/bench-engine.mjs: the same BN-statistics synthesis dfq's `zeroq` preset runs,
in PyTorch on the CPU, on the same TF.js Layers model (read from model.json and its weight shard).

Per iteration: forward in inference mode, per-channel batch mean and std of every BatchNorm input,
squared distance to the running statistics (mean over channels, summed over layers) plus the input
statistics term, backward to the pixels, Adam on the pixels, clip to the pixel box.
Prints one JSON object. Run with Debian's python3-torch:
  /usr/bin/python3 scripts/peer/bn-synthesis.py <model.json> <images> <iterations> <threads>
"""
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

model_path, images, iterations, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(1)
model = json.loads(Path(model_path).read_text())
layers = model['modelTopology']['config']['layers']
weights = {}
for group in model['weightsManifest']:
    blob = b''.join((Path(model_path).parent / p).read_bytes() for p in group['paths'])
    offset = 0
    for spec in group['weights']:
        count = int(np.prod(spec['shape'])) if spec['shape'] else 1
        weights[spec['name']] = torch.from_numpy(
            np.frombuffer(blob, dtype=np.float32, count=count, offset=offset).reshape(spec['shape']).copy()
        )
        offset += 4 * count

meta = model.get('userDefinedMetadata', {})
mean, std = meta.get('inputMean', [0.0]), meta.get('inputStd', [1.0])
mean, std = (mean if isinstance(mean, list) else [mean]), (std if isinstance(std, list) else [std])
low = min((0 - m) / s for m, s in zip(mean, std))
high = max((1 - m) / s for m, s in zip(mean, std))
input_shape = layers[0]['config']['batch_input_shape'][1:]  # H, W, C


def run(x, bn_inputs):
    """The model's graph in NCHW; collects each BatchNorm's input."""
    out = {}
    for layer in layers:
        kind, cfg, name = layer['class_name'], layer['config'], layer['config']['name']
        inputs = [out[n[0]] for n in layer['inbound_nodes'][0]] if layer['inbound_nodes'] else []
        if kind == 'InputLayer':
            y = x
        elif kind == 'Conv2D':
            kernel = weights[f'{name}/kernel'].permute(3, 2, 0, 1)
            pad = kernel.shape[-1] // 2 if cfg['padding'] == 'same' else 0
            y = F.conv2d(inputs[0], kernel, weights.get(f'{name}/bias'), stride=cfg['strides'], padding=pad)
        elif kind == 'DepthwiseConv2D':
            kernel = weights[f'{name}/depthwise_kernel']  # [kh, kw, C, multiplier]
            groups = kernel.shape[2]
            kernel = kernel.permute(2, 3, 0, 1).reshape(groups * kernel.shape[3], 1, kernel.shape[0], kernel.shape[1])
            pad = kernel.shape[-1] // 2 if cfg['padding'] == 'same' else 0
            y = F.conv2d(inputs[0], kernel, weights.get(f'{name}/depthwise_bias'), stride=cfg['strides'],
                         padding=pad, groups=groups)
        elif kind == 'BatchNormalization':
            bn_inputs.append((inputs[0], weights[f'{name}/moving_mean'], weights[f'{name}/moving_variance'], cfg['epsilon']))
            y = F.batch_norm(inputs[0], weights[f'{name}/moving_mean'], weights[f'{name}/moving_variance'],
                             weights[f'{name}/gamma'], weights[f'{name}/beta'], False, 0.0, cfg['epsilon'])
        elif kind in ('Activation', 'ReLU'):
            act = cfg.get('activation') or ('relu6' if cfg.get('max_value') == 6 else 'relu')
            if act not in ('relu', 'relu6', 'linear'):
                raise SystemExit(f'layer {name}: activation {act} is not in this peer')
            y = F.relu(inputs[0]) if act == 'relu' else F.relu6(inputs[0]) if act == 'relu6' else inputs[0]
        elif kind == 'Add':
            y = inputs[0] + inputs[1]
        elif kind == 'ZeroPadding2D':
            (top, bottom), (left, right) = cfg['padding']
            y = F.pad(inputs[0], (left, right, top, bottom))
        elif kind == 'MaxPooling2D':
            if cfg['padding'] != 'valid':
                raise SystemExit(f'layer {name}: only valid max pooling is in this peer')
            y = F.max_pool2d(inputs[0], cfg['pool_size'], cfg['strides'])
        elif kind == 'GlobalAveragePooling2D':
            y = inputs[0].mean(dim=(2, 3))
        elif kind == 'Dense':
            y = inputs[0] @ weights[f'{name}/kernel'] + weights[f'{name}/bias']
        else:
            raise SystemExit(f'layer {name}: {kind} is not in this peer')
        out[name] = y
    return out[layers[-1]['config']['name']]


def channel_stats(t):
    return t.mean(dim=(0, 2, 3)), (t.var(dim=(0, 2, 3), unbiased=False) + 1e-5).sqrt()


def loss_of(x):
    taps = []
    run(x, taps)
    loss = 0
    for t, rm, rv, eps in taps:
        m, s = channel_stats(t)
        loss = loss + ((m - rm) ** 2).mean() + ((s - (rv + eps).sqrt()) ** 2).mean()
    m, s = channel_stats(x)
    return loss + (m ** 2).mean() + ((s - 1) ** 2).mean()


h, w, c = input_shape
x = torch.randn(images, c, h, w).clamp(low, high).requires_grad_(True)
adam = torch.optim.Adam([x], lr=0.1)
times = []
for it in range(iterations + 1):  # iteration 0 is warm-up, not timed
    start = time.perf_counter()
    adam.zero_grad()
    loss = loss_of(x)
    loss.backward()
    adam.step()
    with torch.no_grad():
        x.clamp_(low, high)
    if it > 0:
        times.append(time.perf_counter() - start)
print(json.dumps({
    'engine': f'pytorch {torch.__version__}',
    'threads': threads,
    'images': images,
    'iterations': iterations,
    'secondsPerIteration': sum(times) / len(times),
    'msPerImageIteration': 1000 * sum(times) / len(times) / images,
    'lossFinal': float(loss),
    'peakRssBytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
}))
