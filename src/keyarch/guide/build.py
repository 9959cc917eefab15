"""``keyarch guide``: the seed guide, finished, generated from the library and its
committed results so that it cannot drift from the code.

Every number on a page comes from a card, a count computed here, or a committed results
file (``docs/experiments/*/report.json``, ``docs/bench/``), and the page links to it; a
result that has not been run says "not measured".
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from keyarch.guide.outline import EXPERIMENTS, PRIMITIVE_FAMILIES, SECTIONS, Section
from keyarch.guide.render import STYLE, Page, to_html, to_markdown

FORMATS = ("html", "markdown")
NOT_MEASURED = "not measured"


def default_results() -> Path | None:
    """The checkout's ``docs`` folder (committed results), when keyarch runs from one."""
    docs = Path(__file__).resolve().parents[3] / "docs"
    return docs if (docs / "experiments").is_dir() else None


def cite(card) -> list:
    """The paper as the card gives it, each address a link."""
    addresses = [(part, part) if part.startswith("http") else part
                 for part in re.split(r"(https?://[^\s)]+)", card.url) if part]  # fmt: skip
    return [f"{card.title} ({card.authors}, {card.year}): ", *addresses]


def tell_card(page: Page, card, where: str = "", note: str = "") -> None:
    """A card as the seed guide tells an architecture: the paper, then main ideas, why it
    is important and a brief description."""
    page.para(*cite(card), f". {where}".rstrip() if where else ".")
    if note:
        page.para(note)
    page.heading("Main ideas")
    page.bullets(list(card.main_ideas))
    page.heading("Why it is important")
    page.para(card.importance)
    page.heading("Brief description")
    page.para(card.description)


def _families() -> dict[str, list[str]]:
    from keyarch.registry import list_models, model_card

    found: dict[str, list[str]] = {}
    for name in list_models():
        found.setdefault(model_card(name).family, []).append(name)
    return found


def _millions(value: int) -> str:
    return f"{value / 1e6:,.2f} M"


def _experiments(results: Path | None) -> dict[str, dict]:
    """The committed report of each experiment (the full profile's), by name."""
    found = {}
    if results is None:
        return found
    for name in EXPERIMENTS:
        path = results / "experiments" / f"{name}-full" / "report.json"
        if path.is_file():
            found[name] = {**json.loads(path.read_text()), "folder": path.parent}
    return found


def _bench(results: Path | None) -> dict | None:
    """The committed measurements (``docs/bench/results/bench.json``), or None."""
    path = results / "bench" / "results" / "bench.json" if results is not None else None
    if path is None or not path.is_file():
        return None
    document = json.loads(path.read_text())
    return {**document, "by_model": {m["model"]: m for m in document["models"]}, "path": path}


def _reference(results: Path | None) -> dict | None:
    """The recorded reference check (``docs/reference/equality.json``), or None."""
    path = results / "reference" / "equality.json" if results is not None else None
    if path is None or not path.is_file():
        return None
    document = json.loads(path.read_text())
    by_model: dict[str, list[dict]] = {}
    for row in document["rows"]:
        by_model.setdefault(row["model"], []).append(row)
    return {**document, "by_model": by_model, "path": path}


CHARTS = (  # the Canziani et al. (2016) figures keyarch redraws from its measurements
    ("fig2_accuracy_vs_operations.png", "Top-1 accuracy against operations (Figure 2)"),
    ("fig3_time_vs_batch.png", "Inference time per image against batch size (Figure 3)"),
    ("fig5_memory_vs_batch.png", "Memory against batch size (Figure 5)"),
)


