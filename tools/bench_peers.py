#!/usr/bin/env python3
"""Time the Python peers (Captum, pytorch-grad-cam) on the PyTorch twins of Lantern's bench models.

Run through `just bench-peers` (it makes the venv .lantern/peers-venv with torch, torchvision,
captum and grad-cam from PyPI, and `just bench-models` exports ViT-B/16 and ConvNeXt-T). Writes
reports/bench/peers.csv and peers.md, and, when `lantern bench` has written
reports/bench/bench.csv, reports/bench/peers-vs-lantern.md with Lantern/peer time ratios for the
matching (model, task) rows.

Models (--models): resnet18 (every method below) and, when data/models/<name>.onnx exists
(`just bench-models`), vit_b_16 and convnext_tiny (Captum Saliency and pytorch-grad-cam GradCAM).
The full-size architectures are rebuilt with tools/export_torchvision.py's own recipe
(`--weights none --seed 0`: torchvision init after torch.manual_seed(0), all-zero parameters
redrawn from seed 2) and checked against their ONNX file with onnxruntime (logits on the bench
input, ≤ --tol) before timing. Grad-CAM layers: ViT-B/16 `encoder.layers[-1].ln_1` with
pytorch-grad-cam's documented ViT `reshape_transform` (drop the class token, 196 tokens →
14×14 grid, channels first), ConvNeXt-T `features[-1]` (its last 7×7 stage output, the layer
Lantern's `auto` picks).

The model: torchvision resnet18, torch.manual_seed(0) init, then random BatchNorm statistics
(tools/export_torchvision.py `randomize_bn`, generator seed 1) — the recipe that produced
shared/reference/resnet18/model.onnx (its export is byte-identical). The twin is verified
before timing: torch logits on cat_dog_input.npy against cat_dog_logits.npy (≤ 1e-4), and,
when the `onnx` package is importable, every parameter against the ONNX initializers.

The input: the reference's exact tensor cat_dog_input.npy; without the reference folder,
data/photos/cat_dog.png (224×224: no resize) normalised with the ImageNet mean/std, as the
reference did; without that, a seeded random tensor (timings do not depend on pixel values).

Timings: one warm-up call, then the median of --repeats calls, with torch.set_num_threads(N)
(default 2), one image per call — the same protocol as `lantern bench` (median after a warm-up).
For a loaded machine, run `lantern bench` and this script alternately (interleaved) and take
the ratio of neighbouring runs; the CPU-seconds column barely moves with load.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (name, library, Lantern bench task it corresponds to, forward passes, backward passes, reference
# timings.json key, reference array + how to compare). Passes are for one 224×224 image on ResNet18.
METHODS = [
    ("Saliency", "captum", "saliency", 1, 1, "saliency"),
    ("Occlusion", "captum", "occlusion", 226, 0, "occlusion"),
    # Issue 16: the finer setting, against `lantern bench`'s row for the default plan (auto).
    ("Occlusion16", "captum", "occlusion 16/4 incremental=auto", 2810, 0, "occlusion_16_4"),
    ("IntegratedGradients", "captum", "integrated-gradients", 64, 64, "integrated_gradients"),
    ("LayerGradCam", "captum", "gradcam", 1, 1, "layer_grad_cam"),
    ("GradCAM", "pytorch-grad-cam", "gradcam", 1, 1, "grad_cam"),
    ("ScoreCAM", "pytorch-grad-cam", "scorecam", 513, 0, "score_cam"),
]
PARAMS = {
    "Saliency": "abs=True, max over channels",
    "Occlusion": "window (3,32,32), stride (3,14,14), baseline 0, perturbations_per_eval 64",
    "Occlusion16": "window (3,16,16), stride (3,4,4), baseline 0, perturbations_per_eval 64",
    "IntegratedGradients": "zeros baseline, 64 steps, riemann_trapezoid, internal_batch_size 64",
    "LayerGradCam": "layer4[-1], relu_attributions=True",
    "GradCAM": "target_layers [layer4[-1]], ClassifierOutputTarget",
    "ScoreCAM": "target_layers [layer4[-1]], batch_size 32",
}


# The full-size architectures (issue 12): peer methods, Grad-CAM layer, reshape_transform.
ARCH_METHODS = ("Saliency", "GradCAM")
ARCHS = {
    "vit_b_16": dict(
        layer="encoder.layers[-1].ln_1",
        onnx_layer="/encoder/layers/encoder_layer_11/ln_1/LayerNormalization_output_0",
        params={"Saliency": "abs=True, max over channels",
                "GradCAM": "target_layers [encoder.layers[-1].ln_1], reshape_transform: drop the class "
                           "token, 196 tokens -> 14x14 (pytorch-grad-cam's ViT recipe), ClassifierOutputTarget"}),
    "convnext_tiny": dict(
        layer="features[-1]",
        onnx_layer="/features/features.7/features.7.2/Add_output_0",
        params={"Saliency": "abs=True, max over channels",
                "GradCAM": "target_layers [features[-1]] (last stage, 768x7x7), ClassifierOutputTarget"}),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="bench_peers.py",
        description="Time Captum and pytorch-grad-cam on the PyTorch twins of the ResNet18 reference "
        "model, ViT-B/16 and ConvNeXt-T; write peers.csv / peers.md and, with Lantern's bench.csv, "
        "peers-vs-lantern.md.")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2, as the reference timings)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per method after one warm-up; the median is reported (default 3)")
    p.add_argument("--reference", default=None,
                   help="the reference resnet18 folder (default: $LANTERN_ASSETS/../reference/resnet18, "
                        "../shared/reference/resnet18, data/reference/resnet18)")
    p.add_argument("--photo", default=os.path.join(ROOT, "data", "photos", "cat_dog.png"),
                   help="fallback image when the reference folder is missing")
    p.add_argument("--out", default=os.path.join(ROOT, "reports", "bench"), help="output folder (default reports/bench)")
    p.add_argument("--lantern-csv", default=None, help="Lantern's bench.csv (default OUT/bench.csv)")
    p.add_argument("--methods", default=",".join(m[0] for m in METHODS),
                   help="comma-separated subset of: " + ", ".join(m[0] for m in METHODS))
    p.add_argument("--tol", type=float, default=1e-4, help="twin check: max |logit diff| allowed (default 1e-4)")
    p.add_argument("--models", default="resnet18," + ",".join(ARCHS),
                   help="comma-separated subset of: resnet18, " + ", ".join(ARCHS)
                        + " (default: all; an architecture whose ONNX file is missing is skipped with a hint)")
    p.add_argument("--lantern-bin", default=os.path.join(ROOT, "target", "release", "lantern"),
                   help="the lantern binary: on the architectures, each peer call alternates with one ONNX "
                        "Runtime run of Lantern's own graph for the same map (`lantern grad`: the input-gradient "
                        "graph for Saliency, the graph stopped at the CAM layer for GradCAM), in this process "
                        "with the same threads — a ratio that load on the machine cannot skew (default "
                        "target/release/lantern; skipped when missing)")
    p.add_argument("--models-dir", default=os.path.join(ROOT, "data", "models"),
                   help="where `just bench-models` put vit_b_16.onnx and convnext_tiny.onnx (default data/models)")
    return p.parse_args(argv)


def find_reference(arg):
    cands = [arg] if arg else []
    if os.environ.get("LANTERN_ASSETS"):
        cands.append(os.path.join(os.environ["LANTERN_ASSETS"], "..", "reference", "resnet18"))
    cands += [os.path.join(ROOT, "..", "shared", "reference", "resnet18"),
              os.path.join(ROOT, "data", "reference", "resnet18")]
    for c in cands:
        if c and os.path.isfile(os.path.join(c, "cat_dog_input.npy")):
            return os.path.normpath(c)
    if arg:
        print(f"bench_peers: no cat_dog_input.npy in {arg}; falling back", file=sys.stderr)
    return None


def build_twin(torch, torchvision):
    sys.path.insert(0, HERE)
    from export_torchvision import randomize_bn
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None)
    randomize_bn(model, 1, torch)
    return model.eval()


def verify_twin(model, ref_dir, x, tol, torch, np):
    """Returns a list of human-readable lines; raises SystemExit when the twin is wrong."""
    lines = []
    if ref_dir is None:
        return ["twin NOT verified: no reference folder (logits and initializers not compared)"], None
    with torch.no_grad():
        logits = model(x)[0].numpy()
    ref = np.load(os.path.join(ref_dir, "cat_dog_logits.npy"))
    diff = float(np.abs(logits - ref).max())
    ok = diff <= tol and int(logits.argmax()) == int(ref.argmax())
    lines.append(f"twin logits vs cat_dog_logits.npy: max |diff| = {diff:.3g} (tolerance {tol:g}), "
                 f"top-1 {int(logits.argmax())} vs {int(ref.argmax())}: {'OK' if ok else 'MISMATCH'}")
    try:
        import onnx
        from onnx import numpy_helper
        m = onnx.load(os.path.join(ref_dir, "model.onnx"))
        sd = model.state_dict()
        inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
        same = sum(1 for k, v in inits.items() if k in sd and np.array_equal(sd[k].numpy(), v))
        lines.append(f"twin parameters vs model.onnx initializers: {same}/{len(inits)} bitwise equal")
    except ImportError:
        lines.append("(onnx not installed: parameters not compared with model.onnx; the logits check stands)")
    if not ok:
        sys.exit("bench_peers: the PyTorch twin does not reproduce the reference logits:\n  " + "\n  ".join(lines))
    return lines, diff


def build_arch(arch, torch, torchvision):
    """The network tools/export_torchvision.py exports for `--arch ARCH --weights none --seed 0`."""
    sys.path.insert(0, HERE)
    import export_torchvision
    model, _, _ = export_torchvision.build_model(
        export_torchvision.parse_args(["--arch", arch, "--weights", "none", "--seed", "0"]), torch, torchvision)
    return model.eval()


def verify_arch(model, onnx_path, x, tol, threads, torch, np):
    """torch logits vs onnxruntime on the ONNX export; returns a line, exits on a mismatch."""
    try:
        import onnxruntime as ort
    except ImportError:
        return f"{onnx_path}: twin NOT verified (onnxruntime not installed)"
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0][0]
    with torch.no_grad():
        ref = model(x)[0].numpy()
    diff = float(np.abs(got - ref).max())
    ok = diff <= tol and int(got.argmax()) == int(ref.argmax()) and float(np.abs(ref).max()) > 0
    line = (f"twin logits vs onnxruntime on {os.path.relpath(onnx_path, ROOT)}: max |diff| = {diff:.3g} "
            f"(tolerance {tol:g}; max |logit| {float(np.abs(ref).max()):.3g}), top-1 {int(ref.argmax())} vs "
            f"{int(got.argmax())}: {'OK' if ok else 'MISMATCH'}")
    if not ok:
        sys.exit("bench_peers: the PyTorch model is not the ONNX model:\n  " + line
                 + "\n  (re-export with `just bench-models` after deleting the file)")
    return line


def make_arch_runners(arch, model, x, target):
    """Captum Saliency and pytorch-grad-cam GradCAM on a full-size architecture."""
    from captum.attr import Saliency
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    reshape = None
    if arch == "vit_b_16":
        layer = model.encoder.layers[-1].ln_1

        def reshape(tensor, height=14, width=14):
            # pytorch-grad-cam's ViT example: drop the class token, tokens -> grid, channels first.
            result = tensor[:, 1:, :].reshape(tensor.size(0), height, width, tensor.size(2))
            return result.transpose(2, 3).transpose(1, 2)
    else:
        layer = model.features[-1]
    saliency = Saliency(model)
    gradcam = GradCAM(model=model, target_layers=[layer], reshape_transform=reshape)
    targets = [ClassifierOutputTarget(target)]
    return {
        "Saliency": lambda: saliency.attribute(x, target=target, abs=True)[0].max(0).values.detach().numpy(),
        "GradCAM": lambda: gradcam(input_tensor=x, targets=targets)[0],
    }


def load_input(ref_dir, photo, torch, np):
    if ref_dir:
        x = np.load(os.path.join(ref_dir, "cat_dog_input.npy"))
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), os.path.join(ref_dir, "cat_dog_input.npy")
    if os.path.isfile(photo):
        from PIL import Image
        img = Image.open(photo).convert("RGB")
        if img.size != (224, 224):
            img = img.resize((224, 224), Image.BILINEAR)
        a = np.asarray(img, dtype=np.float32) / 255.0
        a = (a - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
        return torch.from_numpy(a.transpose(2, 0, 1)[None].astype(np.float32).copy()), f"{photo} (squash 224, ImageNet mean/std)"
    g = torch.Generator().manual_seed(0)
    return torch.randn(1, 3, 224, 224, generator=g), "torch.randn(1,3,224,224) seed 0 (no reference, no photo)"


def make_runners(model, x, target, torch, np):
    """name -> (callable computing the library's map as numpy, reference file, comparison)."""
    from captum.attr import IntegratedGradients, LayerGradCam, Occlusion, Saliency
    from pytorch_grad_cam import GradCAM, ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    layer = model.layer4[-1]
    targets = [ClassifierOutputTarget(target)]
    saliency, occlusion, ig = Saliency(model), Occlusion(model), IntegratedGradients(model)
    lgc = LayerGradCam(model, layer)
    gradcam = GradCAM(model=model, target_layers=[layer])
    scorecam = ScoreCAM(model=model, target_layers=[layer])
    scorecam.batch_size = 32

    def run_saliency():
        return saliency.attribute(x, target=target, abs=True)[0].max(0).values.detach().numpy()

    def run_occlusion():
        return occlusion.attribute(x, target=target, sliding_window_shapes=(3, 32, 32), strides=(3, 14, 14),
                                   baselines=0, perturbations_per_eval=64)[0, 0].detach().numpy()

    def run_occlusion16():
        return occlusion.attribute(x, target=target, sliding_window_shapes=(3, 16, 16), strides=(3, 4, 4),
                                   baselines=0, perturbations_per_eval=64)[0, 0].detach().numpy()

    def run_ig():
        return ig.attribute(x, target=target, baselines=0, n_steps=64, method="riemann_trapezoid",
                            internal_batch_size=64)[0].detach().numpy()

    def run_lgc():
        return lgc.attribute(x, target=target, relu_attributions=True)[0, 0].detach().numpy()

    def run_gradcam():
        return gradcam(input_tensor=x, targets=targets)[0]

    def run_scorecam():
        return scorecam(input_tensor=x, targets=targets)[0]

    return {
        "Saliency": (run_saliency, "cat_dog_saliency.npy"),
        "Occlusion": (run_occlusion, "cat_dog_occlusion.npy"),
        "Occlusion16": (run_occlusion16, None),
        "IntegratedGradients": (run_ig, "cat_dog_integrated-gradients.npy"),
        "LayerGradCam": (run_lgc, "cat_dog_layer-grad-cam.npy"),
        "GradCAM": (run_gradcam, "cat_dog_grad-cam.npy"),
        "ScoreCAM": (run_scorecam, "cat_dog_score-cam.npy"),
    }


def timed(fn, repeats):
    """(median wall s, min wall s, median process CPU s, last output) after one warm-up call.
    CPU time (all threads of this process) barely moves when other processes share the CPU,
    wall time does: compare the two to judge a noisy run."""
    out = fn()  # warm-up
    times, cpu = [], []
    for _ in range(repeats):
        c, t = time.process_time(), time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(times), min(times), statistics.median(cpu), out


def timed_interleaved(peer, graph, repeats):
    """`timed` for the peer, with one call of `graph` after each peer call (one warm-up of each):
    (peer median, peer min, peer CPU median, peer output, graph median, graph min)."""
    out = peer()
    graph()
    times, cpu, gtimes = [], [], []
    for _ in range(repeats):
        c, t = time.process_time(), time.perf_counter()
        out = peer()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        t = time.perf_counter()
        graph()
        gtimes.append(time.perf_counter() - t)
    return (statistics.median(times), min(times), statistics.median(cpu), out,
            statistics.median(gtimes), min(gtimes))


def timed_blocks(peer, graph, repeats):
    """Peer and graph timed in alternating blocks (peer ×repeats, graph ×repeats, twice: ABAB),
    one warm-up each: (peer median, graph median). On a small machine the idle workers of the
    thread pool that just ran still spin for a while and slow the other side down; call-by-call
    interleaving charges that to both, blocks charge it to neither."""
    peer()
    graph()
    ptimes, gtimes = [], []
    for _ in range(2):
        for fn, times in ((peer, ptimes), (graph, gtimes)):
            for _ in range(repeats):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
    return statistics.median(ptimes), statistics.median(gtimes)


def lantern_explain_process(bin_path, onnx_path, x, target, params, threads, out_dir, np):
    """A callable running one whole `lantern explain --method occlusion` process (start-up, model
    load, plan, every window, writing the map) on the tensor the peer gets (`--input-npy`)."""
    import subprocess
    os.makedirs(out_dir, exist_ok=True)
    x_path = os.path.join(out_dir, "input.npy")
    np.save(x_path, x.numpy().astype(np.float32))
    cmd = [bin_path, "explain", "--model", onnx_path, "--input-npy", x_path, "--method", "occlusion",
           "--target", str(target), "--threads", str(threads), "-q", "--out", os.path.join(out_dir, "maps")]
    for p in params:
        cmd += ["--param", p]
    return lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def lantern_graphs(bin_path, arch, onnx_path, spec, out_dir, x, target, threads, np):
    """ONNX Runtime callables running Lantern's graphs for `arch` (written with `lantern grad`
    into out_dir/graphs): {"Saliency": input gradient, "GradCAM": stopped at the CAM layer}."""
    import subprocess
    import onnxruntime as ort
    gdir = os.path.join(out_dir, "graphs")
    os.makedirs(gdir, exist_ok=True)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    runs = {}
    for name, extra in (("Saliency", []), ("GradCAM", ["--layer", spec["onnx_layer"], "--layers-only"])):
        path = os.path.join(gdir, f"{arch}.{name.lower()}.onnx")
        if not os.path.isfile(path) or os.path.getmtime(path) < os.path.getmtime(onnx_path):
            subprocess.run([bin_path, "grad", onnx_path, *extra, "-o", path], check=True,
                           stdout=subprocess.DEVNULL)
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        runs[name] = sess
    seed = np.zeros((1, 1000), np.float32)
    seed[0, target] = 1.0
    feeds = {"input": x.numpy(), "seed": seed}
    return {name: (lambda sess=sess: sess.run(None, feeds)) for name, sess in runs.items()}


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_peers(out, rows, meta):
    os.makedirs(out, exist_ok=True)
    cols = ["model", "method", "library", "lantern_task", "seconds_per_image", "min_seconds", "cpu_seconds", "threads", "repeats",
            "forward_passes", "backward_passes", "reference_seconds", "max_abs_diff_vs_reference",
            "lantern_graph_seconds", "lantern_graph_min_seconds", "peer_block_seconds",
            "lantern_graph_block_seconds", "lantern_graph_kind", "params"]
    with open(os.path.join(out, "peers.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in cols})
    md = ["# Python peers on the PyTorch twins of Lantern's bench models", "",
          "| model | method | library | s/image (median) | min s | CPU s | threads | passes (fwd+bwd) | reference s/image (timings.json) | max abs diff vs reference map | Lantern's graph s, interleaved (min) |",
          "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ref_s = f"{r['reference_seconds']:.3f}" if r["reference_seconds"] != "" else "—"
        diff = f"{r['max_abs_diff_vs_reference']:.2g}" if r["max_abs_diff_vs_reference"] != "" else "—"
        g = r.get("lantern_graph_seconds", "")
        graph = f"{g:.3f} ({r['lantern_graph_min_seconds']:.3f})" if g != "" else "—"
        if g != "" and r.get("lantern_graph_kind", "").startswith("lantern explain"):
            graph += ", whole `lantern explain` process"
        md.append(f"| {r['model']} | {r['method']} | {r['library']} | {r['seconds_per_image']:.3f} | {r['min_seconds']:.3f} | "
                  f"{r['cpu_seconds']:.3f} | {r['threads']} | "
                  f"{r['forward_passes']}+{r['backward_passes']} | {ref_s} | {diff} | {graph} |")
    md += ["", "Parameters: " + "; ".join(f"{r['model']} {r['method']}: {r['params']}" for r in rows) + ".", ""]
    md += [f"- {line}" for line in meta]
    md.append("")
    with open(os.path.join(out, "peers.md"), "w") as f:
        f.write("\n".join(md))
    return "\n".join(md)


def write_comparison(out, lantern_csv, rows, peer_threads, twins):
    """`twins`: model -> how its PyTorch twin was checked against the ONNX model (None: not checked)."""
    models = {r["model"] for r in rows}
    with open(lantern_csv, newline="") as f:
        lrows = [r for r in csv.DictReader(f) if r.get("model") in models]
    if not lrows:
        return None, f"no rows for {', '.join(sorted(models))} in " + lantern_csv
    by_task = {(r["model"], r["task"]): r for r in lrows}
    md = ["# Lantern vs the Python peers (same networks, CPU)", "",
          "ratio = Lantern s/image ÷ peer s/image (below 1: Lantern is faster); speed-up = its inverse. "
          "interleaved = the ONNX Runtime run of Lantern's own graph for the map ÷ the peer, alternating call "
          "by call in one process: medians, and the ratio of the fastest calls (the least disturbed by other "
          "processes). in blocks = the same two, timed in alternating blocks of calls (ABAB): no thread pool "
          "spins while the other side runs.", "",
          "| model | Lantern task | peer | Lantern s/image | peer s/image | ratio | speed-up | interleaved (Lantern graph s / peer s) | in blocks (Lantern graph s / peer s) | Lantern passes | peer passes | threads (Lantern / peer) |",
          "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    notes, matched = [], 0
    for r in rows:
        lr = by_task.get((r["model"], r["lantern_task"]))
        if lr is None:
            notes.append(f"{r['model']} {r['method']}: no `{r['lantern_task']}` row for {r['model']} in bench.csv")
            continue
        ls = float(lr["seconds_per_image"])
        ratio = ls / r["seconds_per_image"]
        lthreads = lr.get("threads", "?")
        if lthreads == "all":
            lthreads = f"all ({os.cpu_count()})"
        g = r.get("lantern_graph_seconds", "")
        inter = (f"{g / r['seconds_per_image']:.2f} ({g:.3f} / {r['seconds_per_image']:.3f}); of the minima "
                 f"{r['lantern_graph_min_seconds'] / r['min_seconds']:.2f}" if g != "" else "—")
        gb, pb = r.get("lantern_graph_block_seconds", ""), r.get("peer_block_seconds", "")
        blocks = f"{gb / pb:.2f} ({gb:.3f} / {pb:.3f})" if gb != "" else "—"
        md.append(f"| {r['model']} | {r['lantern_task']} | {r['library']} {r['method']} | {ls:.3f} | {r['seconds_per_image']:.3f} | "
                  f"{ratio:.2f} | {1 / ratio:.1f}× | {inter} | {blocks} | {lr.get('forward_passes', '?')}+{lr.get('backward_passes', '?')} | "
                  f"{r['forward_passes']}+{r['backward_passes']} | {lthreads} / {peer_threads} |")
        matched += 1
        lt = lr.get("threads", "")
        if lt not in (str(peer_threads), "all") or (lt == "all" and os.cpu_count() != peer_threads):
            notes.append(f"{r['lantern_task']}: thread counts differ (Lantern {lt}, peers {peer_threads}); "
                         f"rerun one side with the other's count for a fair ratio")
    notes = list(dict.fromkeys(notes))
    same = [f"{m}: {how}" for m, how in twins.items() if m in models and how]
    unchecked = [m for m, how in twins.items() if m in models and not how]
    md += ["",
           ("- Same model: each ONNX model and its PyTorch twin are the same network (" + "; ".join(same) + "). "
            if same else "")
           + (f"NOT verified: {', '.join(unchecked)} (no reference folder / onnxruntime). " if unchecked else "")
           + "One 224×224 image per call, median after a warm-up on both sides, CPU; both CSVs must come "
           "from this machine.",
           "- Lantern's bench feeds cat_dog.png through its `imagenet` preset; the peers get the reference "
           "tensor cat_dog_input.npy. The work per map does not depend on pixel values (same passes), so "
           "the times compare; the target class may differ.",
           "- Interleaved column: Lantern's graphs come from `lantern grad` (input gradient; `--layer L "
           "--layers-only` for Grad-CAM) and run on onnxruntime from Python with the same threads; `lantern "
           "bench`'s overhead column (Lantern ÷ pure ONNX Runtime on the same graphs) gives what Lantern adds. "
           "On resnet18's Occlusion rows it is instead one whole `lantern explain --method occlusion` process "
           "(start-up, model load, plan, every window, writing the map) on the peer's tensor (`--input-npy`), "
           "interleaved call by call with Captum's `Occlusion.attribute`.",
           "- Grad-CAM layers: resnet18 layer4[-1]; vit_b_16 encoder.layers[-1].ln_1 (Lantern: the same "
           "LayerNormalization output); convnext_tiny features[-1] (Lantern: its `auto` layer, the same tensor).",
           "- Batching differs by default: Lantern sends 32 images per ONNX Runtime call (bench `--batch`), "
           "Captum Occlusion/IG use 64 (perturbations_per_eval / internal_batch_size), ScoreCAM 32.",
           f"- Lantern rows from {os.path.relpath(lantern_csv, ROOT) if lantern_csv.startswith(ROOT) else lantern_csv}; "
           "peer rows from peers.csv (same folder)."]
    md += [f"- {n}" for n in notes]
    md.append("")
    path = os.path.join(out, "peers-vs-lantern.md")
    with open(path, "w") as f:
        f.write("\n".join(md))
    return path, f"{matched} matched rows"


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")  # pytorch-grad-cam's ScoreCAM progress bar
    try:
        import numpy as np
        import torch
        import torchvision
        import captum
        import pytorch_grad_cam  # noqa: F401
    except ImportError as e:
        sys.exit(f"bench_peers: {e}. Run it through `just bench-peers`, which makes .lantern/peers-venv "
                 "(pip install torch torchvision captum grad-cam).")
    from importlib.metadata import version

    wanted = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in wanted if m not in {m[0] for m in METHODS}]
    if unknown:
        sys.exit(f"bench_peers: unknown method(s) {unknown}; have {[m[0] for m in METHODS]}")

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m != "resnet18" and m not in ARCHS]
    if unknown:
        sys.exit(f"bench_peers: unknown model(s) {unknown}; have resnet18, {', '.join(ARCHS)}")

    torch.set_num_threads(args.threads)
    ref_dir = find_reference(args.reference)
    x, source = load_input(ref_dir, args.photo, torch, np)
    import warnings
    warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    rows, model_lines, twins = [], [], {}

    def add_row(model_name, name, lib, task, fwd, bwd, fn, params, ref_seconds="", ref_file=None, graph=None,
                graph_label="Lantern's graph", blocks=True):
        gmed = gmin = pblock = gblock = ""
        if graph:
            med, mn, cpu_s, out, gmed, gmin = timed_interleaved(fn, graph, args.repeats)
            if blocks:
                pblock, gblock = timed_blocks(fn, graph, args.repeats)
        else:
            med, mn, cpu_s, out = timed(fn, args.repeats)
        diff = ""
        if ref_file and os.path.isfile(ref_file):
            r = np.load(ref_file)
            if r.shape == np.shape(out):
                diff = float(np.abs(np.asarray(out, dtype=np.float32) - r).max())
        rows.append(dict(model=model_name, method=name, library=lib, lantern_task=task, seconds_per_image=med,
                         min_seconds=mn, cpu_seconds=cpu_s, threads=args.threads, repeats=args.repeats,
                         forward_passes=fwd, backward_passes=bwd, reference_seconds=ref_seconds,
                         max_abs_diff_vs_reference=diff, lantern_graph_seconds=gmed, lantern_graph_min_seconds=gmin,
                         peer_block_seconds=pblock, lantern_graph_block_seconds=gblock,
                         lantern_graph_kind=graph_label if graph else "", params=params))
        print(f"{model_name:14s} {name:20s} {med:8.3f} s/image (min {mn:.3f}, CPU {cpu_s:.3f} s, {args.repeats} runs "
              "after a warm-up" + (f"; reference {ref_seconds:.3f} s" if ref_seconds != "" else "") + ")"
              + (f"; max |map - reference| = {diff:.2g}" if diff != "" else "")
              + (f"; {graph_label} interleaved: {gmed:.3f} s (min {gmin:.3f}), ratio {gmed / med:.2f}"
                 if gmed != "" else "")
              + (f"; in blocks: peer {pblock:.3f} s, {graph_label} {gblock:.3f} s, ratio {gblock / pblock:.2f}"
                 if gblock != "" else ""), flush=True)

    ref_timings, ref_threads = {}, None
    if "resnet18" in models:
        model = build_twin(torch, torchvision)
        twin_lines, _ = verify_twin(model, ref_dir, x, args.tol, torch, np)
        for line in twin_lines:
            print(line)
        twins["resnet18"] = "logits and parameters" if ref_dir else None
        with torch.no_grad():
            target = int(model(x)[0].argmax())
        if ref_dir and os.path.isfile(os.path.join(ref_dir, "timings.json")):
            with open(os.path.join(ref_dir, "timings.json")) as f:
                tj = json.load(f)
            ref_timings = tj.get("per_image", {}).get("cat_dog", {}) or tj.get("mean_over_images", {})
            ref_threads = tj.get("torch_threads")
        model_lines += [
            f"resnet18: torchvision resnet18, seed 0, random BN statistics (generator seed 1) = the PyTorch twin of "
            f"{os.path.join(ref_dir, 'model.onnx') if ref_dir else 'shared/reference/resnet18/model.onnx'}; "
            f"target = top-1 = {target}",
            *twin_lines]
        runners = make_runners(model, x, target, torch, np)
        # Occlusion against a whole `lantern explain` process on the same tensor (issue 16's check).
        processes = {}
        if ref_dir and os.path.isfile(args.lantern_bin):
            for name, params in (("Occlusion", ["window=32", "stride=14"]), ("Occlusion16", ["window=16", "stride=4"])):
                processes[name] = lantern_explain_process(
                    args.lantern_bin, os.path.join(ref_dir, "model.onnx"), x, target, params, args.threads,
                    os.path.join(args.out, "explain-" + name.lower()), np)
        for name, lib, task, fwd, bwd, tkey in METHODS:
            if name in wanted:
                fn, ref_file = runners[name]
                add_row("resnet18", name, lib, task, fwd, bwd, fn, PARAMS[name], ref_timings.get(tkey, ""),
                        os.path.join(ref_dir, ref_file) if ref_dir and ref_file else None,
                        graph=processes.get(name), graph_label="lantern explain (whole process)", blocks=False)

    for arch, spec in ARCHS.items():
        if arch not in models or not any(m in wanted for m in ARCH_METHODS):
            continue
        onnx_path = os.path.join(args.models_dir, arch + ".onnx")
        if not os.path.isfile(onnx_path):
            line = f"{arch}: {onnx_path} missing, not timed: `just bench-models` exports it"
            print("bench_peers: " + line, file=sys.stderr)
            model_lines.append(line)
            continue
        model = build_arch(arch, torch, torchvision)
        line = verify_arch(model, onnx_path, x, args.tol, args.threads, torch, np)
        print(f"{arch}: {line}")
        twins[arch] = "logits checked with onnxruntime"
        with torch.no_grad():
            target = int(model(x)[0].argmax())
        model_lines += [f"{arch}: torchvision {arch}, tools/export_torchvision.py --weights none --seed 0; "
                        f"target = top-1 = {target}", f"{arch}: {line}"]
        runners = make_arch_runners(arch, model, x, target)
        graphs = {}
        if os.path.isfile(args.lantern_bin):
            graphs = lantern_graphs(args.lantern_bin, arch, onnx_path, spec, args.out, x, target, args.threads, np)
        else:
            print(f"bench_peers: no {args.lantern_bin} (cargo build --release): the interleaved Lantern-graph "
                  "column stays empty", file=sys.stderr)
        for name, lib, task, fwd, bwd, _ in METHODS:
            if name in ARCH_METHODS and name in wanted:
                add_row(arch, name, lib, task, fwd, bwd, runners[name], spec["params"][name], graph=graphs.get(name))

    load_after = os.getloadavg() if hasattr(os, "getloadavg") else None
    meta = [
        *model_lines,
        f"input: {source}",
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, captum {captum.__version__}, "
        f"grad-cam {version('grad-cam')}; Python {platform.python_version()}",
        f"torch.set_num_threads({args.threads}); CPU: {cpu_name()}, {os.cpu_count()} logical cores",
        f"one warm-up call, then the median of {args.repeats} calls per method",
        (f"1-minute load average before / after: {load_before[0]:.2f} / {load_after[0]:.2f} "
         f"(well above 0 on {os.cpu_count()} cores means other processes shared the CPU: the times are pessimistic)")
        if load_before else "load average unavailable",
        ("reference s/image: the same libraries timed when the reference was made "
         f"(timings.json, {ref_threads} torch threads)") if ref_timings else "no reference timings.json",
        "max abs diff vs reference map: this run's map against the reference array (saliency, occlusion "
        "channel 0, IG, layer-grad-cam raw, grad-cam and score-cam library maps): the timed work is the reference's",
    ]
    md = write_peers(args.out, rows, meta)
    print(f"\nwrote {os.path.join(args.out, 'peers.csv')} and peers.md\n")
    print(md)
    lantern_csv = args.lantern_csv or os.path.join(args.out, "bench.csv")
    if os.path.isfile(lantern_csv):
        path, what = write_comparison(args.out, lantern_csv, rows, args.threads, twins)
        if path:
            print(f"wrote {path} ({what})\n")
            with open(path) as f:
                print(f.read())
        else:
            print(f"bench_peers: no comparison: {what}")
    else:
        print(f"(no {lantern_csv}: run `just bench` for the Lantern side, then `just bench-peers` "
              "again, or pass --lantern-csv)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
