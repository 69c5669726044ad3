"""打印/导出地图: the district map's print control gives the current view as a PNG/PDF with title, legend (of the layers
shown only), scale bar and north arrow; bad parameters are 400s. The PNG's regions are checked by their pixels."""
import io
import os

import numpy as np
import pytest
from PIL import Image

from browser import ARTIFACTS, CHROMIUM, OfflinePage, launch, serve, wait_js
from geo.vocabulary import default as _vocabulary

KINDS = _vocabulary().kinds
LAYERS_READY = "window.ZoningMap && ZoningMap.layers.length === %d && ZoningMap.layers.every(l => l.zmCount !== undefined)"
VIEW = "105.55,29.62,105.85,29.82"  # part of 大足区
MAP_FRAME = (0.06, 0.07, 0.72, 0.85)  # render/map_figure.view_figure: the map frame in figure fractions (left, bottom, w, h)


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def region(img: np.ndarray, x0: float, x1: float, top0: float, top1: float) -> np.ndarray:
    """Part of the image by fractions of its width (x) and height from the top."""
    h, w, _ = img.shape
    return img[int(top0 * h):int(top1 * h), int(x0 * w):int(x1 * w)]


def reds(part) -> int:
    return int(((part[..., 0] > 150) & (part[..., 1] < 80) & (part[..., 2] < 80)).sum())


def greens(part) -> int:
    return int(((part[..., 1] > part[..., 0] + 25) & (part[..., 1] > part[..., 2] + 5)).sum())


def check_furniture(png: bytes) -> np.ndarray:
    img = pixels(png)
    left, bottom, width, height = MAP_FRAME
    right, top = left + width, 1 - (bottom + height)
    legend = region(img, right + 0.01, 0.99, top, top + 0.3)
    assert (legend.sum(axis=2) < 200).sum() > 200, "legend text"
    assert reds(legend) > 50, "the red line's legend entry"
    scale = region(img, left, left + 0.25, 1 - bottom - 0.08, 1 - bottom)  # the scale bar, lower left inside the frame
    dark_rows = ((scale.sum(axis=2) < 120).sum(axis=1))
    assert dark_rows.max() > 0.3 * scale.shape[1] * 0.5, "a solid scale bar"
    arrow = region(img, left + width * 0.9, right, top, top + 0.15)  # the north arrow, upper right inside the frame
    assert (arrow.sum(axis=2) < 120).sum() > 100, "north arrow"
    title = region(img, 0.3, 0.7, 0, top)
    assert (title.sum(axis=2) < 200).sum() > 200, "title"
    return img


def test_print_png_has_its_furniture_and_only_the_layers_asked(client):
    resp = client.get(f"/districts/500111/print.png?bbox={VIEW}&layers=redline&paper=A4&title=只有红线")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    img = check_furniture(resp.data)
    assert Image.open(io.BytesIO(resp.data)).size == (1753, 1240)  # A4 landscape at 150 dpi
    assert greens(img) < 50  # no 自然保护地 (green) anywhere: not asked for, not drawn, not in the legend
    both = pixels(client.get(f"/districts/500111/print.png?bbox={VIEW}&layers=redline,protected_area").data)
    assert greens(both) > 5000
    pdf = client.get(f"/districts/500111/print.pdf?bbox={VIEW}&paper=A3")
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-"


@pytest.mark.parametrize("query, words", [
    ("bbox=1,2,3", "bbox 须为"),
    ("bbox=105,29,110,33", "打印范围过大"),
    (f"bbox={VIEW}&layers=bogus", "未知的图层类型"),
    (f"bbox={VIEW}&paper=A0", "纸张只能是"),
])
def test_bad_print_parameters_are_400(client, query, words):
    resp = client.get(f"/districts/500111/print.png?{query}", headers={"Accept": "application/json"})
    assert resp.status_code == 400 and words in resp.get_data(as_text=True)


@pytest.mark.skipif(not CHROMIUM, reason="chromium is not installed (apt-get install chromium)")
def test_print_the_current_view_from_the_map(app):
    from playwright.sync_api import sync_playwright

    with serve(app) as base, sync_playwright() as p:
        browser = launch(p)
        op = OfflinePage(browser, base)
        page = op.page
        page.goto(f"{base}/districts/500111")
        wait_js(page, LAYERS_READY % len(KINDS))
        page.evaluate("ZoningMap.map.setView([29.72, 105.70], 12, {animate: false})")
        page.click(".zm-print-toggle")
        page.fill(".zm-print-panel input[name=title]", "大足区西部生态红线图")
        page.select_option(".zm-print-panel select[name=format]", "png")
        os.makedirs(ARTIFACTS, exist_ok=True)
        page.screenshot(path=os.path.join(ARTIFACTS, "print_panel.png"))
        with page.expect_download() as download:
            page.click(".zm-print-panel button")
        url = page.evaluate("ZoningMap.lastPrintUrl")
        bounds = page.evaluate("(() => { const b = ZoningMap.map.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; })()")
        assert "title=" in url and "paper=A4" in url and "layers=" in url
        shown = page.evaluate("ZoningMap.layers.filter(l => ZoningMap.map.hasLayer(l) && l.zmConfig.key !== 'district').map(l => l.zmConfig.key)")
        assert "redline" in shown and "control_unit" not in shown
        png = open(download.value.path(), "rb").read()
        check_furniture(png)
        with open(os.path.join(ARTIFACTS, "printed_map.png"), "wb") as fh:
            fh.write(png)
        assert all(f"{v:.6f}" in url for v in bounds)  # the view printed is the map's
        assert op.errors == [] and op.external == []
        browser.close()


def test_printed_map_has_the_reference_layers_under_it(client, tmp_path):
    """The 大足/荣昌 border with both county names (data/context.gpkg's label points): the county outlines and names
    are drawn, named in the legend as 参考底图, and the source is in the foot line."""
    import subprocess

    pdf = client.get("/districts/500111/print.pdf?bbox=105.40,29.40,105.80,29.70&layers=redline").data
    path = tmp_path / "print.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "大足区" in text and "荣昌区" in text
    assert "区县界（参考底图）" in text and "GSHHG/WDBII" in text
