"""A TF.js Layers model (model.json and its float32 shard) as PyTorch tensors in the model's own
Keras layouts, and its forward pass in NCHW: shared by the peers and by the fixture trainer.

Only the layer types the bench fixtures use (scripts/fixtures/keras-graph.mjs) are here; anything
else stops with the layer's name.
"""
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


class KerasModel:
    def __init__(self, model_path):
        self.path = Path(model_path)
        self.json = json.loads(self.path.read_text())
        self.layers = self.json['modelTopology']['config']['layers']
        self.specs = [spec for group in self.json['weightsManifest'] for spec in group['weights']]
        self.shards = [p for group in self.json['weightsManifest'] for p in group['paths']]
        blob = b''.join((self.path.parent / p).read_bytes() for p in self.shards)
        self.weights = {}
        offset = 0
        for spec in self.specs:
            if spec.get('dtype', 'float32') != 'float32':
                raise SystemExit(f'weight {spec["name"]}: only float32 shards are read here')
            count = int(np.prod(spec['shape'])) if spec['shape'] else 1
            self.weights[spec['name']] = torch.from_numpy(
                np.frombuffer(blob, dtype=np.float32, count=count, offset=offset).reshape(spec['shape']).copy()
            )
            offset += 4 * count
        meta = self.json.get('userDefinedMetadata', {})
        as_list = lambda v: v if isinstance(v, list) else [v]
        self.input_mean = as_list(meta.get('inputMean', [0.0]))
        self.input_std = as_list(meta.get('inputStd', [1.0]))
        self.input_shape = self.layers[0]['config']['batch_input_shape'][1:]  # H, W, C

    def normalize(self, pixels):
        """Pixels in [0, 1], NCHW, to the model's input normalization."""
        c = pixels.shape[1]
        mean = torch.tensor((self.input_mean * c)[:c]).view(1, c, 1, 1)
        std = torch.tensor((self.input_std * c)[:c]).view(1, c, 1, 1)
        return (pixels - mean) / std

    def trainable(self):
        """Every weight but the BatchNorms' running statistics."""
        return [t for name, t in self.weights.items() if not name.endswith(('/moving_mean', '/moving_variance'))]

    def save(self):
        """Writes the weights back into the shard(s), in the manifest's order (model.json unchanged)."""
        blob = b''.join(self.weights[spec['name']].detach().contiguous().numpy().astype(np.float32).tobytes()
                        for spec in self.specs)
        if len(self.shards) != 1:
            raise SystemExit(f'{self.path}: only single-shard models are written here')
        (self.path.parent / self.shards[0]).write_bytes(blob)

    def forward(self, x, bn_inputs=None, train=False, bn_momentum=0.1):
        """The graph on NCHW input. bn_inputs collects (input, mean, variance, epsilon) per BatchNorm;
        train normalizes with batch statistics and moves the running ones by bn_momentum."""
        w = self.weights
        out = {}
        for layer in self.layers:
            kind, cfg, name = layer['class_name'], layer['config'], layer['config']['name']
            inputs = [out[n[0]] for n in layer['inbound_nodes'][0]] if layer['inbound_nodes'] else []
            if kind == 'InputLayer':
                y = x
            elif kind == 'SeparableConv2D':
                k = w[f'{name}/depthwise_kernel']
                groups = k.shape[2]
                depthwise = k.permute(2, 3, 0, 1).reshape(groups * k.shape[3], 1, k.shape[0], k.shape[1])
                xi, padding = inputs[0], 0
                if cfg['padding'] == 'same':
                    xi, padding = tf_same_pad(xi, depthwise.shape[2:], cfg['strides'])
                y = F.conv2d(xi, depthwise, None, stride=cfg['strides'], padding=padding, groups=groups)
                y = activate(F.conv2d(y, w[f'{name}/pointwise_kernel'].permute(3, 2, 0, 1), w.get(f'{name}/bias')),
                             cfg.get('activation'), name)
            elif kind in ('Conv2D', 'DepthwiseConv2D'):
                if kind == 'Conv2D':
                    kernel, bias, groups = w[f'{name}/kernel'].permute(3, 2, 0, 1), w.get(f'{name}/bias'), 1
                else:
                    k = w[f'{name}/depthwise_kernel']  # [kh, kw, C, multiplier]
                    groups = k.shape[2]
                    kernel = k.permute(2, 3, 0, 1).reshape(groups * k.shape[3], 1, k.shape[0], k.shape[1])
                    bias = w.get(f'{name}/depthwise_bias')
                xi, padding = inputs[0], 0
                if cfg['padding'] == 'same':
                    xi, padding = tf_same_pad(xi, kernel.shape[2:], cfg['strides'])
                y = activate(F.conv2d(xi, kernel, bias, stride=cfg['strides'], padding=padding, groups=groups),
                             cfg.get('activation'), name)
            elif kind == 'BatchNormalization':
                mean, var, eps = w[f'{name}/moving_mean'], w[f'{name}/moving_variance'], cfg['epsilon']
                if bn_inputs is not None:
                    bn_inputs.append((inputs[0], mean, var, eps))
                y = F.batch_norm(inputs[0], mean, var, w[f'{name}/gamma'], w[f'{name}/beta'], train,
                                 bn_momentum, eps)
            elif kind in ('Activation', 'ReLU'):
                act = cfg.get('activation') or ('relu6' if cfg.get('max_value') == 6 else 'relu')
                y = activate(inputs[0], act, name)
            elif kind == 'Add':
                y = inputs[0] + inputs[1]
            elif kind == 'Multiply':
                y = inputs[0] * inputs[1]
            elif kind == 'Concatenate':
                y = torch.cat(inputs, dim=1)
            elif kind == 'Reshape':
                # NHWC target [h, w, c] of row-major NHWC data, here in NCHW.
                n = inputs[0].shape[0]
                target = cfg['target_shape']
                nhwc = inputs[0].permute(0, 2, 3, 1) if inputs[0].dim() == 4 else inputs[0]
                y = nhwc.reshape(n, *target)
                y = y.permute(0, 3, 1, 2) if len(target) == 3 else y
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
                y = activate(inputs[0] @ w[f'{name}/kernel'] + w[f'{name}/bias'], cfg.get('activation'), name)
            else:
                raise SystemExit(f'layer {name}: {kind} is not in this peer')
            out[name] = y
        return out[self.layers[-1]['config']['name']]


def activate(x, act, name):
    """Keras 2 / TF.js activations by name."""
    if act in (None, 'linear'):
        return x
    if act == 'relu':
        return F.relu(x)
    if act == 'relu6':
        return F.relu6(x)
    if act == 'sigmoid':
        return torch.sigmoid(x)
    if act == 'hard_sigmoid':
        return (0.2 * x + 0.5).clamp(0, 1)
    if act in ('swish', 'silu'):
        return x * torch.sigmoid(x)
    if act == 'softmax':
        return F.softmax(x, dim=-1)
    raise SystemExit(f'layer {name}: activation {act} is not in this peer')


def tf_same_pad(x, kernel, stride):
    """TF's SAME padding for an NCHW tensor, as (input, conv padding): symmetric padding is left to the
    convolution (no copy); the odd pixel TF puts at the end needs an explicit pad."""
    pads = []
    for size, k, s in zip(x.shape[2:], kernel, stride):
        total = max((math.ceil(size / s) - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    (t, b), (l, r) = pads
    if t == b and l == r:
        return x, (t, l)
    return F.pad(x, (l, r, t, b)), 0
