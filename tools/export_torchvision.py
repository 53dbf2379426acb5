#!/usr/bin/env python3
"""Export a torchvision classifier (or your fine-tuned checkpoint of one) to ONNX for Lantern.

    python tools/export_torchvision.py --arch resnet18 --weights DEFAULT -o data/models/resnet18.onnx
    python tools/export_torchvision.py --arch vgg16 --weights none --seed 0 --check
    python tools/export_torchvision.py --arch resnet18 --checkpoint my_finetuned.pt --num-classes 4 \
        -o data/models/leaves.onnx --check

What Lantern expects, and what this script writes:
  * eval mode (BatchNorm uses its running statistics, Dropout is off);
  * one input named `input`, float32 [batch, 3, H, W] (H = W = 224 unless --size), with a
    dynamic batch axis, so Lantern can batch occlusion windows, IG steps and Score-CAM masks;
  * one output named `logits` [batch, classes] (raw scores, no softmax);
  * ONNX opset 17, the TorchScript exporter (`dynamo=False`), so tensor names follow the module
    path (`/layer4/layer4.1/relu_1/Relu_output_0` is `layer4[-1]`'s output);
  * `do_constant_folding=False` by default (pass --fold to turn folding on). Why: with folding
    the exporter fuses each BatchNormalization into the Conv before it, so the BN nodes — and
    their names, which match the PyTorch modules (`/layer1/layer1.0/bn1/BatchNormalization`) —
    disappear from the graph. Keeping them makes the ONNX graph read like the PyTorch model
    (`lantern layers` lists `bn1`, `layer1.0.bn1`, … as in `model.named_modules()`). The maps are
    the same either way: Lantern differentiates BatchNormalization (inference mode) exactly, and
    a folded Conv is the same function. Folding gives a slightly smaller, faster graph.

torch and torchvision are imported lazily, so `--help` works without them; `--check` also needs
`onnxruntime` (and `onnx` for the graph summary): `pip install torch torchvision onnx onnxruntime`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import warnings

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
OPSET = 17


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="export_torchvision.py",
        description="Export a torchvision classifier or a fine-tuned checkpoint to ONNX the way "
        "Lantern expects it (input `input` [batch,3,H,W] with a dynamic batch axis, output "
        "`logits`, opset 17, eval mode).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Examples:\n"
        "  %(prog)s --arch resnet18 --weights DEFAULT -o data/models/resnet18.onnx\n"
        "  %(prog)s --arch vgg16 --weights none --seed 0 --check\n"
        "  %(prog)s --arch resnet18 --checkpoint ft.pt --num-classes 4 -o data/models/leaves.onnx --check\n",
    )
    p.add_argument("--arch", default="resnet18",
                   help="torchvision.models architecture name: resnet18, resnet50, vgg16, "
                        "mobilenet_v2, densenet121, … (default: resnet18)")
    p.add_argument("--weights", default=None,
                   help="DEFAULT (pretrained ImageNet weights, downloaded by torchvision: needs "
                        "internet), another torchvision weights name (e.g. IMAGENET1K_V1), or "
                        "none (random init with --seed). Default: none, or the checkpoint's "
                        "weights with --checkpoint.")
    p.add_argument("--seed", type=int, default=0, help="torch.manual_seed for --weights none and --check (default 0)")
    p.add_argument("--bn-stats", choices=["random", "init"], default="random",
                   help="with --weights none: 'random' (default) draws every BatchNorm's running mean "
                        "N(0,0.1), running var U(0.5,1.5), weight U(0.5,1.5), bias N(0,0.1) from a "
                        "generator seeded with seed+1, so BN is not the identity and the exported BN "
                        "parameters are not deduplicated into Identity nodes (this is how "
                        "shared/reference/resnet18/model.onnx was made: seed 0 reproduces it); "
                        "'init' keeps torchvision's init (1, 0, 0, 1)")
    p.add_argument("--zero-params", choices=["random", "init"], default="random",
                   help="with --weights none: 'random' (default) redraws every parameter that is "
                        "still all zeros after init and --bn-stats (torchvision's ViT head and class "
                        "token, attention and LayerNorm biases) from a generator seeded with seed+2 "
                        "(N(0, 1/fan_in) for matrices, N(0, 0.1) for vectors), so the logits are not "
                        "all zero; ResNets and VGGs have none (the resnet18 reference is unchanged); "
                        "'init' keeps the zeros")
    p.add_argument("--checkpoint", metavar="PATH",
                   help="a fine-tuned model: a state_dict (optionally under 'state_dict', "
                        "'model_state_dict', 'model' or 'net'; a 'module.' prefix from "
                        "DataParallel is stripped) for --arch with --num-classes outputs")
    p.add_argument("--num-classes", type=int, default=None,
                   help="number of classes of the checkpoint's head (default: read from the checkpoint's "
                        "last Linear layer, else 1000)")
    p.add_argument("--unsafe-load", action="store_true",
                   help="allow torch.load(weights_only=False): needed when the checkpoint pickles a "
                        "whole nn.Module; only for files you trust")
    p.add_argument("-o", "--out", metavar="PATH",
                   help="output .onnx (default: data/models/<arch>.onnx, or <arch>-random-seed<S>.onnx "
                        "for --weights none)")
    p.add_argument("--size", type=int, default=224, help="input height = width (default 224)")
    p.add_argument("--opset", type=int, default=OPSET, help=f"ONNX opset (default {OPSET}; Lantern is tested with 17)")
    p.add_argument("--fold", action="store_true",
                   help="do_constant_folding=True: BatchNormalization is fused into the Convs (smaller "
                        "graph; BN layer names disappear). Default: keep BN nodes")
    p.add_argument("--check", action="store_true",
                   help="run ONNX Runtime on a random batch of 2 and compare the logits with torch "
                        "(prints the max abs diff; fails above --tol)")
    p.add_argument("--tol", type=float, default=1e-3,
                   help="--check fails when max |ort - torch| exceeds this (default 1e-3)")
    return p.parse_args(argv)


def _import_torch():
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError as e:
        sys.exit(f"export_torchvision: {e}.\nInstall PyTorch first: pip install torch torchvision onnx onnxruntime")
    return torch, torchvision


def build_model(args, torch, torchvision):
    """Returns (model in eval mode, description, torchvision weights enum or None)."""
    models = torchvision.models
    if args.arch not in models.list_models(module=models):
        sys.exit(f"export_torchvision: unknown --arch {args.arch!r}; torchvision classification models: "
                 + ", ".join(models.list_models(module=models)))
    weights_arg = args.weights
    if weights_arg is None:
        weights_arg = "none"
    weights = None
    if args.checkpoint:
        if weights_arg.lower() != "none":
            sys.exit("export_torchvision: --checkpoint and --weights are exclusive (the checkpoint is the weights)")
        sd = _load_checkpoint(args.checkpoint, args.unsafe_load, torch)
        if isinstance(sd, torch.nn.Module):
            model = sd
            k = _head_classes(model, model.state_dict(), torch)
        else:
            torch.manual_seed(args.seed)
            k_ckpt = _head_classes(models.get_model(args.arch, weights=None), sd, torch)
            k = args.num_classes or k_ckpt or 1000
            if args.num_classes and k_ckpt and args.num_classes != k_ckpt:
                sys.exit(f"export_torchvision: --num-classes {args.num_classes} but the checkpoint's head has {k_ckpt} outputs")
            model = models.get_model(args.arch, weights=None, num_classes=k)
            try:
                missing, unexpected = model.load_state_dict(sd, strict=False)
                err = ""
            except RuntimeError as e:
                missing, unexpected, err = [], [], str(e)
            if missing or unexpected or err:
                sys.exit("export_torchvision: the checkpoint does not fit "
                         f"{args.arch}(num_classes={k}):\n  missing: {_few(missing)}\n  unexpected: {_few(unexpected)}\n{err}\n"
                         "Check --arch and --num-classes (a replaced head like `model.fc = nn.Linear(512, K)` "
                         "is the same as num_classes=K).")
        desc = f"{args.arch} from checkpoint {args.checkpoint} ({k} classes)"
    elif weights_arg.lower() == "none":
        torch.manual_seed(args.seed)
        model = models.get_model(args.arch, weights=None, num_classes=args.num_classes or 1000)
        n_bn = randomize_bn(model, args.seed + 1, torch) if args.bn_stats == "random" else 0
        n_zero = randomize_zero_params(model, args.seed + 2, torch) if args.zero_params == "random" else 0
        desc = (f"{args.arch} random init, seed {args.seed}"
                + (f", random BN statistics ({n_bn} BN layers, generator seed {args.seed + 1})" if n_bn else "")
                + (f", {n_zero} all-zero parameters redrawn (generator seed {args.seed + 2})" if n_zero else "")
                + " (meaningless classes: for testing only)")
    else:
        if args.num_classes not in (None, 1000):
            sys.exit("export_torchvision: pretrained --weights have 1000 classes; use --checkpoint for a fine-tuned head")
        try:
            weights = models.get_model_weights(args.arch)[weights_arg] if weights_arg != "DEFAULT" \
                else models.get_model_weights(args.arch).DEFAULT
        except KeyError:
            names = [w.name for w in models.get_model_weights(args.arch)]
            sys.exit(f"export_torchvision: no weights {weights_arg!r} for {args.arch}; have DEFAULT, {', '.join(names)}, none")
        try:
            model = models.get_model(args.arch, weights=weights)  # downloads into $TORCH_HOME on first use
        except OSError as e:  # URLError, no network, proxy
            sys.exit(f"export_torchvision: cannot download {weights} ({e}).\nPretrained weights need internet "
                     f"access to download.pytorch.org (or the file already in $TORCH_HOME/hub/checkpoints: "
                     f"{weights.url.rsplit('/', 1)[-1]}). Offline, use --weights none or --checkpoint PATH.")
        desc = f"{args.arch} pretrained {weights}"
    model.eval()
    return model, desc, weights


def randomize_bn(model, bn_seed, torch):
    """Random BatchNorm statistics and affine parameters, in `model.modules()` order, from one
    generator: running_mean ~ N(0, 0.1), running_var ~ U(0.5, 1.5), weight ~ U(0.5, 1.5),
    bias ~ N(0, 0.1). With torch.manual_seed(0) before building torchvision resnet18 and
    bn_seed = 1 this reproduces shared/reference/resnet18/model.onnx's initializers bitwise
    (checked with torch 2.15 / torchvision 0.29). Returns the number of BN layers changed."""
    g = torch.Generator().manual_seed(bn_seed)
    n = 0
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                mod.running_mean.normal_(0.0, 0.1, generator=g)
                mod.running_var.uniform_(0.5, 1.5, generator=g)
                if mod.affine:
                    mod.weight.uniform_(0.5, 1.5, generator=g)
                    mod.bias.normal_(0.0, 0.1, generator=g)
                n += 1
    return n


def randomize_zero_params(model, seed, torch):
    """Redraws, in `model.named_parameters()` order from one generator, every parameter that is
    all zeros: N(0, 1/fan_in) for tensors of rank ≥ 2 (fan_in = the size of one output row),
    N(0, 0.1) for vectors. torchvision zero-initialises e.g. vit_b_16's head, so its random-init
    logits are all 0 and every gradient vanishes. Returns the number of parameters redrawn."""
    g = torch.Generator().manual_seed(seed)
    n = 0
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.numel() == 0 or bool(p.any()):
                continue
            std = p[0].numel() ** -0.5 if p.dim() >= 2 else 0.1
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * std)
            n += 1
    return n


def _few(keys, n=6):
    return ", ".join(keys[:n]) + (f", … ({len(keys)} in all)" if len(keys) > n else "") if keys else "none"


def _head_classes(model, state_dict, torch):
    """Output count of the model's last nn.Linear as stored in state_dict (None if not found)."""
    last = None
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear):
            last = name
    w = state_dict.get(f"{last}.weight") if last is not None else None
    return int(w.shape[0]) if w is not None and getattr(w, "ndim", 0) == 2 else None


