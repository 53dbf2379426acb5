#!/usr/bin/env python3
"""Explain a zoo model's criterion-2 failure by kinks, or fail to.

    python tools/zoo_kinks.py REPORT.json [--full] [--seed 0]

For every model the zoo test's report (LANTERN_ZOO_REPORT) marks as failing with a measured
gradient, this rebuilds the torch model exactly as tools/export_zoo.py exported it, and asks
whether Lantern's float32 gradient (lantern-grads/NAME-EXPORTER.npy beside the report) is the
float64 gradient of the same function with a few kinks taken on the other side — what float32
round-off does to a unit that float64 puts within ~1e-6 of a ReLU kink or a max-pool window
whose two largest inputs are within ~1e-6 of each other. Candidates: the ReLU units nearest
their kink and the max-pool windows nearest a tie (float64 forward, relative to the layer's
spread). Each candidate's effect on the float64 input gradient is measured with one backward
pass with that kink flipped; flips are then chosen greedily while they bring the reference
closer to Lantern's gradient. The model counts as explained when Lantern's gradient meets
criterion 2 against the reference with those flips. The findings go into the report's row
(`kinks`), which tools/zoo_table.py prints in the notes.

Only `nn.ReLU` and `nn.MaxPool2d` modules are examined (functional ReLUs are invisible here).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_zoo  # noqa: E402

TORCH_FACTOR, ABSOLUTE = 2.0, 1e-5  # criterion 2, as crates/lantern-graph/src/autodiff/zoo_tests.rs
RELU_PER_LAYER, RELU_CANDIDATES, POOL_CANDIDATES, MAX_FLIPS = 4, 24, 8, 8


def instrument(model):
    """Replaces nn.ReLU / nn.MaxPool2d modules by versions that record their float64 inputs and
    can take given kinks on the other side in the backward pass. Returns (recorded, flips)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    recorded, flips = {}, {}

    class MaskedRelu(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t, mask):
            ctx.save_for_backward(mask)
            return t.clamp(min=0)

        @staticmethod
        def backward(ctx, g):
            (mask,) = ctx.saved_tensors
            return g * mask, None

    class Relu(nn.Module):
        def __init__(self, path):
            super().__init__()
            self.path = path

        def forward(self, t):
            recorded[self.path] = t.detach()
            mask = (t > 0).to(t.dtype).flatten().clone()
            for i in flips.get(self.path, ()):
                mask[i] = 1 - mask[i]
            return MaskedRelu.apply(t, mask.view_as(t))

    class MaxPool(nn.Module):
        """Max pooling whose flipped windows route their gradient to the runner-up."""

        def __init__(self, path, pool):
            super().__init__()
            self.path, self.pool = path, pool

        def forward(self, t):
            p = self.pool
            out, idx = F.max_pool2d(t, p.kernel_size, p.stride, p.padding, p.dilation,
                                    p.ceil_mode, return_indices=True)
            recorded[self.path] = (t.detach(), out.detach(), p)
            if self.path in flips:
                idx = idx.clone()
                for (c, r, q), second in flips[self.path]:
                    idx[0, c, r, q] = second
            n, c = t.shape[:2]
            flat = t.reshape(n, c, -1)
            return flat.gather(2, idx.reshape(n, c, -1)).view_as(out)

    for path, mod in list(model.named_modules()):
        for name, child in list(mod.named_children()):
            full = f"{path}.{name}" if path else name
            if isinstance(child, nn.ReLU):
                setattr(mod, name, Relu(full))
            elif isinstance(child, nn.MaxPool2d) and child.dilation in (1, (1, 1)):
                setattr(mod, name, MaxPool(full, child))
    return recorded, flips


def window_ties(t, out, pool, count):
    """The `count` windows whose two largest inputs are closest (relative to the input's
    spread), each as (gap, (c, r, q), flat index of the runner-up)."""
    import torch

    k = pool.kernel_size if isinstance(pool.kernel_size, int) else pool.kernel_size[0]
    s = pool.stride if isinstance(pool.stride, int) else pool.stride[0]
    p = pool.padding if isinstance(pool.padding, int) else pool.padding[0]
    h, w = t.shape[2:]
    padded = torch.nn.functional.pad(t[0], (p, p + k, p, p + k), value=-float("inf"))
    win = padded.unfold(1, k, s).unfold(2, k, s)[:, :out.shape[2], :out.shape[3]]
    top = win.reshape(*win.shape[:3], k * k).topk(2, dim=-1)
    gap = (top.values[..., 0] - top.values[..., 1]) / t.std()
    gap = torch.where(gap > 0, gap, torch.full_like(gap, float("inf")))  # exact ties agree
    found = []
    for i in torch.argsort(gap.flatten())[:count].tolist():
        c, r, q = (int(v) for v in torch.unravel_index(torch.tensor(i), gap.shape))
        j = int(top.indices[c, r, q, 1])
        row, col = r * s - p + j // k, q * s - p + j % k
        if 0 <= row < h and 0 <= col < w:
            found.append((float(gap[c, r, q]), (c, r, q), row * w + col))
    return found


