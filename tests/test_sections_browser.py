"""The section popup in headless Chromium: the exceedance multiple shown, the trend chart's points coloured by the
charted parameter's own class, and the selected month marked (issue 9)."""
import csv
import os

import pytest
import yaml

from browser import ARTIFACTS, CHROMIUM, OfflinePage, launch, serve, wait_js
from conftest import ROOT

if not CHROMIUM:
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium for the browser tests (.ci/run installs it)")
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")

# by hand from GB 3838-2002 Table 1 (data/gb3838_2002.yaml): NH3-N limits of Ⅰ–Ⅴ; beyond Ⅴ is 劣Ⅴ
NH3N_LIMITS = [0.15, 0.5, 1.0, 1.5, 2.0]
COLOURS = {c["num"]: c["color"] for c in yaml.safe_load((ROOT / "data" / "gb3838_2002.yaml").read_text(encoding="utf-8"))["classes"]}


def nh3n_class(value: float) -> int:
    return next((i + 1 for i, lim in enumerate(NH3N_LIMITS) if value <= lim), 6)


def muguadong_nh3n() -> dict[str, float]:
    """木瓜洞's NH3-N by month from the demo CSV (one sample a month)."""
    with open(ROOT / "data" / "demo_measurements.csv", encoding="utf-8") as fh:
        return {r["date"][:7]: float(r["NH3-N"]) for r in csv.DictReader(fh) if r["section"] == "木瓜洞"}


@pytest.mark.parametrize("width", [1366, 390])
def test_popup_shows_the_multiple_and_a_chart_coloured_by_the_parameter(app, width):
    series = muguadong_nh3n()
    assert series["2024-07"] == 1.208 and nh3n_class(1.208) == 4
    with serve(app) as base, sync_api.sync_playwright() as p:
        browser = launch(p)
        op = OfflinePage(browser, base)
        page = op.page
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{base}/districts/500102/sections?period=2024-07")
        wait_js(page, "window.SectionsMap && SectionsMap.layer && SectionsMap.layer.getLayers().length === 3")
        page.evaluate("SectionsMap.layer.getLayers().find(m => m.sectionRow.name === '木瓜洞').openPopup()")
        page.wait_for_selector(".sm-chart circle[data-period]")
        text = page.inner_text(".sm-popup")
        assert "超标倍数\tNH3-N 0.208 倍" in text and "Ⅳ类" in text
        points = page.evaluate("Array.from(document.querySelectorAll('.sm-chart circle[data-period]'))"
                               ".map(c => [c.getAttribute('data-period'), c.getAttribute('fill')])")
        assert len(points) == 24
        # every point has the colour of NH3-N's own class that month, not the section's overall class
        assert {period: fill for period, fill in points} == {m: COLOURS[nh3n_class(v)] for m, v in series.items()}
        assert len({fill for _, fill in points}) >= 3
        # the selected month: a vertical line and a ring around its point, and its name
        ring = page.evaluate("(() => { const r = document.querySelector('.sm-selected-ring');"
                             " const c = document.querySelector('.sm-chart circle[data-period=\"2024-07\"]');"
                             " return [r.getAttribute('cx') === c.getAttribute('cx'), r.getAttribute('cy') === c.getAttribute('cy')]; })()")
        assert ring == [True, True]
        assert page.locator(".sm-selected-line").count() == 1 and page.evaluate("document.querySelector('.sm-chart text.sm-selected').textContent") == "所选 2024-07"
        # the whole popup lies inside the map, once the pan that fits it (animated, after the chart arrives) has run
        inside = ("(() => { const b = document.querySelector('.map-box').getBoundingClientRect();"
                  " const p = document.querySelector('.leaflet-popup-content-wrapper').getBoundingClientRect();"
                  " return p.left >= b.left - 1 && p.right <= b.right + 1; })()")
        try:
            wait_js(page, inside, timeout_ms=5_000)
        except TimeoutError:
            pass  # the assertion below says where it is
        box, popup = page.locator(".map-box").bounding_box(), page.locator(".leaflet-popup-content-wrapper").bounding_box()
        assert popup["x"] >= box["x"] - 1 and popup["x"] + popup["width"] <= box["x"] + box["width"] + 1
        os.makedirs(ARTIFACTS, exist_ok=True)
        page.locator(".map-box").screenshot(path=os.path.join(ARTIFACTS, f"sections_popup_500102_{width}.png"))
        assert op.errors == [] and op.external == []
        browser.close()
