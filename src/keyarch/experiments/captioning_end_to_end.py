"""captioning-end-to-end: when to train the CNN of a captioner with its LSTM.

Vinyals, Toshev, Bengio and Erhan, "Show and Tell" (CVPR 2015) initialise the CNN from
ImageNet and keep it fixed while the LSTM trains. The journal version ("Show and Tell:
Lessons learned from the 2015 MSCOCO Image Captioning Challenge", 2016, section 5)
fine-tunes the CNN too, which raised its COCO scores, but only after the LSTM has trained
with the CNN frozen: fine-tuning both from the start gave worse models. (im2txt, the
authors' code, trains 1 million steps frozen, then 2 million more fine-tuning: a third of
the run frozen.)

Here, three schedules on keyarch's synthetic captions, the same encoder, decoder and
epochs, several seeds each:

* *frozen*: the CNN a fixed feature extractor throughout (the CVPR paper);
* *joint from the start*: CNN and LSTM trained together from the first step, the CNN at a
  tenth of the rate;
* *two-phase*: the CNN frozen for the first 3 of 12 epochs (a quarter: assumed), then
  trained with the LSTM at a tenth of the rate (the journal version; recipe
  ``freeze_encoder_epochs``).

Scored on scenes never seen in training (``test``) and on unseen colour-shape pairs
(``novel``) by whole-scene exact match and relation accuracy (what a caption says) and
BLEU-4, beside the blind and reversed-relation baselines. The journal version's claim has
two parts, each decided by the paired difference over seeds (its 95 % interval): two-phase
beats frozen, and two-phase beats joint from the start, on test exact match.
"""

from __future__ import annotations

from dataclasses import replace

from keyarch.experiments.frame import Claim, Trial
from keyarch.experiments.report import Report, pyplot, save_figure
from keyarch.experiments.training import slug
from keyarch.experiments.verdicts import describe, interval, judge, spread, verdict_from
from keyarch.train.recipes import get_recipe

CLAIM = Claim(
    name="captioning-end-to-end",
    claim="A captioner's CNN, pretrained on ImageNet, should be fine-tuned with the LSTM "
    "only after the LSTM has trained with the CNN fixed: that beats keeping the CNN "
    "fixed (as the 2015 paper did), and it beats fine-tuning both from the start, which "
    "gave worse models.",
    source="Vinyals, Toshev, Bengio and Erhan 2016, 'Show and Tell: Lessons learned "
    "from the 2015 MSCOCO Image Captioning Challenge', section 5 (the CVPR 2015 paper "
    "kept the CNN fixed)",
)

PROFILES = {
    # full: EfficientNet-Lite0 with its ImageNet weights (the one pretrained network to be
    # had offline), 64 px, the recipe show-and-tell-synthetic's 12 epochs (3 frozen in the
    # two-phase schedule), 3 seeds
    "full": {"encoder": "efficientnet_lite0", "pretrained": True, "image_size": 64,
             "epochs": 12, "frozen_epochs": 3, "train_limit": None, "test_limit": None,
             "hidden": 512, "seeds": 3},
    # quick: a small CIFAR ResNet from scratch, 32 px, 1,536 images, one seed: it runs the
    # three schedules and the baselines and shows nothing of the claim, which is about a
    # pretrained encoder (EfficientNet-Lite0 from ImageNet at 64 px, 4 epochs of these
    # 1,536 images, took minutes and left every schedule below the blind caption)
    "quick": {"encoder": "resnet20", "pretrained": False, "image_size": 32, "epochs": 4,
              "frozen_epochs": 1, "train_limit": 1536, "test_limit": 128,
              "hidden": 128, "seeds": 1},
}  # fmt: skip
SCORES = ("bleu4", "relation_accuracy", "exact_match")
SPLITS = ("test", "novel")
FROZEN, JOINT, TWO_PHASE = "frozen", "joint from the start", "two-phase"