def explain(name, exporter, zoo, lantern_grad, full, seed):
    import numpy as np
    import torch

    torch.set_num_threads(1)
    model, _, _ = export_zoo.build_model(name, full, seed)
    m64 = export_zoo.float64_copy(model)
    recorded, flips = instrument(m64)
    manifest = {(e["name"], e["exporter"]): e for e in
                json.load(open(os.path.join(zoo, "zoo.json")))["models"]}
    e = manifest[(name, exporter)]
    x = torch.from_numpy(np.load(os.path.join(zoo, e["input"]))).double()
    s = torch.from_numpy(np.load(os.path.join(zoo, e["seed"]))).double()
    ref = np.load(os.path.join(zoo, e["grad64"]))
    g32 = np.load(os.path.join(zoo, e["grad32"]))
    lantern = np.load(lantern_grad).astype(np.float64)

    def gradient():
        xg = x.clone().requires_grad_(True)
        (m64(xg) * s).sum().backward()
        return xg.grad.numpy()

    base = gradient()
    scale = np.abs(ref).max()
    if np.abs(base - ref).max() > 1e-9 * scale:
        return {"explained": False, "why": "rebuilt model's float64 gradient differs from grad64"}
    candidates = []
    relus = []
    for path, rec in recorded.items():
        if isinstance(rec, tuple):
            t, out, pool = rec
            candidates += [(gap, "maxpool", path, (win, second))
                           for gap, win, second in window_ties(t, out, pool, POOL_CANDIDATES)]
        else:
            a = (rec.abs() / rec.std()).flatten()
            for i in torch.argsort(a)[:RELU_PER_LAYER].tolist():
                relus.append((float(a[i]), "relu", path, i))
    relus.sort(key=lambda c: c[0])
    candidates = sorted(candidates, key=lambda c: c[0])[:POOL_CANDIDATES] + \
        relus[:RELU_CANDIDATES]
    effects = []
    for _, kind, path, what in candidates:
        flips.clear()
        flips[path] = [what]
        effects.append(gradient() - base)
    flips.clear()
    target = lantern - base
    residual, chosen = target.copy(), []
    for _ in range(MAX_FLIPS):
        k = min(range(len(effects)), key=lambda k: np.linalg.norm(residual - effects[k]))
        if np.linalg.norm(residual - effects[k]) >= 0.9 * np.linalg.norm(residual):
            break
        residual = residual - effects[k]
        chosen.append(candidates[k])
        effects[k] = np.full_like(effects[k], np.inf)  # each kink once
    flipped_ref = lantern - residual  # = base + the chosen flips' effects
    after = export_zoo.measures(lantern.astype(np.float32), flipped_ref)
    torch_err = export_zoo.measures(g32, ref)
    explained = all(after[m] <= max(TORCH_FACTOR * torch_err[m], ABSOLUTE)
                    for m in ("p999", "rel_l2"))
    flips_text = [f"{kind} {path} {'unit' if kind == 'relu' else 'window'} "
                  f"{what if kind == 'relu' else what[0]} (relative distance {gap:.1e})"
                  for gap, kind, path, what in chosen]
    return {
        "explained": explained,
        "flips": flips_text,
        "relu_flips": sum(c[1] == "relu" for c in chosen),
        "maxpool_flips": sum(c[1] == "maxpool" for c in chosen),
        "largest_distance": max((c[0] for c in chosen), default=None),
        "after": {"p999": after["p999"], "rel_l2": after["rel_l2"]},
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("report")
    p.add_argument("--full", action="store_true", help="the report is of a --full export")
    p.add_argument("--seed", type=int, default=export_zoo.SEED)
    a = p.parse_args(argv)
    with open(a.report) as f:
        report = json.load(f)
    base = os.path.dirname(os.path.abspath(a.report))
    for m in report["models"]:
        if m.get("result") != "fail" or "lantern_grad" not in m:
            continue
        k = explain(m["name"], m["exporter"], report["zoo"], os.path.join(base, m["lantern_grad"]),
                    a.full, a.seed)
        m["kinks"] = k
        print(f"{m['name']} {m['exporter']}: explained by kinks: {k['explained']}; "
              f"{'; '.join(k.get('flips', [])) or k.get('why', '')}; after: {k.get('after')}",
              flush=True)
    with open(a.report, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
