"""captioning-end-to-end: training the CNN with the LSTM against keeping it frozen.

Vinyals, Toshev, Bengio and Erhan (2015), "Show and Tell", and the seeds' description of
neural image captioning: one network, a CNN encoder and an LSTM decoder, trained end to end
by backpropagation through both. The journal version (2016, section 4.3.1) reports that
fine-tuning the CNN after the LSTM has trained improves BLEU-4 (and other metrics) on COCO.
Here: the synthetic captions of keyarch (``keyarch caption train``: coloured shapes and
their relations, and a *novel* split of colour-shape pairs never seen in training), the same
encoder and decoder trained end to end and with the encoder frozen, for the same number of
epochs and, frozen, for about the same wall time (the frozen run is about twice as fast per
epoch, so it gets more epochs).
"""

from __future__ import annotations

import time
from dataclasses import replace

from keyarch.experiments.report import Report, pyplot, save_figure
from keyarch.experiments.training import Runs, slug
from keyarch.train.recipes import get_recipe

PROFILES = {
    # full: EfficientNet-Lite0 with its ImageNet weights (the one pretrained network to be
    # had offline), 64 px, the recipe show-and-tell-synthetic's 12 epochs; the frozen
    # encoder again for 25 epochs (measured 742 s against end to end's 623 s)
    "full": {"encoder": "efficientnet_lite0", "pretrained": True, "image_size": 64,
             "epochs": 12, "same_time_epochs": 25, "train_limit": None, "test_limit": None,
             "hidden": 512, "seeds": 1},
    # quick: a small CIFAR ResNet from scratch, 32 px, 1,536 images (6 epochs of 2,048
    # took 69 s on one thread, over a CI minute)
    "quick": {"encoder": "resnet20", "pretrained": False, "image_size": 32, "epochs": 5,
              "same_time_epochs": None, "train_limit": 1536, "test_limit": 128,
              "hidden": 128, "seeds": 1},
}  # fmt: skip
BLEU = ("bleu1", "bleu2", "bleu3", "bleu4")


def run(profile: str = "quick", seeds: int | None = None, out=None, data_dir=None) -> Report:
    from keyarch.train.captioning import CaptionSettings

    settings = PROFILES[profile]
    seeds = seeds or settings["seeds"]
    started = time.perf_counter()
    runs = Runs(out, data_dir)
    recipe = replace(get_recipe("show-and-tell-synthetic"), epochs=settings["epochs"])
    base = CaptionSettings(pretrained_encoder=settings["pretrained"],
                           image_size=settings["image_size"], embed_size=settings["hidden"],
                           hidden_size=settings["hidden"])  # fmt: skip
    variants = {
        "end to end": (base, recipe),
        "frozen encoder": (replace(base, freeze_encoder=True), recipe),
    }
    if settings["same_time_epochs"]:
        variants["frozen encoder, same time"] = (
            replace(base, freeze_encoder=True),
            replace(recipe, epochs=settings["same_time_epochs"]),
        )
    rows, curves = [], {}
    for label, (caption, variant_recipe) in variants.items():
        for seed in range(seeds):
            result = runs.train(
                slug(label, seed), settings["encoder"],
                variant_recipe, dataset="synthetic", seed=seed, caption=caption,
                train_limit=settings["train_limit"], test_limit=settings["test_limit"],
            )  # fmt: skip
            summary = result.summary
            rows.append({
                "variant": label, "seed": seed, "epochs": variant_recipe.epochs,
                "wall_seconds": summary["wall_seconds"],
                **{f"test_{b}": round(float(summary[f"test_{b}"]), 4) for b in BLEU},
                **{f"novel_{b}": round(float(summary[f"novel_{b}"]), 4) for b in BLEU},
                "run": str(result.folder.relative_to(runs.root.parent)),
            })  # fmt: skip
            curves[label, seed] = [e["val_bleu4"] for e in result.epochs]

    def mean(label: str, key: str) -> float:
        values = [float(r[key]) for r in rows if r["variant"] == label]
        return sum(values) / len(values)

    table = [
        "| training | epochs | wall s | test BLEU-1 | BLEU-4 | novel BLEU-1 | novel BLEU-4 |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {label} | {recipe_.epochs} | {mean(label, 'wall_seconds'):.0f} | "
            f"{mean(label, 'test_bleu1'):.3f} | {mean(label, 'test_bleu4'):.3f} | "
            f"{mean(label, 'novel_bleu1'):.3f} | {mean(label, 'novel_bleu4'):.3f} |"
            for label, (_, recipe_) in variants.items()
        ),  # fmt: skip
    ]
    end_to_end = mean("end to end", "test_bleu4"), mean("end to end", "novel_bleu4")
    frozen_labels = [label for label in variants if label.startswith("frozen")]
    best_frozen = max(mean(label, "test_bleu4") for label in frozen_labels)
    best_frozen_novel = max(mean(label, "novel_bleu4") for label in frozen_labels)
    checks = [end_to_end[0] > best_frozen, end_to_end[1] > best_frozen_novel]
    verdict = ("reproduced" if all(checks) else "partly reproduced" if any(checks)
               else "not reproduced")  # fmt: skip
    reason = (
        f"end to end: test BLEU-4 {end_to_end[0]:.3f}, novel {end_to_end[1]:.3f}; the best "
        f"frozen run: test {best_frozen:.3f}, novel {best_frozen_novel:.3f}"
    )
    if profile == "quick":
        reason += " (quick profile: a small encoder from scratch, a few epochs on a subset)"
    figures = [_plot(out, curves)] if out is not None else []
    return Report(
        name="captioning-end-to-end",
        claim="An image captioner is one network, CNN and LSTM trained together by "
        "backpropagation; training the CNN with the language model improves the captions "
        "over a fixed, pretrained feature extractor.",
        source="Vinyals, Toshev, Bengio and Erhan 2015 and 2016 (section 4.3.1)",
        setup=(
            f"keyarch's synthetic captions ({settings['image_size']} px; BLEU with beam 3 "
            "on the test split and on the novel split of unseen colour-shape pairs); encoder "
            f"`{settings['encoder']}`"
            + (" with its ImageNet weights" if settings["pretrained"] else " from scratch")
            + f", LSTM of {settings['hidden']}, recipe `show-and-tell-synthetic` (Adam 2e-3, "
            "cosine, batch 64, clip 5; the encoder at 0.1x the rate when trained). *frozen*: "
            "the encoder's weights fixed (`--freeze-encoder`)."
            + (f" {settings['train_limit']:,} training images." if settings["train_limit"] else "")
            + " Each run is a run folder under `runs/`; `keyarch caption eval` rereads it."
            + runs.note()
        ),
        profile=profile,
        seeds=seeds,
        rows=rows,
        result="\n\n" + "\n".join(table),
        verdict=verdict,
        reason=reason,
        figures=figures,
        wall_seconds=time.perf_counter() - started,
    )


def _plot(out, curves) -> str:
    figure, axis = pyplot().subplots(figsize=(6, 4))
    for (label, seed), curve in curves.items():
        axis.plot(range(1, len(curve) + 1), curve, marker=".", label=label if seed == 0 else None)
    axis.set(xlabel="epoch", ylabel="validation BLEU-4 (greedy)",
             title="Captioning: end to end against a frozen encoder")  # fmt: skip
    axis.grid(alpha=0.3)
    axis.legend()
    return save_figure(figure, out, "val_bleu4.png")