def measure(trial: Trial) -> Report:
    from keyarch.train.tasks.captioning import CaptionSettings

    settings, seeds, out = trial.settings, trial.seeds, trial.out
    runs = trial.runs
    recipe = replace(get_recipe("show-and-tell-synthetic"), epochs=settings["epochs"])
    base = CaptionSettings(pretrained_encoder=settings["pretrained"],
                           image_size=settings["image_size"], embed_size=settings["hidden"],
                           hidden_size=settings["hidden"])  # fmt: skip
    variants = {
        FROZEN: (replace(base, freeze_encoder=True), recipe),
        JOINT: (base, recipe),
        TWO_PHASE: (base, replace(recipe, freeze_encoder_epochs=settings["frozen_epochs"])),
    }
    rows, curves, baselines = [], {}, {}
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
                "frozen_epochs": variant_recipe.epochs if caption.freeze_encoder
                else variant_recipe.freeze_encoder_epochs,
                "wall_seconds": summary["wall_seconds"],
                **{f"{s}_{k}": round(float(summary[f"{s}_{k}"]), 4)
                   for s in SPLITS for k in SCORES},
                "run": str(result.folder.relative_to(runs.root.parent)),
            })  # fmt: skip
            curves[label, seed] = [e["val_exact_match"] for e in result.epochs]
            for who in ("blind", "reversed", "oracle"):
                for s in SPLITS:
                    for k in SCORES:
                        baselines.setdefault((who, s, k), []).append(
                            float(summary[f"{who}_{s}_{k}"])
                        )

    def values(label: str, key: str) -> list[float]:
        return [float(r[key]) for r in rows if r["variant"] == label]

    def paired(a: str, b: str, key: str) -> list[float]:
        return [x - y for x, y in zip(values(a, key), values(b, key), strict=True)]

    table = [
        "| schedule | epochs frozen | wall s | test exact match | test relation | test BLEU-4 "
        "| novel exact match | novel relation | novel BLEU-4 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {label} | {values(label, 'frozen_epochs')[0]:.0f} of {recipe_.epochs} | "
            f"{interval(values(label, 'wall_seconds'))[0]:.0f} | "
            + " | ".join(spread(values(label, f"{s}_{k}")) for s in SPLITS
                         for k in ("exact_match", "relation_accuracy", "bleu4"))
            + " |"
            for label, (_, recipe_) in variants.items()
        ),
        *(
            f"| *{who}* | | | "
            + " | ".join(spread(baselines[who, s, k]) for s in SPLITS
                         for k in ("exact_match", "relation_accuracy", "bleu4"))
            + " |"
            for who in ("blind", "reversed", "oracle")
        ),
    ]  # fmt: skip
    parts = {
        "two-phase beats frozen": paired(TWO_PHASE, FROZEN, "test_exact_match"),
        "two-phase beats joint from the start": paired(TWO_PHASE, JOINT, "test_exact_match"),
    }
    judged = [judge(f"{name}: test exact match, paired", differences, digits=3)
              for name, differences in parts.items()]  # fmt: skip
    directions = [sign for sign, _ in judged]
    effects = [text for _, text in judged]
    for name, (a, b) in {"joint from the start against frozen": (JOINT, FROZEN)}.items():
        effects.append("beside the claim, " + describe(name, paired(a, b, "test_exact_match"),
                                                       digits=3))  # fmt: skip
    verdict = verdict_from(directions)
    reason = "; ".join(effects) + "."
    if seeds < 2:
        reason += " One seed has no spread: no part can be resolved."
    if trial.profile == "quick":
        reason += (" Quick profile: a small encoder from scratch (a frozen one is random), "
                   "a few epochs on a subset; the claim needs the full profile.")  # fmt: skip
    figures = [_plot(out, curves)] if out is not None else []
    setup = (
        f"keyarch's synthetic captions ({settings['image_size']} px); scored with beam 3 "
        "on `test` (scenes never seen in training) and `novel` (unseen colour-shape "
        "pairs): exact match (the caption names every thing with its size, colour and "
        "shape and the right relation), relation accuracy, BLEU-4. Encoder "
        f"`{settings['encoder']}`"
        + (" with its ImageNet weights" if settings["pretrained"] else " from scratch")
        + f", LSTM of {settings['hidden']}, recipe `show-and-tell-synthetic` (Adam 2e-3, "
        f"cosine, batch 64, clip 5) for {settings['epochs']} epochs; the encoder at 0.1x "
        "the rate when trained. *two-phase*: the encoder frozen for the first "
        f"{settings['frozen_epochs']} epochs (`--freeze-encoder-epochs`; assumed: im2txt "
        "freezes a third of its run). Baselines (no training): *blind*, the one training "
        "caption with the best BLEU-4 for every image; *reversed*, each image's first "
        "reference with the relation turned round; *oracle*, the first reference scored "
        "against the others (structural scores 1; its BLEU-4, against one reference fewer "
        "than the model's, is not a ceiling)."
        + (f" {settings['train_limit']:,} training images." if settings["train_limit"] else "")
        + " Each run is a run folder under `runs/`; `keyarch caption eval` rereads it."
    )
    return trial.report(setup, rows, (table, verdict, reason), figures)


def _plot(out, curves) -> str:
    figure, axis = pyplot().subplots(figsize=(6, 4))
    colours = {FROZEN: "tab:blue", JOINT: "tab:orange", TWO_PHASE: "tab:green"}
    for (label, seed), curve in curves.items():
        axis.plot(range(1, len(curve) + 1), curve, marker=".", color=colours[label],
                  label=label if seed == 0 else None)  # fmt: skip
    axis.set(xlabel="epoch", ylabel="validation exact match (greedy)", ylim=(0, 1),
             title="Captioning: when to train the CNN")  # fmt: skip
    axis.grid(alpha=0.3)
    axis.legend()
    return save_figure(figure, out, "val_exact_match.png")
