"""The captioning page: Show and Tell (a CNN and an LSTM trained end to end), its card,
its committed evaluation beside the blind, reversed-relation and oracle baselines, the
caption grids, and the captions it gets wrong."""

from __future__ import annotations

import json

from keyarch.guide.render import Page

SCORES = ("bleu4", "object_accuracy", "colour_accuracy", "size_accuracy",
          "relation_accuracy", "exact_match")  # fmt: skip
BASELINES = ("blind", "reversed", "oracle")


def captioning_page(guide) -> Page:
    from keyarch.guide.build import tell_card
    from keyarch.registry import model_card

    card = model_card("show_and_tell")
    page = Page("captioning", "Image captioning: Show and Tell")
    tell_card(page, card)
    page.heading("Where keyarch differs from the paper")
    page.bullets(list(card.deviations))
    page.heading("Results on the synthetic captions")
    folder = guide.results / "captioning" if guide.results is not None else None
    path = folder / "results" / "eval-test-b3.json" if folder is not None else None
    if path is None or not path.is_file():
        page.para("not measured")
        return page
    result = json.loads(path.read_text())
    link = guide.asset(page, path, "captioning/eval-test-b3.json")
    page.para(f"The {result['split']} split ({result['images']:,} images, beam "
              f"{result['beam_size']}), beside a blind caption (the same sentence for every "
              "image), the reference with its relation reversed, and a reference itself "
              "(the oracle): ", ("eval-test-b3.json", link), ".")  # fmt: skip
    rows = [["model", *(f"{result['scores'][k]:.3f}" for k in SCORES)]]
    for who in BASELINES:
        found = [result["baselines"].get(f"{who}_{result['split']}_{k}") for k in SCORES]
        rows.append([who, *(f"{v:.3f}" if v is not None else "-" for v in found)])
    page.table(["captions", *SCORES], rows)
    page.para(f"The blind caption: {result['blind_caption']!r}.")
    grids = (("end-to-end-test.png", "test images and their captions"),
             ("end-to-end-novel.png", "novel combinations and their captions"))  # fmt: skip
    for name, title in grids:
        if (folder / name).is_file():
            page.heading(title.capitalize(), 3)
            page.para("The first 16 images of the split; the BLEU-4 in the grid's title is "
                      "over those 16 alone.")  # fmt: skip
            page.image(guide.asset(page, folder / name, f"captioning/{name}"), title)
    page.heading("What it gets wrong")
    wrong = [c for c in result["captions"] if c["generated"] not in c["references"]]
    page.para(f"{len(wrong):,} of {len(result['captions']):,} captions match no reference; "
              "the first ten:")  # fmt: skip
    page.table(["generated", "a reference"], [[c["generated"], c["references"][0]]
                                             for c in wrong[:10]])  # fmt: skip
    page.heading("Experiments")
    page.table(["experiment", "claim", "verdict"], guide.experiment_rows(page, "captioning"))
    return page