def _load_checkpoint(path, unsafe, torch):
    try:
        obj = torch.load(path, map_location="cpu", weights_only=not unsafe)
    except Exception as e:  # pickle of a whole module, or not a torch file
        hint = "" if unsafe else ("\nIf the file pickles a whole nn.Module (torch.save(model, …)) and you trust it, "
                                  "add --unsafe-load.")
        sys.exit(f"export_torchvision: cannot load {path}: {type(e).__name__}: {e}{hint}")
    if isinstance(obj, torch.nn.Module):
        return obj
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model", "net"):
            if key in obj and isinstance(obj[key], (dict, torch.nn.Module)):
                obj = obj[key]
                break
    if isinstance(obj, torch.nn.Module):
        return obj
    if not isinstance(obj, dict):
        sys.exit(f"export_torchvision: {path} holds a {type(obj).__name__}, not a state_dict")
    out = {}
    for k, v in obj.items():
        for prefix in ("module.", "_orig_mod.", "model."):
            if k.startswith(prefix):
                k = k[len(prefix):]
        out[k] = v
    return out


def export(model, out, args, torch):
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    dummy = torch.zeros(1, 3, args.size, args.size)
    kwargs = dict(
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        opset_version=args.opset,
        do_constant_folding=args.fold,
        training=torch.onnx.TrainingMode.EVAL,
        export_params=True,
    )
    import inspect
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # TorchScript exporter: module-path tensor names, BN kept unfolded
    # Under no_grad in eval mode nn.MultiheadAttention (torchvision's ViT) takes its fused fast
    # path, aten::_native_multi_head_attention, which has no ONNX export; the ordinary path is
    # the same function and exports as MatMul/Softmax.
    fastpath = getattr(getattr(torch.backends, "mha", None), "set_fastpath_enabled", None)
    if fastpath:
        fastpath(False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        with torch.no_grad():
            torch.onnx.export(model, (dummy,), out, **kwargs)
    if fastpath:
        fastpath(True)


def summarize(out):
    """Op counts and the last 4-D activation (the usual CAM layer), or None without `onnx`."""
    try:
        import onnx
    except ImportError:
        return None
    m = onnx.load(out)
    counts = {}
    for n in m.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    last4d = None
    try:
        inferred = onnx.shape_inference.infer_shapes(m)
        rank = {vi.name: len(vi.type.tensor_type.shape.dim) for vi in inferred.graph.value_info}
        for n in inferred.graph.node:
            for o in n.output:
                if rank.get(o) == 4 and n.op_type in ("Relu", "Clip", "Conv", "BatchNormalization", "Add", "Concat"):
                    last4d = o
    except Exception:
        pass
    return counts, last4d


def check(model, out, args, torch):
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        sys.exit(f"export_torchvision: --check needs onnxruntime and numpy ({e}): pip install onnxruntime")
    g = torch.Generator().manual_seed(args.seed)
    x = torch.randn(2, 3, args.size, args.size, generator=g)
    with torch.no_grad():
        ref = model(x).numpy()
    so = ort.SessionOptions()
    so.intra_op_num_threads = max(1, torch.get_num_threads())
    sess = ort.InferenceSession(out, so, providers=["CPUExecutionProvider"])
    got = sess.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})[0]
    got1 = sess.run([OUTPUT_NAME], {INPUT_NAME: x[:1].numpy()})[0]
    diff = float(np.abs(got - ref).max())
    diff1 = float(np.abs(got1 - ref[:1]).max())
    scale = float(np.abs(ref).max())
    top_same = bool((got.argmax(1) == ref.argmax(1)).all())
    print(f"check: onnxruntime {ort.__version__} vs torch {torch.__version__} on randn(2,3,{args.size},{args.size}) "
          f"seed {args.seed}: max|diff| = {diff:.3g} (batch 2), {diff1:.3g} (batch 1); max|logit| = {scale:.3g}; "
          f"top-1 {'equal' if top_same else 'DIFFERENT'}")
    worst = max(diff, diff1)
    if not worst <= args.tol or not top_same:
        sys.exit(f"export_torchvision: CHECK FAILED: max|diff| {worst:.3g} > --tol {args.tol:g}")
    return worst


