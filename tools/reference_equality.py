"""Record whether keyarch's networks compute what the reference implementations compute:
for every model torchvision or timm has the same network of, the reference is built with
random weights (its batch norms' running statistics randomised), its state dict converted
into keyarch's model (keyarch.compat), and both run on the same two random images at the
card's input size. The largest logit difference, and the largest logit for scale, go to
``docs/reference/equality.json``, which ``keyarch guide`` shows beside each model.

    .venv/bin/python tools/reference_equality.py --out docs/reference/equality.json

Needs the ``timm`` extra (and torchvision); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import timm
    import torchvision

    from keyarch.analysis.against import SOURCES, paired_models, references
    from keyarch.registry import model_card

    rows = []
    for source in SOURCES:
        for name in references(source):
            started = time.time()
            ours, reference = paired_models(name, source)
            torch.manual_seed(1)
            x = torch.randn(2, *model_card(name).input_size)
            with torch.no_grad():
                theirs, mine = reference.eval()(x), ours.eval()(x)
            row = {"model": name, "source": source,
                   "input": list(model_card(name).input_size),
                   "max_abs_difference": float((theirs - mine).abs().max()),
                   "max_abs_logit": float(theirs.abs().max()),
                   "seconds": round(time.time() - started, 1)}  # fmt: skip
            rows.append(row)
            print(f"{source:<12} {name:<22} max |diff| {row['max_abs_difference']:.2e} "
                  f"(logits up to {row['max_abs_logit']:.2f})", flush=True)  # fmt: skip
    document = {
        "command": "python tools/reference_equality.py --out " + args.out,
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "timm": timm.__version__, "python": platform.python_version(),
        "rows": rows,
    }  # fmt: skip
    Path(args.out).write_text(json.dumps(document, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
