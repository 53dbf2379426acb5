#!/usr/bin/env python3
"""Export Lantern's test zoo: reduced-size torchvision and timm classifiers with random, seeded
weights, through BOTH PyTorch ONNX exporters, with PyTorch's float32 and float64 input gradients.

    python tools/export_zoo.py [--out crates/lantern-graph/tests/zoo] [--only vit,deit]
    python tools/export_zoo.py --full [--out .lantern/zoo-full] [--only vit,deit]

(`just zoo-export` makes its own venv with the pinned versions and runs this.) `--full` exports
the full-size architectures of the same table instead (ViT-B/16, ..., Inception-v3: 1000 classes,
their standard input sizes, ~3 GB), the same way; `just zoo` runs it and the zoo test on them.

Per architecture NAME it writes into --out:
  * NAME-torchscript.onnx  torch.onnx.export(dynamo=False, opset_version=17), dynamic batch axis
  * NAME-dynamo.onnx       torch.onnx.export(dynamo=True) as it writes by default (static
                           batch 1; opset 20 with torch 2.15), weights inside the file
                           (external_data=False)
  (both: node doc strings and metadata_props, i.e. stack traces, are stripped to save space)
  * NAME-input.npy         float32 [1, 3, H, W], the exact tensor fed (seeded N(0, 1))
  * NAME-seed.npy          float32 [1, K], the upstream gradient at the logits: a seeded N(0, 1)
                           weighting of all K logits (so every logit's path is exercised)
  * NAME-grad32.npy        float32 d(sum(seed · logits))/d input, PyTorch autograd in float32
  * NAME-grad64.npy        float64 the same in float64 (model.double(), input.double()),
                           checked against float64 central differences of the model along
                           random directions (`reference_fd_rel`; a PyTorch CPU BatchNorm
                           backward bug is worked around, see reference_copy)
and one zoo.json manifest. Error measures of a gradient g against the float64 reference r
(criterion 2 of issue 12), stored for PyTorch's own float32 gradient:
  p999   = 99.9th percentile of |g - r| / max |r|
  rel_l2 = ||g - r||_2 / ||r||_2
Models are in eval mode (BatchNorm running statistics, Dropout off). Norm-layer affines, layer
scales and zero-initialised weights (e.g. torchvision ViT's head) are re-drawn from a seeded
generator so that no layer is an identity or a zero; BatchNorm running statistics are then
measured on seeded N(0, 1) batches, so activations keep their scale through the depth. An architecture one exporter cannot export is recorded with the error and skipped.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import math
import os
import sys
import traceback
import warnings
from typing import Callable, NamedTuple

SEED = 0
NUM_CLASSES = 10
TORCHSCRIPT_OPSET = 17
# float64 central differences (h = 1e-6) agree with a correct gradient to ~1e-11 · ‖g‖‖v‖ away
# from kinks; the BatchNorm bug below was off by ~1e-1 on that scale.
FD_TOLERANCE = 1e-6
# Central-difference steps h tried in turn (each checked against h/10), reduced and full size.
FD_STEPS = (1e-6, 1e-7, 1e-8)
FULL_FD_STEPS = (1e-8, 1e-9, 1e-10)
REDUCED_OUT = "crates/lantern-graph/tests/zoo"
FULL_OUT = ".lantern/zoo-full"


# ---- architectures (reduced) -------------------------------------------------------------


def _vit():
    from torchvision.models.vision_transformer import VisionTransformer

    return VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                             hidden_dim=64, mlp_dim=128, num_classes=NUM_CLASSES), 32


def _deit():
    from timm.models.deit import VisionTransformerDistilled

    return VisionTransformerDistilled(img_size=32, patch_size=8, embed_dim=64, depth=2,
                                      num_heads=2, mlp_ratio=2.0, num_classes=NUM_CLASSES), 32


def _swin():
    from torchvision.models.swin_transformer import SwinTransformer

    return SwinTransformer(patch_size=[4, 4], embed_dim=8, depths=[1, 1, 1, 1],
                           num_heads=[1, 1, 2, 2], window_size=[4, 4],
                           num_classes=NUM_CLASSES), 64


def _convnext():
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt

    cfg = [CNBlockConfig(16, 32, 1), CNBlockConfig(32, 48, 1), CNBlockConfig(48, 64, 1),
           CNBlockConfig(64, None, 1)]
    return ConvNeXt(cfg, num_classes=NUM_CLASSES), 64


def _levit():
    from timm.models.levit import Levit

    return Levit(img_size=64, embed_dim=(24, 32, 48), key_dim=8, num_heads=(2, 2, 2),
                 depth=(1, 1, 1), num_classes=NUM_CLASSES), 64


def _mobilevit():
    from timm.models.byobnet import ByobNet, ByoModelCfg
    from timm.models.mobilevit import _inverted_residual_block, _mobilevit_block

    cfg = ByoModelCfg(
        blocks=(
            _inverted_residual_block(d=1, c=8, s=1, br=2.0),
            _inverted_residual_block(d=1, c=16, s=2, br=2.0),
            _mobilevit_block(d=1, c=24, s=2, transformer_dim=32, transformer_depth=1,
                             patch_size=2, br=2.0),
            _mobilevit_block(d=1, c=32, s=2, transformer_dim=48, transformer_depth=1,
                             patch_size=2, br=2.0),
        ),
        stem_chs=8, stem_type='3x3', stem_pool='', downsample='', act_layer='silu',
        num_features=96,
    )
    return ByobNet(cfg, num_classes=NUM_CLASSES), 64


def _efficientformer():
    from timm.models import efficientformer as ef

    # Its attention biases are fixed at 7x7 tokens (224x224 input): 2x2 for a 64x64 input;
    # 2 heads of key width 8 instead of 8 of 32.
    attention = ef.Attention
    ef.Attention = functools.partial(attention, resolution=2, key_dim=8, num_heads=2)
    try:
        m = ef.EfficientFormer(depths=(1, 1, 1, 1), embed_dims=(16, 24, 32, 48), num_vit=1,
                               num_classes=NUM_CLASSES)
    finally:
        ef.Attention = attention
    return m, 64


def _poolformer():
    import torch.nn as nn
    from timm.models.metaformer import GroupNorm1, MetaFormer

    return MetaFormer(depths=(1, 1, 1, 1), dims=(16, 24, 32, 48), downsample_norm=None,
                      mlp_act=nn.GELU, mlp_bias=True, norm_layers=GroupNorm1,
                      layer_scale_init_values=1e-5, res_scale_init_values=None,
                      use_mlp_head=False, num_classes=NUM_CLASSES), 64


def _narrow(cls, divisor):
    """A conv-block class whose channel counts are divided by `divisor` (3 input channels stay)."""

    def make(in_channels, out_channels, **kw):
        cin = in_channels if in_channels == 3 else in_channels // divisor
        return cls(cin, out_channels // divisor, **kw)

    return make


def _googlenet():
    import torch.nn as nn
    from torchvision.models.googlenet import BasicConv2d, GoogLeNet, Inception, InceptionAux

    conv = _narrow(BasicConv2d, 8)
    # init_weights=False: PyTorch's default conv init. GoogLeNet's own (std 0.01) leaves conv
    # outputs far below the BatchNorm biases, so feature maps are nearly constant and their
    # max-pool winners are decided by round-off (torch's float32 gradient is then 4e-2 off).
    m = GoogLeNet(num_classes=NUM_CLASSES, aux_logits=False, transform_input=False,
                  init_weights=False,
                  blocks=[conv, functools.partial(Inception, conv_block=conv), InceptionAux])
    m.fc = nn.Linear(1024 // 8, NUM_CLASSES)
    return m, 64


def _inception_v3():
    import torch.nn as nn
    from torchvision.models import inception as tvi

    conv = _narrow(tvi.BasicConv2d, 16)
    blocks = [conv] + [functools.partial(b, conv_block=conv) for b in (
        tvi.InceptionA, tvi.InceptionB, tvi.InceptionC, tvi.InceptionD, tvi.InceptionE)]
    blocks.append(tvi.InceptionAux)
    m = tvi.Inception3(num_classes=NUM_CLASSES, aux_logits=False, transform_input=False,
                       inception_blocks=blocks, init_weights=True)
    m.fc = nn.Linear(2048 // 16, NUM_CLASSES)
    return m, 75


def _shufflenet_v2():
    from torchvision.models.shufflenetv2 import ShuffleNetV2

    return ShuffleNetV2([1, 1, 1], [8, 16, 32, 64, 128], num_classes=NUM_CLASSES), 64


def _resnet_d():
    from timm.models.resnet import Bottleneck, ResNet

    # resnet26d's settings (deep stem, avg-pool downsampling), one block per stage, narrow.
    # 72x72: the downsampling AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False) sees
    # 18x18, 9x9 and 5x5 maps, so two of them end in a one-row window.
    return ResNet(block=Bottleneck, layers=(1, 1, 1, 1), stem_width=8, stem_type='deep',
                  avg_down=True, channels=(8, 16, 24, 32), num_classes=NUM_CLASSES), 72


def _mnasnet():
    import torch.nn as nn
    from torchvision.models.mnasnet import MNASNet

    from torchvision.models.mnasnet import _BN_MOMENTUM, _stack

    m = MNASNet(alpha=0.5, num_classes=NUM_CLASSES)
    # One block per stack (kernels, strides, expansions unchanged) ...
    for i in range(8, 14):
        first = m.layers[i][0]
        cin, cout = first.layers[0].in_channels, first.layers[-1].num_features
        k, s = first.layers[3].kernel_size[0], first.layers[3].stride[0]
        m.layers[i] = _stack(cin, cout, k, s, first.layers[0].out_channels // cin, 1,
                             _BN_MOMENTUM)
    # ... and the fixed 1280-channel head conv, which holds most weights, narrowed to 128.
    last = m.layers[14].in_channels
    m.layers[14] = nn.Conv2d(last, 128, 1, 1, 0, bias=False)
    m.layers[15] = nn.BatchNorm2d(128, momentum=1 - 0.9997)
    m.classifier[1] = nn.Linear(128, NUM_CLASSES)
    return m, 64


def _efficientnet():
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf

    setting, last = _efficientnet_conf('efficientnet_b0', width_mult=0.25, depth_mult=0.25)
    return EfficientNet(setting, dropout=0.2, last_channel=128, num_classes=NUM_CLASSES), 64


def _regnet():
    from torchvision.models.regnet import BlockParams, RegNet

    params = BlockParams.from_init_params(depth=4, w_0=8, w_a=8.0, w_m=2.0, group_width=8,
                                          se_ratio=0.25)
    return RegNet(params, stem_width=8, num_classes=NUM_CLASSES), 64


def _densenet():
    from torchvision.models.densenet import DenseNet

    return DenseNet(growth_rate=8, block_config=(2, 2, 2, 2), num_init_features=16, bn_size=2,
                    num_classes=NUM_CLASSES), 64


def _torchvision(fn, size, **kw):
    """A full-size torchvision classifier, random weights."""

    def build():
        import torchvision.models as tvm

        return getattr(tvm, fn)(weights=None, **kw), size

    return build


def _timm(name, size):
    """A full-size timm classifier, random weights."""

    def build():
        import timm

        return timm.create_model(name, pretrained=False), size

    return build


class Arch(NamedTuple):
    """One zoo architecture: the reduced test-zoo version and the full-size one (`--full`)."""

    reduced: str
    build: Callable
    full: str
    build_full: Callable
    # Fuse Conv/Linear + BatchNorm pairs in float32 before anything is computed (see
    # fuse_batch_norms): the torch model is then the function the exporters write.
    fuse_bn: bool = False


ARCHS = {
    "vit": Arch("torchvision VisionTransformer: 2 blocks, width 64, patch 8", _vit,
                "ViT-B/16 (torchvision vit_b_16)", _torchvision("vit_b_16", 224)),
    "deit": Arch("timm VisionTransformerDistilled (class + distillation token): 2 blocks, "
                 "width 64", _deit,
                 "DeiT-B distilled (timm deit_base_distilled_patch16_224)",
                 _timm("deit_base_distilled_patch16_224", 224)),
    "swin": Arch("torchvision SwinTransformer: one block per stage, embed 8, window 4", _swin,
                 "Swin-T (torchvision swin_t)", _torchvision("swin_t", 224)),
    "convnext": Arch("torchvision ConvNeXt: one block per stage, widths 16-64", _convnext,
                     "ConvNeXt-T (torchvision convnext_tiny)",
                     _torchvision("convnext_tiny", 224)),
    "levit": Arch("timm Levit: one block per stage, widths 24/32/48", _levit,
                  "LeViT-128S (timm levit_128s)", _timm("levit_128s", 224), fuse_bn=True),
    "mobilevit": Arch("timm MobileViT (ByobNet, mobilevit_xxs blocks, reduced)", _mobilevit,
                      "MobileViT-S (timm mobilevit_s)", _timm("mobilevit_s", 256)),
    "efficientformer": Arch("timm EfficientFormer: one block per stage, 1 ViT block",
                            _efficientformer, "EfficientFormer-L1 (timm efficientformer_l1)",
                            _timm("efficientformer_l1", 224)),
    "poolformer": Arch("timm MetaFormer as poolformer_s12, one block per stage", _poolformer,
                       "PoolFormer-S12 (timm poolformer_s12)", _timm("poolformer_s12", 224)),
    "googlenet": Arch("torchvision GoogLeNet, all widths / 8", _googlenet,
                      "GoogLeNet (torchvision googlenet)",
                      _torchvision("googlenet", 224, aux_logits=False, transform_input=False,
                                   init_weights=False)),
    "shufflenet_v2": Arch("torchvision ShuffleNetV2, one unit per stage", _shufflenet_v2,
                          "ShuffleNetV2 x1.0 (torchvision shufflenet_v2_x1_0)",
                          _torchvision("shufflenet_v2_x1_0", 224)),
    "resnet_d": Arch("timm ResNet as resnet26d (deep stem, avg_down), one block per stage",
                     _resnet_d, "ResNet26-D (timm resnet26d)", _timm("resnet26d", 224)),
    "mnasnet": Arch("torchvision MNASNet alpha 0.5, head conv 128 wide", _mnasnet,
                    "MNASNet-0.5 (torchvision mnasnet0_5)", _torchvision("mnasnet0_5", 224)),
    "efficientnet": Arch("torchvision EfficientNet-B0 width 0.25, depth 0.25", _efficientnet,
                         "EfficientNet-B0 (torchvision efficientnet_b0)",
                         _torchvision("efficientnet_b0", 224)),
    "regnet": Arch("torchvision RegNet (Y-like, SE 0.25), depth 4", _regnet,
                   "RegNetY-400MF (torchvision regnet_y_400mf)",
                   _torchvision("regnet_y_400mf", 224)),
    "densenet": Arch("torchvision DenseNet growth 8, blocks (2,2,2,2)", _densenet,
                     "DenseNet-121 (torchvision densenet121)", _torchvision("densenet121", 224)),
    "inception_v3": Arch("torchvision Inception3, all widths / 16 (75x75 input)", _inception_v3,
                         "Inception-v3 (torchvision inception_v3)",
                         _torchvision("inception_v3", 299, aux_logits=False,
                                      transform_input=False, init_weights=True)),
}


# ---- weights, gradients, measures --------------------------------------------------------


def randomise(model, seed):
    """Seeded non-trivial norm affines, layer scales and no all-zero weights."""
    import torch
    import torch.nn as nn

    g = torch.Generator().manual_seed(seed + 1)

    def uniform(t, lo, hi):
        return torch.rand(t.shape, generator=g, dtype=t.dtype) * (hi - lo) + lo

    def normal(t, std):
        return torch.randn(t.shape, generator=g, dtype=t.dtype) * std

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)):
                if m.weight is not None:
                    m.weight.copy_(uniform(m.weight, 0.5, 1.5))
                if m.bias is not None:
                    m.bias.copy_(normal(m.bias, 0.1))
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            constant = p.numel() > 1 and bool((p == p.flatten()[0]).all())
            if leaf in ("gamma", "layer_scale", "scale") and constant:
                p.copy_(uniform(p, 0.2, 0.6))  # layer scales (init 1e-6 .. 1e-5)
            elif bool((p == 0).all()):
                if p.dim() >= 2:
                    fan_in = p[0].numel()
                    p.copy_(normal(p, fan_in ** -0.5))
                else:
                    p.copy_(normal(p, 0.1))


def calibrate_batch_norm(model, size, seed):
    """BatchNorm running statistics measured on seeded N(0, 1) batches (a train-mode forward,
    cumulative averages), then eval mode: activations stay O(1) through the depth, as in a
    trained network. With arbitrary statistics they shrink layer by layer (random EfficientNet
    and Inception gave input gradients of 1e-10 that float64 differences cannot check)."""
    import torch
    import torch.nn as nn

    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    gen = torch.Generator().manual_seed(seed + 4)
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn((8, 3, size, size), generator=gen))
    model.eval()
    for m, momentum in zip(bns, momenta):
        m.momentum = momentum


def fuse_batch_norms(model):
    """Folds each BatchNorm of timm's LeViT (ConvNorm, LinearNorm: Conv/Linear then BatchNorm;
    NormLinear: BatchNorm then Linear) into its Conv/Linear, in float32, with timm's own `fuse`.
    The exporters fold these pairs themselves, in float32 (weights · gamma / sqrt(var + eps)),
    so the ONNX file is a slightly different function from the unfused torch model (~1e-6 at
    LeViT's logits in float64), and its float64 reference would be that of another function.
    Fused before anything is computed, the torch model is the exported function, and the
    float64 reference is the exported weights promoted."""
    from timm.models.levit import ConvNorm, LinearNorm, NormLinear

    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, (ConvNorm, LinearNorm, NormLinear)):
                setattr(parent, name, child.fuse())
    model.eval()


def float64_copy(model):
    """reference_copy(model) in float64. Cached float32 tensors that `.double()` would not
    convert (timm's eval-mode `attention_bias_cache`, LeViT and EfficientFormer) are dropped,
    so the float64 pass recomputes them from the float64 parameters."""
    m = reference_copy(model).double()
    for mod in m.modules():
        if isinstance(getattr(mod, "attention_bias_cache", None), dict):
            mod.attention_bias_cache = {}
    return m


def reference_copy(model):
    """A copy of `model` for the reference gradients, with PyTorch's CPU BatchNorm backward
    bug worked around: in eval mode it returns a wrong input gradient when the incoming
    gradient has degenerate channels-last strides, e.g. (48, 1, 96, 48) for [1, 48, 2, 2] —
    what the backward of `x.flatten(2).transpose(1, 2)` (EfficientFormer's Flat, LeViT's
    token layout) hands it (torch 2.15, float32 and float64: relative error ~1 in the input
    gradient). Each BatchNorm's output passes through an identity whose backward makes the
    gradient contiguous (a copy in forward, so in-place ReLUs after it stay legal)."""
    import torch
    import torch.nn as nn

    class ContiguousGrad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            return g.contiguous()

    m = copy.deepcopy(model)
    for mod in m.modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            mod.register_forward_hook(lambda _m, _i, y: ContiguousGrad.apply(y))
    return m


def input_gradient(model, x, seed):
    """d(sum(seed · model(x)))/dx with autograd, in x's dtype."""
    x = x.clone().requires_grad_(True)
    (model(x) * seed).sum().backward()
    return x.grad.detach()


def directional_check(model, x, seed, grad, rng_seed, steps, directions=3):
    """Largest difference between <grad, v> and the float64 central difference of
    sum(seed · model(x)) along seeded random directions v, relative to ‖grad‖·‖v‖ (directional
    derivatives along random v are far smaller than that, and the difference quotient's
    round-off scales with |f|/h, not with them): the reference checked against the model itself
    (an autograd bug would otherwise become the ground truth). A quotient is used at the
    largest step h whose quotient agrees with the one at h/10: where they disagree a
    ReLU/hardswish kink lies within reach of x ± h·v. Full-size networks have so many units
    that some kink lies within 1e-6 of x along almost every direction (sometimes within 1e-7,
    where h and h/10 then agree on a wrong value; DenseNet-121: within 1e-8 along every
    direction tried), so they start at 1e-8 (FULL_FD_STEPS; round-off at 1e-10 is still ~1e-8
    of ‖grad‖·‖v‖). A direction with a kink at every step is replaced (at most 3 times as many
    draws)."""
    import torch

    gen = torch.Generator().manual_seed(rng_seed)
    worst, clean = 0.0, 0
    with torch.no_grad():
        f = lambda t: float((model(t) * seed).sum())  # noqa: E731
        for _ in range(3 * directions):
            v = torch.randn(x.shape, generator=gen, dtype=x.dtype)
            scale = float(grad.norm() * v.norm())
            quotient = lambda s: (f(x + s * v) - f(x - s * v)) / (2 * s)  # noqa: E731
            fd = quotient(steps[0])
            for h in steps:
                fd_small = quotient(h / 10)
                if abs(fd - fd_small) <= 0.1 * FD_TOLERANCE * scale:
                    break
                fd = fd_small
            else:
                continue
            worst = max(worst, abs(fd - float((grad * v).sum())) / scale)
            clean += 1
            if clean == directions:
                return worst
    return float("inf") if clean == 0 else worst


def measures(g, ref):
    import numpy as np

    d = np.abs(g.astype(np.float64) - ref)
    return {
        "p999": float(np.quantile(d, 0.999) / np.abs(ref).max()),
        "rel_l2": float(np.linalg.norm(d) / np.linalg.norm(ref)),
        "max": float(d.max() / np.abs(ref).max()),
    }


def export(model, x, path, exporter):
    import torch

    if os.path.exists(path):
        os.remove(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "torchscript":
            torch.onnx.export(model, (x,), path, dynamo=False, opset_version=TORCHSCRIPT_OPSET,
                              input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
        else:
            torch.onnx.export(model, (x,), path, dynamo=True, external_data=False,
                              input_names=["input"], output_names=["logits"])
    strip_node_metadata(path)


def strip_node_metadata(path):
    """Drops per-node doc strings and metadata (the dynamo exporter's stack traces and module
    paths: half of a small transformer's file). The graph, names and value infos stay."""
    import onnx

    m = onnx.load(path)
    for n in m.graph.node:
        n.doc_string = ""
        del n.metadata_props[:]
    onnx.save(m, path)


def check_onnx(path, x, logits):
    """(opset, op types, batch dim of the input, max |ORT - torch| / max |torch| logits)."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    m = onnx.load(path, load_external_data=False)
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in m.graph.initializer):
        raise RuntimeError("weights stored as external data")
    opset = next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    ops = sorted({n.op_type for n in m.graph.node})
    d0 = m.graph.input[0].type.tensor_type.shape.dim[0]
    batch = d0.dim_param if d0.dim_param else d0.dim_value
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    y = s.run(None, {s.get_inputs()[0].name: x})[0]
    err = float(np.abs(y - logits).max() / np.abs(logits).max())
    return opset, ops, batch, err


def build_model(name, full, seed):
    """(model in eval mode, input size, description) of architecture `name`, reduced or full
    size, exactly as exported (the caller sets torch.set_num_threads(1) first: BatchNorm
    statistics are sums whose round-off depends on the thread count)."""
    import torch

    arch = ARCHS[name]
    desc, build = (arch.full, arch.build_full) if full else (arch.reduced, arch.build)
    torch.manual_seed(seed)
    model, size = build()
    model.eval()
    randomise(model, seed)
    calibrate_batch_norm(model, size, seed)
    if arch.fuse_bn:
        fuse_batch_norms(model)
    return model, size, desc


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=None,
                   help=f"output folder (default {REDUCED_OUT}; with --full {FULL_OUT})")
    p.add_argument("--full", action="store_true",
                   help="the full-size architectures at their standard input sizes (1000 "
                        "classes) instead of the reduced test zoo")
    p.add_argument("--only", default="", help="comma-separated architecture names")
    p.add_argument("--seed", type=int, default=SEED)
    a = p.parse_args(argv)
    a.out = a.out or (FULL_OUT if a.full else REDUCED_OUT)

    import numpy as np
    import torch

    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    names = [n for n in a.only.split(",") if n] or list(ARCHS)
    manifest_path = os.path.join(a.out, "zoo.json")
    entries = {}
    if a.only and os.path.exists(manifest_path):
        with open(manifest_path) as f:
            # parse_constant: manifests of older versions stored an unchecked fd as Infinity
            old = json.load(f, parse_constant=lambda _: None)["models"]
            entries = {(e["name"], e["exporter"]): e for e in old}
    for name in names:
        model, size, desc = build_model(name, a.full, a.seed)
        gen = torch.Generator().manual_seed(a.seed + 2)
        x = torch.randn((1, 3, size, size), generator=gen)
        with torch.no_grad():
            k = model(x).shape[-1]
        seed = torch.randn((1, k), generator=gen)
        with torch.no_grad():
            logits = model(x)
        g32 = input_gradient(reference_copy(model), x, seed)
        m64 = float64_copy(model)
        g64 = input_gradient(m64, x.double(), seed.double())
        fd_rel = directional_check(m64, x.double(), seed.double(), g64, a.seed + 3,
                                   FULL_FD_STEPS if a.full else FD_STEPS)
        files = {
            "input": f"{name}-input.npy",
            "seed": f"{name}-seed.npy",
            "grad32": f"{name}-grad32.npy",
            "grad64": f"{name}-grad64.npy",
        }
        np.save(os.path.join(a.out, files["input"]), x.numpy().astype(np.float32))
        np.save(os.path.join(a.out, files["seed"]), seed.numpy().astype(np.float32))
        np.save(os.path.join(a.out, files["grad32"]), g32.numpy().astype(np.float32))
        np.save(os.path.join(a.out, files["grad64"]), g64.numpy().astype(np.float64))
        torch_err = measures(g32.numpy(), g64.numpy())
        params = sum(p.numel() for p in model.parameters())
        for exporter in ("torchscript", "dynamo"):
            onnx_file = f"{name}-{exporter}.onnx"
            path = os.path.join(a.out, onnx_file)
            e = {
                "name": name,
                "description": desc,
                "exporter": exporter,
                "model": onnx_file,
                **files,
                "input_shape": list(x.shape),
                "logits": k,
                "parameters": params,
                "seed_kind": f"normal(0,1) weighting of all {k} logits, torch.Generator seed "
                             f"{a.seed + 2} (drawn after the input)",
                "torch_f32_vs_f64": torch_err,
                # null: no direction free of kinks at any step (reference_error says so)
                "reference_fd_rel": fd_rel if math.isfinite(fd_rel) else None,
            }
            if fd_rel > FD_TOLERANCE:
                e["reference_error"] = (
                    f"float64 autograd disagrees with central differences of the model along "
                    f"random directions: relative {fd_rel:.1e} > {FD_TOLERANCE:.0e}")
            try:
                export(model, x, path, exporter)
                opset, ops, batch, err = check_onnx(path, x.numpy(), logits.numpy())
                e.update(opset=opset, batch=batch, ops=ops, ort_logits_rel_err=err)
                status = f"opset {opset}, batch {batch!r}, ORT logits rel err {err:.1e}"
            except Exception as ex:  # noqa: BLE001 - recorded in the manifest
                if os.path.exists(path):
                    os.remove(path)
                e["model"] = None
                e["export_error"] = f"{type(ex).__name__}: {ex}".strip()[:2000]
                status = "EXPORT FAILED: " + e["export_error"].splitlines()[0][:200]
                traceback.print_exc(limit=3)
            entries[(name, exporter)] = e
            if "reference_error" in e:
                status += "  REFERENCE WRONG: " + e["reference_error"]
            print(f"{name:16s} {exporter:11s} {params:8d} params  torch f32 p999 "
                  f"{torch_err['p999']:.1e} rel_l2 {torch_err['rel_l2']:.1e}  fd {fd_rel:.0e}  "
                  f"{status}", flush=True)
        # After every architecture: an interrupted full-size run keeps what it finished.
        write_manifest(manifest_path, entries, a.seed)
    total = sum(os.path.getsize(os.path.join(a.out, f)) for f in os.listdir(a.out))
    print(f"wrote {len(entries)} entries to {manifest_path}; folder {total / 1e6:.2f} MB")


def write_manifest(path, entries, seed):
    order = {n: i for i, n in enumerate(ARCHS)}
    models = sorted(entries.values(), key=lambda e: (order.get(e["name"], 99), e["exporter"]))
    manifest = {
        "generator": "tools/export_zoo.py",
        "versions": {m.__name__: m.__version__ for m in _versions()},
        "seed": seed,
        "measures": {
            "p999": "99.9th percentile of |g - ref| / max |ref|",
            "rel_l2": "||g - ref||_2 / ||ref||_2",
            "max": "max |g - ref| / max |ref|",
            "ref": "float64 autograd gradient (grad64)",
        },
        "models": models,
    }
    # Whole or not at all: a failed write must not leave a truncated manifest behind.
    text = json.dumps(manifest, indent=1, allow_nan=False) + "\n"
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def _versions():
    import numpy
    import onnx
    import onnxruntime
    import onnxscript
    import timm
    import torch
    import torchvision

    return [torch, torchvision, timm, onnx, onnxscript, onnxruntime, numpy]


if __name__ == "__main__":
    sys.exit(main())
