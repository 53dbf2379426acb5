#!/usr/bin/env python3
"""Turn the zoo test's report (LANTERN_ZOO_REPORT, written by
crates/lantern-graph/src/autodiff/zoo_tests.rs) into the README's supported-architectures table.

    python tools/zoo_table.py REPORT.json [--readme README.md]

Without --readme the table is printed; with it, the text between `<!-- zoo:begin -->` and
`<!-- zoo:end -->` is replaced. Standard library only.

Measures (criterion 2 of issue 12) are of an input gradient g against float64 autograd r:
p999 = 99.9th percentile of |g - r| / max |r|, rel_l2 = ||g - r|| / ||r||; "Lantern" is the
gradient graph on ONNX Runtime (float32), "torch" is PyTorch's own float32 autograd.
A failing model that tools/zoo_kinks.py examined (`kinks` in its row) says in the notes whether
a few kinks taken on the other side by float32 round-off (ReLU units, max-pool near-ties)
account for the difference, and how close the float64 reference with those flips comes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

BEGIN, END = "<!-- zoo:begin -->", "<!-- zoo:end -->"


def fmt(v):
    return "–" if v is None else f"{v:.1e}"


def note(m):
    result = m.get("result")
    if result == "not exported":
        return f"PyTorch's exporter failed: {m.get('error', '?')}"
    if "error" in m:
        return m["error"].replace("|", "\\|")
    if result == "fail":
        n, total = m.get("beyond_torch_max", 0), m.get("elements", 0)
        text = f"{n} of {total} input values beyond torch's largest float32 error"
        k = m.get("kinks")
        if k and k.get("explained"):
            parts = []
            if k["relu_flips"]:
                parts.append(f"{k['relu_flips']} ReLU unit{'s' if k['relu_flips'] > 1 else ''}")
            if k["maxpool_flips"]:
                parts.append(f"{k['maxpool_flips']} max-pool near-tie"
                             f"{'s' if k['maxpool_flips'] > 1 else ''}")
            text = (f"kinks: {' and '.join(parts)} lie within {k['largest_distance']:.0e} "
                    f"(relative, float64) of a kink and float32 round-off takes them on the other "
                    f"side; with those flipped, float64 autograd is within p999 "
                    f"{k['after']['p999']:.1e}, rel_l2 {k['after']['rel_l2']:.1e} of Lantern's "
                    f"(tools/zoo_kinks.py); " + text)
        elif k:
            text = "not explained by kinks (tools/zoo_kinks.py): " + text
        return text
    return ""


def table(report):
    rows = [
        "| architecture | exporter | opset | input | Lantern p999 | torch p999 | Lantern rel_l2 "
        "| torch rel_l2 | criterion 2 | notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in report["models"]:
        lantern, torch = m.get("lantern") or {}, m.get("torch") or {}
        shape = m.get("input_shape") or []
        size = "×".join(str(d) for d in shape[2:]) if len(shape) == 4 else "–"
        result = {"pass": "pass", "fail": "**fail**"}.get(m.get("result"), m.get("result", "?"))
        rows.append(
            f"| {m.get('description') or m['name']} | {m['exporter']} | {m.get('opset') or '–'} "
            f"| {size} | {fmt(lantern.get('p999'))} | {fmt(torch.get('p999'))} "
            f"| {fmt(lantern.get('rel_l2'))} | {fmt(torch.get('rel_l2'))} | {result} "
            f"| {note(m)} |")
    versions = ", ".join(f"{k} {v}" for k, v in (report.get("versions") or {}).items())
    passed = sum(m.get("result") == "pass" for m in report["models"])
    footer = (f"\n{passed} of {len(report['models'])} pass ({report.get('criterion', '')}). "
              f"Exported with {versions}.")
    return "\n".join(rows) + "\n" + footer


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("report")
    p.add_argument("--readme", help="README to update between the zoo markers")
    a = p.parse_args(argv)
    with open(a.report) as f:
        text = table(json.load(f))
    if not a.readme:
        print(text)
        return 0
    with open(a.readme) as f:
        readme = f.read()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(readme):
        sys.exit(f"{a.readme}: no {BEGIN} … {END} markers")
    readme = pattern.sub(lambda _: f"{BEGIN}\n{text}\n{END}", readme, count=1)
    with open(a.readme, "w") as f:
        f.write(readme)
    print(f"{a.readme}: table of {text.count(chr(10)) - 3} models written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
