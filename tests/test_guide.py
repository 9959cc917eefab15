"""``keyarch guide``: every registered model on a page, every link and image resolving, the
numbers equal to their sources, valid HTML, and the same files from two builds."""

from __future__ import annotations

import filecmp
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import cli_status
from keyarch.analysis.counts import model_counts
from keyarch.guide import build_guide
from keyarch.registry import list_models

VOID = {"meta", "link", "img", "br", "hr", "input"}


class Checked(HTMLParser):
    """Collects links and images, and the tags left open or closed out of order."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.open: list[str] = []
        self.errors: list[str] = []
        self.tables: list[list[list[str]]] = []  # each table's rows, its header first
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("href", "src"):
            if attrs.get(key):
                self.links.append(attrs[key])
        if tag == "table":
            self.tables.append([])
        if tag == "tr":
            self.tables[-1].append([])
        if tag in ("td", "th"):
            self._cell = []
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("guide") / "site"
    pages = build_guide(out)
    return out, pages


def parsed(path: Path) -> Checked:
    checker = Checked()
    checker.feed(path.read_text(encoding="utf-8"))
    checker.close()
    return checker


def test_every_registered_model_appears_on_a_page(site):
    out, pages = site
    text = "\n".join(p.read_text(encoding="utf-8") for p in pages)
    missing = [name for name in list_models() if f">{name}<" not in text]
    assert not missing, missing


def test_every_internal_link_and_image_resolves_and_the_html_is_whole(site):
    out, pages = site
    assert len(pages) >= 18 and (out / "index.html").is_file()
    for page in pages:
        checker = parsed(page)
        assert not checker.errors and not checker.open, (page, checker.errors, checker.open)
        for link in checker.links:
            if re.match(r"https?://", link):
                continue
            target = (page.parent / link.split("#")[0]).resolve()
            assert target.is_file(), (page.relative_to(out), link)


def test_every_count_shown_equals_keyarch_s_count(site):
    out, pages = site
    counts = model_counts(list_models())
    seen = 0
    for page in pages:
        for header, *rows in parsed(page).tables:
            if header[:3] != ["model", "year", "parameters"]:
                continue
            for row in rows:
                assert int(row[2].replace(",", "")) == counts[row[0]][0], row
                seen += 1
    assert seen >= len(list_models())


def test_two_builds_give_the_same_files(site, tmp_path):
    out, _ = site
    again = tmp_path / "again"
    build_guide(again)
    comparison = filecmp.dircmp(out, again)

    def differences(c) -> list[str]:
        found = c.diff_files + c.left_only + c.right_only
        return found + [d for sub in c.subdirs.values() for d in differences(sub)]

    assert not differences(comparison)


def test_markdown_holds_the_same_pages(tmp_path):
    pages = build_guide(tmp_path / "md", "markdown")
    assert len(pages) >= 18 and all(p.suffix == ".md" for p in pages)
    index = (tmp_path / "md" / "index.md").read_text()
    assert "[ResNet](architectures/resnet.md)" in index


def test_the_command_refuses_to_write_over_a_site(tmp_path, capsys):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("earlier")
    code, _, err = cli_status(capsys, ["guide", "--out", str(tmp_path / "site")])
    assert code == 2 and "--overwrite" in err, err
    assert (tmp_path / "site" / "index.html").read_text() == "earlier"


def test_measured_times_and_experiment_verdicts_equal_their_files(site):
    import json

    from keyarch.guide.build import default_results

    docs = default_results()
    if docs is None:
        pytest.skip("no committed results beside this keyarch")
    bench = {m["model"]: m for m in json.loads(
        (docs / "bench" / "results" / "bench.json").read_text())["models"]}  # fmt: skip
    out, pages = site
    times = verdicts = 0
    for page in pages:
        for header, *rows in parsed(page).tables:
            if header[:2] == ["model", "ms for one image"]:
                for row in rows:
                    assert row[1] == f"{bench[row[0]]['rows'][0]['infer_step_time']:.2f}", row
                    times += 1
            if header == ["experiment", "claim", "verdict"]:
                for row in rows:
                    report = docs / "experiments" / f"{row[0]}-full" / "report.json"
                    assert row[2] == json.loads(report.read_text())["verdict"], row
                    verdicts += 1
    assert times >= 30 and verdicts >= 7


def test_the_reference_column_equals_the_recorded_check(site):
    import json

    from keyarch.guide.build import default_results

    docs = default_results()
    if docs is None or not (docs / "reference" / "equality.json").is_file():
        pytest.skip("no recorded reference check beside this keyarch")
    recorded = json.loads((docs / "reference" / "equality.json").read_text())["rows"]
    expected = {}
    for row in recorded:
        expected.setdefault(row["model"], []).append(
            f"{row['source']}: {row['max_abs_difference']:.2g}")  # fmt: skip
    out, pages = site
    shown = {}
    for page in pages:
        for header, *rows in parsed(page).tables:
            if header[:3] == ["model", "year", "parameters"]:
                shown.update({row[0]: row[-1] for row in rows})
    for model, cells in expected.items():
        assert shown[model] == "; ".join(cells), model
    assert all(shown[m] == "-" for m in shown if m not in expected)


def test_every_image_model_s_module_says_where_the_paper_lays_it_out():
    """Each image classifier's module names the paper's table or figure and the names that
    hold it; each name's code can be shown (a renamed constant fails here)."""
    import importlib

    from keyarch.guide.layouts import config_source
    from keyarch.registry import model_module

    for module_name in sorted({model_module(n) for n in list_models(task="image-classification")}):
        module = importlib.import_module(module_name)
        tables = getattr(module, "PAPER_TABLES", None)
        assert tables, f"{module_name} has no PAPER_TABLES"
        for where, names in tables.items():
            assert re.search(r"(Table|Figure)s? \w+", where), (module_name, where)
            for name in names:
                code = config_source(module, name)
                assert any(name.split(".")[-1] in line for line in code[:3]), (module_name, name)


