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

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from keras_model import KerasModel  # noqa: E402

model_path, images, iterations, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(1)
model = KerasModel(model_path)
low = min((0 - m) / s for m, s in zip(model.input_mean, model.input_std))
high = max((1 - m) / s for m, s in zip(model.input_mean, model.input_std))
input_shape = model.input_shape  # H, W, C


def channel_stats(t):
    return t.mean(dim=(0, 2, 3)), (t.var(dim=(0, 2, 3), unbiased=False) + 1e-5).sqrt()


def loss_of(x):
    taps = []
    model.forward(x, taps)  # inference mode; taps collects each BatchNorm's input
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
