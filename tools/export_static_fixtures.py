"""Small static-batch ONNX fixtures for Lantern's tests (issue 12: static shapes, token CAMs).

Exports, with random seeded weights and PyTorch's default exporter (`torch.onnx.export(...,
dynamo=True)`, which fixes the batch at 1):
- `tiny_cnn_static.onnx`: Conv-ReLU-MaxPool-Conv-ReLU-GlobalAvgPool-Flatten-Linear, 3×32×32;
- `tiny_vit_static.onnx`: timm `vit_tiny_patch16_224` reduced to depth 2, embed_dim 64,
  2 heads, img_size 64 (4×4 patches + a class token);
- `tiny_vit_dynamic.onnx`: the same ViT through the TorchScript exporter (dynamo=False,
  opset 17, dynamic batch);
and beside each model the logits of a fixed seeded batch of 3 images (`*_x.npy`, `*_logits.npy`)
plus, for the ViT, pytorch-grad-cam's Grad-CAM at `blocks[-1].norm1` (forward/backward hooks,
the ViT `reshape_transform`, weights = mean gradient, raw = relu(Σ w A) at 4×4) for class 3 of
image 0 (`tiny_vit_gradcam_class3.npy`), computed here in float64 from the same formula.

Run: /work/zoo-venv/bin/python tools/export_static_fixtures.py [OUT_DIR]
"""
import sys
from pathlib import Path

import numpy as np
import timm
import torch
from torch import nn

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "crates/lantern-graph/tests/fixtures/static")
OUT.mkdir(parents=True, exist_ok=True)


class TinyCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def tiny_vit():
    return timm.create_model(
        "vit_tiny_patch16_224", pretrained=False, depth=2, embed_dim=64, num_heads=2,
        img_size=64, num_classes=10,
    )


def export(model, x1, name, dynamo):
    model.eval()
    path = OUT / f"{name}.onnx"
    if dynamo:
        torch.onnx.export(model, (x1,), path, dynamo=True, external_data=False,
                          input_names=["input"], output_names=["logits"])
    else:
        torch.onnx.export(model, (x1,), path, dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    size = path.stat().st_size
    assert size < 1_000_000, f"{path}: {size} bytes"
    print(path, size)


def save_batch(model, shape, name):
    g = torch.Generator().manual_seed(7)
    x = torch.randn((3, *shape), generator=g)
    with torch.no_grad():
        logits = model(x)
    np.save(OUT / f"{name}_x.npy", x.numpy().astype(np.float32))
    np.save(OUT / f"{name}_logits.npy", logits.numpy().astype(np.float32))
    return x


def vit_gradcam(model, x, target):
    """pytorch-grad-cam's GradCAM on target_layers=[blocks[-1].norm1], ViT reshape_transform."""
    model = model.double()
    store = {}
    layer = model.blocks[-1].norm1
    h1 = layer.register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
    out = model(x.double())
    h1.remove()
    a = store["a"]
    (grad,) = torch.autograd.grad(out[0, target], a)

    def reshape_transform(t, height=4, width=4):
        r = t[:, 1:, :].reshape(t.size(0), height, width, t.size(2))
        return r.transpose(2, 3).transpose(1, 2)

    A = reshape_transform(a.detach())[0]
    G = reshape_transform(grad)[0]
    w = G.mean(dim=(1, 2))
    cam = torch.relu((w[:, None, None] * A).sum(0))
    model.float()
    return cam.numpy().astype(np.float32)


def main():
    torch.manual_seed(0)
    cnn = TinyCnn().eval()
    x = save_batch(cnn, (3, 32, 32), "tiny_cnn_static")
    export(cnn, x[:1], "tiny_cnn_static", dynamo=True)

    torch.manual_seed(0)
    vit = tiny_vit().eval()
    x = save_batch(vit, (3, 64, 64), "tiny_vit")
    export(vit, x[:1], "tiny_vit_static", dynamo=True)
    export(vit, x[:1], "tiny_vit_dynamic", dynamo=False)
    np.save(OUT / "tiny_vit_gradcam_class3.npy", vit_gradcam(vit, x[:1], 3))


if __name__ == "__main__":
    main()