def _page_tables(page: Path, first: str) -> list[list[list[str]]]:
    return [t for t in parsed(page).tables if t[0][:1] == [first]]


def test_the_layers_built_add_up_to_the_model_and_the_config_is_shown(site):
    """Beside each paper table, the layers keyarch builds: their parameters add up to the
    model's exact count, their MACs to its count (each rounded to 0.01 M), and the
    config's code is on the page as the module holds it."""
    import html
    import importlib

    from keyarch.guide.layouts import config_source
    from keyarch.guide.outline import SECTIONS
    from keyarch.registry import model_module

    out, _ = site
    counts = model_counts(list_models())
    checked = 0
    for section in SECTIONS:
        page = out / "architectures" / f"{section.slug}.html"
        text = page.read_text(encoding="utf-8")
        leads = re.findall(r"what keyarch builds from it \((\w+)\)", text)
        assert len(leads) == len(section.families), section.title
        for lead, (header, *rows) in zip(leads, _page_tables(page, "layer"), strict=True):
            assert header == ["layer", "kind", "output", "parameters", "MACs"]
            parameters = sum(int(r[3].replace(",", "")) for r in rows if r[3] != "-")
            macs = sum(float(r[4].removesuffix(" M").replace(",", "")) for r in rows if r[4] != "-")
            assert parameters == counts[lead][0], lead
            assert abs(macs - counts[lead][1] / 1e6) <= 0.005 * len(rows) + 1e-9, lead
            module = importlib.import_module(model_module(lead))
            for names in module.PAPER_TABLES.values():
                for name in names:
                    code = "\n".join(config_source(module, name))
                    assert html.escape(code) in text, (lead, name)
            checked += 1
    assert checked >= len(SECTIONS)


def test_the_primitives_have_their_diagrams(site):
    out, _ = site
    checker = parsed(out / "primitives.html")
    figures = [link for link in checker.links if link.startswith("figures/")]
    assert len(figures) == 5, figures
    for link in figures:
        svg = (out / link).read_text(encoding="utf-8")
        assert svg.startswith("<svg") and "<title>" in svg and svg.count("<") > 20, link


def test_every_paper_address_is_linked_as_the_card_gives_it(site):
    """A card's addresses are links to exactly those addresses (none gains a suffix, none
    hides inside another link's text)."""
    from keyarch.registry import model_card

    out, pages = site
    links = {link for page in pages for link in parsed(page).links}
    cards = [model_card(n) for n in [*list_models(), "show_and_tell"]]
    for card in cards:
        for address in re.findall(r"https?://[^\s)]+", card.url):
            assert address in links, (card.name, address)
