"""The analysis page: how speed, memory and operations were measured (the settings the
committed bench folder records), the Canziani et al. (2016) findings checked on them by
the same code that writes ``keyarch bench --report``, and every chart."""

from __future__ import annotations

from keyarch.guide.render import Page


def analysis_page(guide) -> Page:
    from keyarch.analysis.bench_report import PAPER, checked_findings

    page = Page("analysis", "Comparing the architectures (Canziani et al. 2016)")
    page.para(f"Paper: {PAPER}.")
    if guide.bench is None:
        page.para("not measured")
        return page
    settings, machine = guide.bench["settings"], guide.bench["machine"]
    link = guide.asset(page, guide.bench["path"], "bench/bench.json")
    page.heading("How it was measured")
    page.para(f"{len(guide.bench['models'])} models on {machine['cpu']} ({machine['cores']} "
              f"cores), Python {machine['python']}, torch {machine['torch']}, "
              f"{settings['dtype']}, {settings['threads']} threads. Operations are counted "
              "on the meta device (torch.utils.flop_counter), so they do not depend on the "
              f"machine. Each cell (model, batch size, step) warmed up with "
              f"{settings['warmup']} calls, then was timed for at least {settings['repeats']} "
              f"calls or {settings['min_time']} s, spread over {settings['passes']} passes "
              "that visit every cell once in a new random order each; memory is the peak "
              "resident size measured in a fresh process. Every figure: ",
              ("bench.json", link), ".")  # fmt: skip
    page.heading("The paper's findings, checked here")
    document = {**guide.bench, "models": [m for m in guide.bench["models"] if m.get("rows")]}
    rows = [[f["claim"], f["paper"], f["result"].here, f"{f['result'].verdict}: "
             f"{f['result'].rule}"] for f in checked_findings(document)]  # fmt: skip
    page.table(["finding", "the paper", "here", "verdict (rule fixed before measuring)"], rows)
    charts = guide.results / "bench" / "figures"
    page.heading("The charts")

    def number(path) -> tuple[int, str]:  # fig2 before fig10
        digits = "".join(c for c in path.stem.split("_")[0] if c.isdigit())
        return (int(digits) if digits else 99, path.stem)

    for figure in sorted(charts.glob("*.png"), key=number):
        title = figure.stem.replace("_", " ")
        page.para(title)
        page.image(guide.asset(page, figure, f"bench/{figure.name}"), title)
    page.heading("Try it")
    page.code(["keyarch bench resnet18 mobilenet_v2_100 --batch-sizes 1,8 --out bench-results",
               "keyarch bench --report bench-results"])  # fmt: skip
    return page