def main(argv=None):
    args = parse_args(argv)
    torch, torchvision = _import_torch()
    model, desc, weights = build_model(args, torch, torchvision)
    out = args.out
    if out is None:
        if args.checkpoint:
            stem = os.path.splitext(os.path.basename(args.checkpoint))[0]
        elif (args.weights or "none").lower() == "none":
            stem = f"{args.arch}-random-seed{args.seed}"
        else:
            stem = args.arch
        out = os.path.join("data", "models", stem + ".onnx")
    print(f"export: {desc} -> {out} (opset {args.opset}, torch {torch.__version__}, "
          f"constant folding {'on: BN fused into Conv' if args.fold else 'off: BatchNormalization kept'})")
    export(model, out, args, torch)
    with open(out, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    print(f"wrote {out}: {os.path.getsize(out) / 1e6:.1f} MB, sha256 {sha}")

    summary = summarize(out)
    last4d = None
    if summary:
        counts, last4d = summary
        print("ops: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])))

    labels_path = None
    if weights is not None and weights.meta.get("categories"):
        labels_path = os.path.splitext(out)[0] + ".labels.txt"
        with open(labels_path, "w") as f:
            f.write("\n".join(weights.meta["categories"]) + "\n")
        print(f"wrote {labels_path} ({len(weights.meta['categories'])} class names, one per line)")

    if args.check:
        check(model, out, args, torch)

    # What to put in an experiment TOML.
    resize_note = ""
    if weights is not None:
        try:
            t = weights.transforms()
            rs, cs = list(t.resize_size), list(t.crop_size)
            if rs != [256] or cs != [args.size]:
                resize_note = (f"\n# NOTE: these weights were evaluated with Resize({rs[0]}) + CenterCrop({cs[0]}); "
                               "Lantern's \"imagenet\" preset is Resize(256) + CenterCrop(224)")
        except Exception:
            pass
    print("\nPut this in your experiment TOML:\n")
    print("[model]")
    print(f'path = "{out}"')
    print('preprocess = "imagenet"        # torchvision eval transform: Resize(256) + CenterCrop(224), '
          'ImageNet mean/std;\n                               # "imagenet-squash" resizes the whole image to '
          f'{args.size}x{args.size} instead (no crop)' + resize_note)
    if labels_path:
        print(f'labels = "{labels_path}"')
    elif args.checkpoint:
        print('# labels = "data/my-classes.txt"   # your class names, one per line, in output order')
    if last4d:
        print(f'layer = "auto"                 # `lantern layers {out}` marks the default; the last 4-D '
              f'activation is\n                               # "{last4d}"')
    else:
        print(f'layer = "auto"                 # `lantern layers {out}` shows which tensor auto picks')
    return 0


if __name__ == "__main__":
    sys.exit(main())
