#!/usr/bin/env python3
"""Reference maps for Lantern's transformer methods, from the authors' published code.

    /work/zoo-venv/bin/python tools/reference_attention.py [-o crates/lantern-explain/tests/fixtures/attention]

Builds a small timm ViT (depth 2, width 64, 4 heads, 64×64 input, 8×8 patches → an 8×8 token
grid plus the class token; 10 classes) with seeded random weights, exports it to ONNX the way
`export_torchvision.py` does (TorchScript exporter, opset 17, dynamic batch, input `input`,
output `logits`), and computes on one fixed input, in float64 torch:

* attention rollout (Abnar & Zuidema 2020) as jacobgil/vit-explain's `vit_rollout.py` does it:
  attention probabilities captured at each block's `attn_drop` (the Softmax output); heads fused
  by mean, max or min; the lowest `discard_ratio` of the fused [T,T] matrix set to 0 except its
  flat index 0 (the class token's attention to itself — the code's `indices != 0`);
  `a = (A + I)/2`; `a = a / a.sum(-1)`; `result = a @ result` from the identity; the map is
  `result[0, 1:]`. One deviation, on purpose: the row sum is taken with `keepdim=True`. The
  published line divides column j by the sum of row j (a broadcasting slip, vit-explain issue
  #16); the paper, and Lantern, renormalise each row. The script's `mask / max` display
  normalisation is left out: the stored maps are raw, as Lantern's methods return them.
* transformer attribution (Chefer, Gur & Wolf, ICCV 2021, "Generic Attention-model
  Explainability…"), as hila-chefer/Transformer-MM-Explainability's ViT `generate_relevance`
  does it: backward from the target logit (`sum(one_hot * output)`), gradients of the attention
  probabilities from hooks; per block `cam = (grad * attn).clamp(min=0).mean over heads`;
  `R = I; R += cam @ R` in block order; the map is `R[0, 1:]`.

Maps are stored at token-grid resolution (`*-grid.npy`, [8,8]) and upsampled to the input size
(`*-up.npy`, [64,64]) with torch bilinear, align_corners=False (what both reference scripts'
cv2.resize / F.interpolate calls amount to when upsampling). The export uses timm's default
fused attention (what users get: the exporter writes Softmax → MatMul); the reference hooks need
the unfused path, which computes the same probabilities (checked below against ORT).
"""

from __future__ import annotations

import argparse
import os

IMG = 64
PATCH = 8
DEPTH = 2
WIDTH = 64
HEADS = 4
CLASSES = 10
SEED = 0
FUSIONS = ("mean", "max", "min")


def build_model():
    import torch
    import timm

    torch.manual_seed(SEED)
    model = timm.models.vision_transformer.VisionTransformer(
        img_size=IMG, patch_size=PATCH, embed_dim=WIDTH, depth=DEPTH, num_heads=HEADS,
        num_classes=CLASSES, global_pool="token",
    )
    # timm's init (std 0.02) gives near-uniform attention; fan-in scaled weights give peaked,
    # varied attention so the discard threshold and the rankings are well separated.
    g = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim >= 2 and "pos_embed" not in name and "cls_token" not in name:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in**0.5)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
    return model.eval()