class Guide:
    def __init__(self, out: Path, fmt: str, results: Path | None) -> None:
        from keyarch.analysis.counts import model_counts
        from keyarch.errors import BadInput
        from keyarch.registry import list_models

        if fmt not in FORMATS:
            raise BadInput(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
        self.out, self.fmt, self.results = out, fmt, results
        self.families = _families()
        self.counts = model_counts(list_models())
        self.experiments = _experiments(results)
        self.bench = _bench(results)
        self.reference = _reference(results)
        from keyarch.pretrained import available

        self.published = set(available())  # models with published weights
        self.pages: list[Page] = []
        self.assets: dict[str, Path] = {}  # site path -> source file copied there

    def asset(self, page: Page, source: Path, target: str) -> str:
        """Copy ``source`` to the site at ``target``; its address as seen from ``page``."""
        self.assets[target] = source
        return page.relative(target)

    def family_table(self, page: Page, names: list[str]) -> None:
        from keyarch.registry import model_card

        rows = []
        for name in names:
            card = model_card(name)
            parameters, macs = self.counts[name]
            top1 = f"{card.imagenet_top1:.1f}" if card.imagenet_top1 is not None else "-"
            checked = (self.reference or {}).get("by_model", {}).get(name, [])
            same = "; ".join(f"{r['source']}: {r['max_abs_difference']:.2g}" for r in checked)
            rows.append([name, str(card.year), f"{parameters:,}", _millions(macs),
                         "x".join(map(str, card.input_size)), top1, same or "-"])  # fmt: skip
        page.table(["model", "year", "parameters", "MACs", "input", "ImageNet top-1 (card)",
                    "max logit difference from the reference"], rows)  # fmt: skip
        if self.reference is not None and any(n in self.reference["by_model"] for n in names):
            link = self.asset(page, self.reference["path"], "reference/equality.json")
            versions = ", ".join(f"{k} {self.reference[k]}" for k in ("torch", "torchvision",
                                                                           "timm"))  # fmt: skip
            page.para("The reference column: the same two random images through the "
                      "reference implementation (random weights) and through keyarch's model "
                      "holding its converted weights; the largest logit difference (",
                      ("equality.json", link), f"; {versions}). Rerun: "
                      f"{self.reference['command']}.")  # fmt: skip

    def experiment_rows(self, page: Page, section: str | None) -> list[list]:
        """A row per experiment testing ``section``'s claims (None: every experiment),
        linking to its page."""
        rows = []
        for name, where in EXPERIMENTS.items():
            if section is not None and where != section:
                continue
            report = self.experiments.get(name)
            if report is None:
                rows.append([name, "-", NOT_MEASURED])
            else:
                rows.append([(name, page.relative(f"experiments/{name}")), report["claim"],
                             report["verdict"]])  # fmt: skip
        return rows

    def experiment_page(self, name: str, report: dict) -> Page:
        """One experiment's committed report: claim, setup, result, verdict, figures, and
        the command that reruns it."""
        page = Page(f"experiments/{name}", f"Experiment: {name}")
        page.para(f"Claim: {report['claim']} ({report['source']})")
        page.para(f"Setup (profile {report['profile']}, {report['seeds']} seeds, "
                  f"{report['wall_seconds']:.0f} s): {report['setup']}")  # fmt: skip
        page.para(f"Result: {report['result']}")
        page.para(f"Verdict: {report['verdict']}. {report['reason']}")
        for figure in report.get("figures", []):
            source = report["folder"] / figure
            if source.is_file():
                page.image(self.asset(page, source, f"experiments/{name}/{figure}"), figure)
        for data in ("results.csv", "report.json"):
            if (report["folder"] / data).is_file():
                self.asset(page, report["folder"] / data, f"experiments/{name}/{data}")
        page.para("Every row: ", ("results.csv", f"{name}/results.csv"), "; the report: ",
                  ("report.json", f"{name}/report.json"), ".")  # fmt: skip
        if report.get("command"):
            page.heading("Rerun it")
            page.code([report["command"]])
        return page

    def section_page(self, section: Section) -> Page:
        from keyarch.registry import model_card

        page = Page(f"architectures/{section.slug}", section.title)
        names = [n for family in section.families for n in self.families.get(family, [])]
        if not names:  # a family renamed in the registry and not here
            raise ValueError(f"guide section {section.title!r}: no registered model of "
                             f"the families {', '.join(section.families)}")  # fmt: skip
        names.sort(key=lambda n: n != section.lead)  # the paper's own network first
        where = f"Section {section.number} of the seed guide" if section.number else \
            "Beyond the seed guide"  # fmt: skip
        tell_card(page, model_card(section.lead), f"{where}.", section.note)
        told = {model_card(section.lead).url}
        for name in names:  # a second paper on the page (BN-Inception beside Inception-v3)
            card = model_card(name)
            if card.url not in told:
                told.add(card.url)
                page.heading(f"Also on this page: {card.family} ({name})")
                page.para(*cite(card), ".")
                page.bullets(list(card.main_ideas))
        page.heading("The variants keyarch builds")
        page.para("Parameters and multiply-accumulates at each model's default input, counted "
                  "by keyarch on the meta device (keyarch list).")  # fmt: skip
        self.family_table(page, names)
        diagram = self.diagram(page, names)
        if diagram:
            page.heading("Block diagram")
            page.image(diagram, f"the block diagram of {names[0]}")
        from keyarch.guide.layouts import paper_layout

        for family in section.families:  # each family's paper network: the lead, or its first
            leads = [n for n in names if model_card(n).family == family]
            paper_layout(page, self, leads[0])
        page.heading("Published results")
        rows = [[n, m.dataset, m.split, m.crops, f"{m.top1}" if m.top1 is not None else "-",
                 f"{m.top5}" if m.top5 is not None else "-", m.source]
                for n in names for m in model_card(n).metrics]  # fmt: skip
        if rows:
            page.table(["model", "dataset", "split", "crops", "top-1 %", "top-5 %", "source"],
                       rows)  # fmt: skip
        else:
            page.para(NOT_MEASURED)
        self.recipe(page, section)
        self.measured(page, names)
        page.heading("Where keyarch differs from the paper")
        page.bullets([f"{n}: {d}" for n in names for d in model_card(n).deviations])
        page.heading("Experiments testing this paper's claims")
        rows = self.experiment_rows(page, section.title)
        if rows:
            page.table(["experiment", "claim", "verdict"], rows)
        else:
            page.para("None yet.")
        page.heading("Try it")
        page.code(self.try_it(names[0]))
        return page

    def try_it(self, name: str) -> list[str]:
        """The commands that apply to ``name``: its card, its diagram, training it, and
        where they work, deconvnet pictures and published weights' predictions."""
        import torch

        from keyarch.analysis.visualize import layer_names
        from keyarch.errors import BadInput
        from keyarch.registry import create_model

        commands = [f"keyarch info {name}", f"keyarch draw {name} -o {name}.svg",
                    f"keyarch train {name}"]  # fmt: skip
        with torch.device("meta"):
            model = create_model(name)
        try:
            if layer_names(model):
                commands.append(f"keyarch visualize {name} --image photo.png --out pictures")
        except BadInput:
            pass  # a network the deconvnet cannot reverse (no features sequence)
        if name in self.published:
            commands.append(f"keyarch predict --model {name} --pretrained photo.png")
        return commands

    def recipe(self, page: Page, section: Section) -> None:
        """The paper's recipe as keyarch trains it (``keyarch train`` uses it by default);
        its source says which numbers the paper does not give (marked assumed)."""
        from keyarch.train.recipes import PAPER_RECIPES, RECIPES

        names = [PAPER_RECIPES[f] for f in section.families if f in PAPER_RECIPES]
        page.heading("The paper's training recipe")
        if not names:
            page.para("No recipe from the paper is encoded.")
            return
        for name in dict.fromkeys(names):
            r = RECIPES[name]
            page.para(f"Recipe {r.name}: {r.source}")
            warmup = f"{r.warmup_steps} steps" if r.warmup_steps else f"{r.warmup_epochs:g} epochs"
            page.table(["optimizer", "rate", "epochs", "batch", "momentum", "weight decay",
                        "schedule", "warm-up", "label smoothing", "augmentation"],
                       [[r.optimizer, f"{r.lr:g}", str(r.epochs), str(r.batch_size),
                         f"{r.momentum:g}", f"{r.weight_decay:g}", r.schedule, warmup,
                         f"{r.label_smoothing:g}", r.augment]])  # fmt: skip

    def measured(self, page: Page, names: list[str]) -> None:
        """Inference time and memory measured by keyarch bench, from the committed file."""
        page.heading("Measured speed and memory")
        measured = [self.bench["by_model"][n] for n in names
                    if self.bench and n in self.bench["by_model"]]  # fmt: skip
        if not measured:
            page.para(NOT_MEASURED)
            return
        machine = self.bench["machine"]
        link = self.asset(page, self.bench["path"], "bench/bench.json")
        page.para(f"On {machine['cpu']} ({machine['cores']} cores), torch {machine['torch']}, "
                  f"{self.bench['settings']['dtype']}: median time per batch and peak "
                  "memory measured in a fresh process (", ("bench.json", link), ").")  # fmt: skip
        rows = []
        for figures in measured:
            first, last = figures["rows"][0], figures["rows"][-1]
            memory = [r.get("infer_mem_measured_mb") for r in (first, last)]
            shown = [f"{m:.0f}" if m is not None else NOT_MEASURED for m in memory]
            rows.append([figures["model"], f"{first['infer_step_time']:.2f}",
                         str(last["infer_batch_size"]), f"{last['infer_samples_per_sec']:.1f}",
                         *shown])  # fmt: skip
        page.table(["model", "ms for one image", "largest batch", "images/s at it",
                    "memory MB, one image", "memory MB, largest batch"], rows)  # fmt: skip
        chart = self.place_on_chart(page, names)
        if chart:
            page.para("Its place among the measured models: top-1 against operations "
                      "(Canziani et al.'s Figure 2), this family in colour.")  # fmt: skip
            page.image(chart, "top-1 against operations, this family in colour")

    def place_on_chart(self, page: Page, names: list[str]) -> str | None:
        """Accuracy against operations for every measured model with a published top-1,
        ``names`` in colour and labelled; drawn into the site, or None when none of
        ``names`` has a top-1."""
        import io

        from matplotlib.figure import Figure

        points = [m for m in self.bench["models"] if m.get("top1") and m.get("infer_gmacs")]
        ours = [m for m in points if m["model"] in names]
        if not ours:
            return None
        figure = Figure(figsize=(6.4, 3.6))
        axes = figure.add_subplot()
        axes.scatter([m["infer_gmacs"] for m in points], [m["top1"] for m in points],
                     s=14, color="#bbbbbb", label="other models")  # fmt: skip
        axes.scatter([m["infer_gmacs"] for m in ours], [m["top1"] for m in ours], s=30,
                     color="#c0392b", label=page.title)  # fmt: skip
        for m in ours:
            axes.annotate(m["model"], (m["infer_gmacs"], m["top1"]), fontsize=7,
                          xytext=(4, 2), textcoords="offset points")  # fmt: skip
        axes.set_xscale("log")
        axes.set_xlabel("G multiply-accumulates per image (log)")
        axes.set_ylabel("ImageNet top-1 %")
        axes.legend(fontsize=7, loc="lower right")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
        target = f"charts/{page.path.rsplit('/', 1)[-1]}.png"
        (self.out / target).parent.mkdir(parents=True, exist_ok=True)
        (self.out / target).write_bytes(buffer.getvalue())
        return page.relative(target)

    def figure(self, page: Page, name: str) -> str:
        """A primitive's small diagram (keyarch.guide.figures), written into the site."""
        from keyarch.guide.figures import FIGURES

        target = self.out / "figures" / f"{name}.svg"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(FIGURES[name](), encoding="utf-8")
        return page.relative(f"figures/{name}.svg")

    def diagram(self, page: Page, names: list[str]) -> str | None:
        """The committed diagram of one of ``names`` (docs/architectures); else the first
        one's, drawn now by keyarch draw's code into the site."""
        committed = self.results / "architectures" if self.results is not None else None
        for name in names:
            if committed is not None and (committed / f"{name}.svg").is_file():
                return self.asset(page, committed / f"{name}.svg", f"diagrams/{name}.svg")
        import torch

        from keyarch.analysis.diagram import architecture_diagram
        from keyarch.analysis.draw import save_diagram
        from keyarch.registry import create_model

        target = self.out / "diagrams" / f"{names[0]}.svg"
        target.parent.mkdir(parents=True, exist_ok=True)
        with torch.device("meta"):
            model = create_model(names[0])
        save_diagram(architecture_diagram(model), target)
        return page.relative(f"diagrams/{names[0]}.svg")

    def index(self, sections: list[Page]) -> Page:
        from keyarch.registry import model_card

        page = Page("index", "The key deep-learning architectures")
        page.para("The guide keyarch grew from, finished: a page per architecture of the seed "
                  "guide's fifteen sections, in its order, generated from keyarch's model "
                  "cards, counts and committed results.")  # fmt: skip
        page.heading("Timeline")
        rows = []
        for section, built in zip(SECTIONS, sections, strict=True):
            names = [n for f in section.families for n in self.families.get(f, [])]
            best = [model_card(n).imagenet_top1 for n in names
                    if model_card(n).imagenet_top1 is not None]  # fmt: skip
            parameters = [self.counts[n][0] for n in names]
            low, high = _millions(min(parameters)), _millions(max(parameters))
            rows.append([str(section.number or "+"), (section.title, built.path),
                         str(section.year), section.paper,
                         f"{max(best):.1f}" if best else "none published",
                         low if low == high else f"{low} to {high}",
                         str(len(names))])  # fmt: skip
        page.table(["#", "architecture", "year", "paper", "best ImageNet top-1 (cards)",
                    "parameters", "variants"], rows)  # fmt: skip
        primitives = [n for f in PRIMITIVE_FAMILIES for n in self.families.get(f, [])]
        page.heading("The primitives")
        page.para("The fully connected layer, convolution, pooling, and the RNN and LSTM "
                  "cells, with the layers that implement them: ", ("primitives", "primitives"),
                  ". The recurrent models:")  # fmt: skip
        self.family_table(page, primitives)
        page.para("A CNN and an LSTM trained end to end: ", ("image captioning", "captioning"),
                  ".")  # fmt: skip
        page.heading("Speed, memory and operations (Canziani et al. 2016, on this machine)")
        page.para("How they were measured, and the paper's findings checked: ",
                  ("the analysis", "analysis"), ".")  # fmt: skip
        charts = self.results / "bench" / "figures" if self.results is not None else None
        shown = [(f, t) for f, t in CHARTS if charts is not None and (charts / f).is_file()]
        for figure, title in shown:
            page.para(title)
            page.image(self.asset(page, charts / figure, f"bench/{figure}"), title)
        if not shown:
            page.para(NOT_MEASURED)
        page.heading("Experiments")
        page.table(["experiment", "claim", "verdict"], self.experiment_rows(page, None))
        return page

    def build(self) -> list[Path]:
        sections = [self.section_page(s) for s in SECTIONS]
        from keyarch.guide.analysis import analysis_page
        from keyarch.guide.captioning import captioning_page
        from keyarch.guide.primitives import primitives_page

        experiments = [self.experiment_page(n, r) for n, r in sorted(self.experiments.items())]
        self.pages = [self.index(sections), primitives_page(self), *sections,
                      captioning_page(self), analysis_page(self), *experiments]  # fmt: skip
        nav = [("index", "index"), ("primitives", "primitives"),
               *[(s.title, f"architectures/{s.slug}") for s in SECTIONS],
               ("captioning", "captioning"), ("analysis", "analysis")]  # fmt: skip
        written = []
        suffix = ".html" if self.fmt == "html" else ".md"
        for page in self.pages:
            path = self.out / (page.path + suffix)
            path.parent.mkdir(parents=True, exist_ok=True)
            text = to_html(page, nav) if self.fmt == "html" else to_markdown(page)
            path.write_text(text, encoding="utf-8")
            written.append(path)
        if self.fmt == "html":
            (self.out / "style.css").write_text(STYLE, encoding="utf-8")
        for target, source in sorted(self.assets.items()):
            (self.out / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, self.out / target)
        return written


def build_guide(out: str | Path, fmt: str = "html", results: str | Path | None = None,
                *, overwrite: bool = False) -> list[Path]:  # fmt: skip
    """Write the guide to ``out`` (a folder made whole or not at all) in ``fmt``; the
    numbers come from ``results`` (default: the checkout's ``docs``)."""
    from keyarch.outputs import check_folder, staged_folder

    out = check_folder(out, "--out", empty=True, overwrite=overwrite)
    source = Path(results) if results is not None else default_results()
    with staged_folder(out, "--out", overwrite=overwrite, last=()) as scratch:
        pages = Guide(scratch, fmt, source).build()
    return [out / p.relative_to(scratch) for p in pages]
