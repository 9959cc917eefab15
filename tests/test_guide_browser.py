"""The guide in a real browser: Debian's Chromium, headless, driven by Playwright. The
index and four pages load from ``file://`` with no console error and no failed request, at
a desktop and a phone's width, and their screenshots are not blank. ``.ci/run`` installs
Chromium where it is missing; elsewhere the test is skipped, except under CI."""

from __future__ import annotations

import os
import shutil

import pytest

from keyarch.guide import build_guide

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAGES = ("index", "architectures/lenet-5", "architectures/resnet", "architectures/mobilevit",
         "captioning")  # fmt: skip
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]  # fmt: skip

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="Chromium is not installed (.ci/run installs it)",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "site"
    build_guide(out)
    return out


@pytest.mark.timeout(300)
def test_pages_load_without_errors_and_are_not_blank(site, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    from PIL import Image, ImageStat

    assert CHROMIUM, "CI must install Chromium (.ci/run)"
    problems: list[str] = []

    def console(message) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for width, height in ((1200, 900), (390, 844)):  # a desktop, a phone
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("console", console)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))  # noqa: B023
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))  # noqa: B023
            for name in PAGES:
                page.goto((site / f"{name}.html").as_uri(), wait_until="load")
                broken = page.evaluate(
                    "[...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                    ".map(i => i.src)"
                )
                problems += [f"{name}: image not shown: {src}" for src in broken]
                wide = page.evaluate("document.documentElement.scrollWidth")
                if wide > width + 1:  # the page itself scrolls sideways; tables may
                    problems.append(f"{name} at {width} px is {wide} px wide")
                shot = tmp_path / f"{name.replace('/', '_')}-{width}.png"
                page.screenshot(path=str(shot))
                spread = ImageStat.Stat(Image.open(shot).convert("L")).stddev[0]
                if spread < 10:
                    problems.append(f"{shot.name} looks blank (pixel std {spread:.1f})")
            page.close()
        browser.close()
    assert not problems, problems