def capture(model):
    """Replaces every block's attn_drop (identity in eval) by a module that keeps the attention
    probabilities and their gradient (Chefer's save_attn / register_hook)."""
    import torch

    class Keep(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = None
            self.grad = None

        def forward(self, x):
            self.attn = x
            if x.requires_grad:
                x.register_hook(self.save_grad)
            return x

        def save_grad(self, g):
            self.grad = g

    keeps = []
    for blk in model.blocks:
        blk.attn.fused_attn = False
        blk.attn.attn_drop = Keep()
        keeps.append(blk.attn.attn_drop)
    return keeps


def rollout(attentions, discard_ratio, head_fusion):
    """vit-explain's rollout (row sums with keepdim, see the module doc), raw mask [T-1]."""
    import torch

    result = torch.eye(attentions[0].size(-1), dtype=attentions[0].dtype)
    with torch.no_grad():
        for attention in attentions:
            if head_fusion == "mean":
                fused = attention.mean(axis=1)
            elif head_fusion == "max":
                fused = attention.max(axis=1)[0]
            else:
                fused = attention.min(axis=1)[0]
            flat = fused.view(fused.size(0), -1)
            _, indices = flat.topk(int(flat.size(-1) * discard_ratio), -1, False)
            indices = indices[indices != 0]
            flat[0, indices] = 0
            eye = torch.eye(fused.size(-1), dtype=fused.dtype)
            a = (fused + 1.0 * eye) / 2
            a = a / a.sum(dim=-1, keepdim=True)
            result = torch.matmul(a, result)
    return result[0, 0, 1:]


def discard_gap(attentions, discard_ratio, head_fusion):
    """Smallest relative gap between the last discarded and the first kept value, per block:
    a float32 run can only discard a different element if this is near round-off."""
    gaps = []
    for attention in attentions:
        fused = {"mean": lambda a: a.mean(1), "max": lambda a: a.max(1)[0],
                 "min": lambda a: a.min(1)[0]}[head_fusion](attention)
        flat = fused.reshape(-1).sort().values
        k = int(flat.numel() * discard_ratio)
        if 0 < k < flat.numel():
            gaps.append(float((flat[k] - flat[k - 1]) / flat[k]))
    return min(gaps) if gaps else float("inf")


def relevance(model, keeps, x, index):
    """Chefer's generate_relevance (rules 5 and 6 of the paper), map [T-1]."""
    import torch

    output = model(x)
    one_hot = torch.zeros((1, output.size()[-1]), dtype=output.dtype)
    one_hot[0, index] = 1
    model.zero_grad()
    torch.sum(one_hot * output).backward()
    num_tokens = keeps[0].attn.shape[-1]
    R = torch.eye(num_tokens, dtype=output.dtype)
    for k in keeps:
        cam = k.attn.reshape(-1, num_tokens, num_tokens)
        grad = k.grad.reshape(-1, num_tokens, num_tokens)
        cam = (grad * cam).clamp(min=0).mean(dim=0)
        R = R + torch.matmul(cam, R)
    return R[0, 1:].detach()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--out", default="crates/lantern-explain/tests/fixtures/attention")
    args = ap.parse_args()

    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
    import torch.nn.functional as F

    os.makedirs(args.out, exist_ok=True)
    for old in os.listdir(args.out):
        if old.endswith(".npy"):
            os.remove(os.path.join(args.out, old))
    model = build_model()
    dummy = torch.zeros(2, 3, IMG, IMG)
    path = os.path.join(args.out, "model.onnx")
    torch.onnx.export(
        model, dummy, path, dynamo=False, opset_version=17, input_names=["input"],
        output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        do_constant_folding=False,
    )
    graph = onnx.load(path).graph
    softmaxes = [n.output[0] for n in graph.node if n.op_type == "Softmax"]
    print(f"model.onnx: {os.path.getsize(path)} bytes, Softmax outputs {softmaxes}")

    g = torch.Generator().manual_seed(SEED + 2)
    x = torch.randn(1, 3, IMG, IMG, generator=g)
    np.save(os.path.join(args.out, "input.npy"), x.numpy().astype(np.float32))

    # ORT's logits and attention probabilities (the fused export) against the unfused torch
    # path the hooks see, in float32: the same function.
    tapped = onnx.load(path)
    for name in softmaxes:
        tapped.graph.output.append(onnx.ValueInfoProto(name=name))
    session = ort.InferenceSession(tapped.SerializeToString(), providers=["CPUExecutionProvider"])
    ort_logits, *ort_attn = session.run(None, {"input": x.numpy()})
    keeps = capture(model)
    with torch.no_grad():
        torch_logits = model(x).numpy()
    print(f"logits |ORT - torch| max {np.abs(ort_logits - torch_logits).max():.2e}")
    for a, k in zip(ort_attn, keeps):
        print(f"attention {a.shape} |ORT - torch| max {np.abs(a - k.attn.numpy()).max():.2e}")

    model = model.double()
    xd = x.double()
    with torch.no_grad():
        logits = model(xd)
    np.save(os.path.join(args.out, "logits.npy"), logits.numpy().astype(np.float32))
    order = torch.argsort(logits[0], descending=True)
    targets = [int(order[0]), int(order[1])]
    print(f"logits {logits.numpy().round(3)}; targets (top two) {targets}")
    attentions = [k.attn.detach() for k in keeps]
    print("attention rows: max prob per block",
          [float(a.max()) for a in attentions], "min", [float(a.min()) for a in attentions])

    grid = IMG // PATCH

    def save(stem, mask):
        m = mask.reshape(grid, grid)
        up = F.interpolate(m[None, None], size=(IMG, IMG), mode="bilinear",
                           align_corners=False)[0, 0]
        np.save(os.path.join(args.out, f"{stem}-grid.npy"), m.numpy().astype(np.float32))
        np.save(os.path.join(args.out, f"{stem}-up.npy"), up.numpy().astype(np.float32))

    for fusion in FUSIONS:
        for ratio in (0.9, 0.0):
            stem = f"rollout-{fusion}-{ratio}"
            save(stem, rollout(attentions, ratio, fusion))
            if ratio > 0:
                print(f"{stem}: smallest relative gap at the discard threshold "
                      f"{discard_gap(attentions, ratio, fusion):.2e}")
    for t in targets:
        save(f"transformer-attribution-t{t}", relevance(model, keeps, xd, t))
    with open(os.path.join(args.out, "targets.txt"), "w") as f:
        f.write(" ".join(str(t) for t in targets) + "\n")
    for fusion in FUSIONS:
        kept = np.load(os.path.join(args.out, f"rollout-{fusion}-0.9-grid.npy"))
        full = np.load(os.path.join(args.out, f"rollout-{fusion}-0.0-grid.npy"))
        print(f"rollout {fusion}: discarding moves the map by {np.abs(kept - full).max():.2e}"
              f" (max {np.abs(full).max():.2e})")
    a, b = (np.load(os.path.join(args.out, f"transformer-attribution-t{t}-grid.npy"))
            for t in targets)
    print(f"transformer attribution t{targets[0]} vs t{targets[1]}: max |diff| "
          f"{np.abs(a - b).max():.2e} (max {np.abs(a).max():.2e})")
    print("wrote", sorted(os.listdir(args.out)))


if __name__ == "__main__":
    main()
