"""Each district map in headless Chromium with every request off this machine blocked."""
import json
import os

import pytest
from pyproj import Transformer

from browser import ARTIFACTS, CHROMIUM, OfflinePage, launch, serve, wait_js
from conftest import ADCODES, ROOT
from geo.vocabulary import default as _vocabulary

KINDS = _vocabulary().kinds

if not CHROMIUM:
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium for the browser tests (.ci/run installs it)")
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
LAYERS_READY = "window.ZoningMap && ZoningMap.layers.length === %d && ZoningMap.layers.every(l => l.zmCount !== undefined)"


@pytest.fixture(scope="module")
def browser_and_base(app):
    with serve(app) as base, sync_api.sync_playwright() as p:
        browser = launch(p)
        yield browser, base
        browser.close()


@pytest.mark.parametrize("adcode", ADCODES)
def test_district_map_offline(browser_and_base, service, adcode):
    browser, base = browser_and_base
    op = OfflinePage(browser, base)
    page = op.page
    page.goto(f"{base}/districts/{adcode}")
    wait_js(page, LAYERS_READY % len(KINDS))
    assert page.locator(".leaflet-container").count() == 1
    control = page.inner_text(".leaflet-control-layers")
    for kind in KINDS.values():
        assert kind.name_zh in control
    assert "无底图" in control
    counts = page.evaluate("ZoningMap.layers.map(l => [l.zmConfig.key, l.getLayers().length])")
    for key, n in counts:
        assert n == len(service.store.read(key, adcode)), key
    # the mouse readout gives the same GK 3° coordinates as pyproj
    page.mouse.move(700, 500)
    readout = page.evaluate("Object.assign({}, document.getElementById('zm-coords').dataset)")
    lon, lat, zone = float(readout["lon"]), float(readout["lat"]), int(readout["zone"])
    east, north = Transformer.from_crs(4490, 4488 + zone, always_xy=True).transform(lon, lat)
    assert float(readout["east"]) == pytest.approx(east, abs=0.01)
    assert float(readout["north"]) == pytest.approx(north, abs=0.01)
    # a red-line popup shows the name, area in km² and 公顷, and the demo label
    page.evaluate("(() => { const l = ZoningMap.layers.find(x => x.zmConfig.key === 'redline'); l.getLayers()[0].openPopup(); })()")
    popup = page.inner_text(".leaflet-popup-content")
    page.wait_for_timeout(400)  # let the popup fade in before the screenshot
    assert "km²" in popup and "公顷" in popup and "示意数据" in popup
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, f"district_{adcode}.png"))
    assert op.errors == []
    assert op.external == []
    page.close()


def test_search_box_finds_a_section(browser_and_base, service):
    browser, base = browser_and_base
    op = OfflinePage(browser, base)
    page = op.page
    page.goto(f"{base}/districts/500110")
    wait_js(page, LAYERS_READY % len(KINDS))
    name = service.plans["500110"]["monitoring_sections"][0]["name"]
    wait_js(page, "document.querySelector('.zm-search').dataset.ready")
    page.fill(".zm-search input", name)
    page.press(".zm-search input", "Enter")
    page.wait_for_selector(".leaflet-popup-content")
    assert name in page.inner_text(".leaflet-popup-content")
    assert op.errors == [] and op.external == []
    page.close()


def test_search_by_part_of_a_name_pinyin_initials_and_coordinates(browser_and_base, service):
    """“玉龙山” finds 玉龙山…森林公园 (a part of the name), its pinyin initials find it too, an unknown word says 未找到, and
    typed lon/lat (either order) or Gauss-Krüger X/Y (with or without the zone prefix) move the map there."""
    from pypinyin import Style, lazy_pinyin

    browser, base = browser_and_base
    op = OfflinePage(browser, base)
    page = op.page
    page.goto(f"{base}/districts/500235")
    wait_js(page, LAYERS_READY % len(KINDS))
    wait_js(page, "document.querySelector('.zm-search').dataset.ready")
    names = [str(n) for n in service.store.read("protected_area", "500235")["name"]]
    target = next(n for n in names if len(n) >= 6)
    part = target[1:4]
    page.fill(".zm-search input", part)
    listed = page.locator(".zm-search-results li").all_inner_texts()
    assert any(target in item for item in listed) and all(part in item for item in listed)
    initials = "".join(p[0] for p in lazy_pinyin(target, style=Style.FIRST_LETTER)).lower()
    page.fill(".zm-search input", initials)
    assert any(target in item for item in page.locator(".zm-search-results li").all_inner_texts())
    page.press(".zm-search input", "Enter")
    page.wait_for_selector(".leaflet-popup-content")
    assert target in page.inner_text(".leaflet-popup-content")
    page.wait_for_timeout(600)  # the zoom to it ends before the next search moves the map
    page.fill(".zm-search input", "没有这个地名")
    assert "未找到" in page.inner_text(".zm-search-results")
    lon, lat = 108.70, 30.95
    to_gk = Transformer.from_crs(4490, 4524, always_xy=True)  # zone 36 (with prefix), where 云阳 lies
    east, north = to_gk.transform(lon, lat)
    for typed in (f"{lon},{lat}", f"{lat}, {lon}", f"{north:.2f},{east:.2f}", f"{east:.2f} {north:.2f}", f"{north:.2f},{east - 36e6:.2f}"):
        page.fill(".zm-search input", typed)
        page.press(".zm-search input", "Enter")
        page.wait_for_timeout(300)
        got = page.evaluate("ZoningMap.lastJump")
        assert got["lon"] == pytest.approx(lon, abs=1e-6) and got["lat"] == pytest.approx(lat, abs=1e-6), typed
        assert page.evaluate(f"ZoningMap.map.getBounds().pad(-0.1).contains([{lat}, {lon}]) && ZoningMap.map.getZoom() >= 15"), \
            (typed, page.evaluate("[ZoningMap.map.getCenter(), ZoningMap.map.getZoom(), ZoningMap.map.getSize()]"))
    assert "未写带号" in page.inner_text(".leaflet-popup-content")
    assert op.errors == [] and op.external == []
    page.close()


def test_home_page_offline(browser_and_base):
    browser, base = browser_and_base
    op = OfflinePage(browser, base)
    op.page.goto(base + "/")
    assert op.page.locator("section.card").count() == len(ADCODES)
    os.makedirs(ARTIFACTS, exist_ok=True)
    op.page.screenshot(path=os.path.join(ARTIFACTS, "home.png"), full_page=True)
    assert op.errors == [] and op.external == []
    op.page.close()


@pytest.mark.parametrize("width", [390, 1000, 1440, 1920])
def test_home_page_indicator_tables_fit_their_cards(browser_and_base, width):
    """No cell spills over its neighbour (a long 2025 target such as 面积不减少、功能不降低、性质不改变 wraps) and no
    column is so narrow that a two-character word breaks (约束性 stays on one line)."""
    browser, base = browser_and_base
    op = OfflinePage(browser, base)
    page = op.page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(base + "/")
    spills = page.evaluate("""Array.from(document.querySelectorAll('table.indicators td'))
        .filter(td => td.scrollWidth > td.clientWidth + 1).map(td => td.textContent)""")
    assert spills == []
    lines = page.evaluate("""Array.from(document.querySelectorAll('table.indicators td.category, table.indicators td.num'))
        .map(td => { const r = document.createRange(); r.selectNodeContents(td); return r.getClientRects().length; })""")
    assert lines and max(lines) == 1  # 约束性 and figures stay on one line, never a character per line
    cards = page.evaluate("Array.from(document.querySelectorAll('section.card')).map(c => c.scrollWidth <= c.clientWidth + 1)")
    assert all(cards)
    page.close()


def test_draw_a_polygon_across_the_redline_edge_and_get_the_pdf(browser_and_base, service):
    """Issue 'site screening', done-when: draw across the 大足 red-line edge, get a correct overlap and a PDF."""
    import shapely
    from pyproj import Geod

    browser, base = browser_and_base
    red = service.store.read("redline", "500111").geometry.union_all()
    edge = max(shapely.get_parts(red), key=lambda p: p.area).exterior.interpolate(0.3, normalized=True)
    op = OfflinePage(browser, base)
    page = op.page
    page.goto(f"{base}/districts/500111")
    wait_js(page, LAYERS_READY % len(KINDS))
    page.evaluate(f"ZoningMap.map.setView([{edge.y}, {edge.x}], 15, {{animate: false}})")
    page.wait_for_timeout(300)
    centre = page.evaluate(f"(() => {{ const p = ZoningMap.map.latLngToContainerPoint([{edge.y}, {edge.x}]); return [p.x, p.y]; }})()")
    box = page.locator(".folium-map").bounding_box()
    offsets = [(-60, -50), (70, -40), (60, 60), (-50, 55)]
    page.click(".leaflet-draw-draw-polygon")
    clicks = [(box["x"] + centre[0] + dx, box["y"] + centre[1] + dy) for dx, dy in offsets]
    drawn = shapely.Polygon([page.evaluate(f"(() => {{ const ll = ZoningMap.map.containerPointToLatLng([{centre[0] + dx}, {centre[1] + dy}]);"
                                           " return [ll.lng, ll.lat]; })()") for dx, dy in offsets])
    for x, y in clicks:
        page.mouse.click(x, y)
        page.wait_for_timeout(150)
    page.mouse.click(*clicks[0])  # close the ring on the first vertex
    page.wait_for_url("**/screen/results/**", timeout=20_000)
    html = page.content()
    assert "涉及生态保护红线" in html
    rid = page.url.rsplit("/", 1)[1]
    body = page.request.get(f"{base}/screen/results/{rid}.json").json()
    # the polygon the clicks drew, intersected and measured independently with pyproj
    geod = Geod(ellps="GRS80")

    def m2(g):
        return abs(geod.geometry_area_perimeter(shapely.orient_polygons(g))[0])

    red_layer = next(layer for layer in body["layers"] if layer["kind"] == "redline")
    assert body["site"]["area_m2"] == pytest.approx(m2(drawn), rel=1e-3)
    assert red_layer["total_overlap_m2"] == pytest.approx(m2(drawn.intersection(red)), rel=1e-3)
    assert 0 < red_layer["total_overlap_pct_of_site"] < 100
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, "screen_result.png"), full_page=True)
    pdf = page.request.get(f"{base}/screen/results/{rid}.pdf")
    assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"
    assert op.errors == [] and op.external == []
    page.close()


def test_sections_map_colours_and_chart(browser_and_base, service):
    browser, base = browser_and_base
    op = OfflinePage(browser, base)
    page = op.page
    page.goto(f"{base}/districts/500110/sections")
    wait_js(page, "window.SectionsMap && SectionsMap.layer && SectionsMap.layer.getLayers().length === 5")
    markers = page.evaluate("SectionsMap.layer.getLayers().map(m => [m.sectionRow.level, m.getElement().querySelector('svg > *').tagName, "
                            "m.getElement().querySelector('svg > *').getAttribute('fill')])")
    assert len(markers) == 5 and all(fill.startswith("#") for _, _, fill in markers)
    shape_tags = {"square": "rect", "circle": "circle", "triangle": "polygon"}
    for level, tag, _ in markers:
        assert tag == shape_tags[_vocabulary().levels[level]["shape"]], level
    legend_tags = page.evaluate("Array.from(document.querySelectorAll('.zm-legend svg.zm-swatch')).slice(-3).map(s => s.firstChild.tagName)")
    assert legend_tags == ["rect", "circle", "polygon"]  # 国控 ■, 市控 ●, 区控 ▲ (the 区控 swatch was a square)
    assert "水质类别" in page.inner_text(".zm-legend")
    page.evaluate("SectionsMap.layer.getLayers().find(m => m.sectionRow.name === '北渡').openPopup()")
    page.wait_for_selector(".sm-chart polyline")
    assert page.get_attribute(".sm-chart-box", "data-points") == "24"
    assert "北渡" in page.inner_text(".sm-popup")
    page.wait_for_timeout(400)
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, "sections_500110.png"), full_page=True)
    assert op.errors == [] and op.external == []
    page.close()


def test_air_page_offline(browser_and_base, app):
    """The air page: one marker per station of the district coloured by the day's AQI class, a popup with the IAQIs
    and the 30-day chart; the year view colours by status; no request leaves the machine, no script error."""
    browser, base = browser_and_base
    air = app.extensions["services"].live.get().air
    stations = air.district_stations("500111")
    for width, height in ((1400, 900), (390, 844)):
        op = OfflinePage(browser, base)
        page = op.page
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{base}/districts/500111/air?date=2025-07-15")
        wait_js(page, "window.AirMap && AirMap.layer && AirMap.layer.getLayers().length === %d" % len(stations))
        day = air.day_rows("500111", "2025-07-15")["stations"]
        colours = page.evaluate("AirMap.layer.getLayers().map(m => [m.stationRow.id, m.getElement().querySelector('svg > *').getAttribute('fill')])")
        assert dict(colours) == {r["id"]: r["color"] for r in day}
        if width < 600:  # folded on a phone until asked for
            assert "zm-folded" in page.get_attribute(".zm-legend", "class")
            page.click(".zm-legend-toggle")
        assert "空气质量指数类别" in page.inner_text(".zm-legend")
        first = stations[0]["name"]
        page.evaluate("AirMap.layer.getLayers().find(m => m.stationRow.name === %s).openPopup()" % json.dumps(first))
        page.wait_for_selector(".am-chart polyline")
        assert page.get_attribute(".sm-chart-box", "data-points") == "30"
        text = page.inner_text(".am-popup")
        assert first in text and "分指数" in text and "HJ 633-2012" in text
        page.wait_for_timeout(400)
        os.makedirs(ARTIFACTS, exist_ok=True)
        page.screenshot(path=os.path.join(ARTIFACTS, f"air_500111_{width}.png"), full_page=True)
        assert op.errors == [] and op.external == []
        page.close()
    op = OfflinePage(browser, base)
    op.page.goto(f"{base}/districts/500111/air?mode=year&year=2025")
    wait_js(op.page, "window.AirMap && AirMap.layer && AirMap.layer.getLayers().length === %d" % len(stations))
    assert "达标" in op.page.inner_text(".zm-legend")
    assert op.errors == [] and op.external == []
    op.page.close()


def test_shares_page_renders_the_conflict_map(browser_and_base):
    browser, base = browser_and_base
    op = OfflinePage(browser, base)
    page = op.page
    page.goto(f"{base}/districts/500110/shares")
    wait_js(page, "window.ZoningMap && ZoningMap.layers.length === 2 && ZoningMap.layers.every(l => l.zmCount !== undefined)")
    assert page.locator(".conflict-map path.leaflet-interactive").count() > 3
    assert "不符合" in page.inner_text("table.indicators") and "符合" in page.inner_text("table.indicators")
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, "shares_500110.png"), full_page=True)
    assert op.errors == [] and op.external == []
    page.close()


XSS = "<img src=x onerror=alert(1)>"


def test_hostile_attribute_text_stays_text(browser_and_base, make_app, tmp_path):
    """A published feature named like an XSS payload shows as text in the map popup, the
    search list, the result page and the PDF; no dialog ever fires."""
    import json

    import shapely

    app = make_app(RATE_LIMIT_PER_MINUTE=100_000)
    site = shapely.geometry.shape(json.loads((ROOT / "tests" / "data" / "site_dazu_cgcs2000.geojson").read_text())["features"][0]["geometry"])
    layer = tmp_path / "pa.geojson"
    layer.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "name": XSS, "pa_type": "自然保护区", "level": "<script>alert(2)</script>"},
        "geometry": shapely.geometry.mapping(site.buffer(0.005))}]}, ensure_ascii=False), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["layers", "publish", str(layer), "--district", "500111", "--kind", "protected_area", "--yes",
                                                    "--confirm-change"])
    assert result.exit_code == 0, result.output
    dialogs = []
    browser, _ = browser_and_base
    with serve(app) as base:
        op = OfflinePage(browser, base)
        page = op.page
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{base}/districts/500111")
        wait_js(page, LAYERS_READY % len(KINDS))
        page.evaluate("(() => { const l = ZoningMap.layers.find(x => x.zmConfig.key === 'protected_area'); l.getLayers()[0].openPopup(); })()")
        assert XSS in page.inner_text(".leaflet-popup-content")
        assert page.locator(".leaflet-popup-content img").count() == 0
        page.fill(".zm-search input", XSS)
        page.press(".zm-search input", "Enter")
        page.wait_for_timeout(300)
        with open(ROOT / "tests" / "data" / "site_dazu_cgcs2000.geojson", "rb") as fh:
            body = app.test_client().post("/api/screen", data={"file": (fh, "site.geojson")}).get_json()
        page.goto(base + body["links"]["html"])
        page.wait_for_timeout(500)
        assert XSS in page.inner_text("main") and page.locator("main img").count() == 0
        os.makedirs(ARTIFACTS, exist_ok=True)
        page.screenshot(path=os.path.join(ARTIFACTS, "xss_result.png"), full_page=True)
        pdf = page.request.get(base + body["links"]["pdf"])
        assert pdf.status == 200
        assert op.errors == [] and op.external == []
        page.close()
    assert dialogs == []
    html = app.test_client().get(body["links"]["html"]).get_data(as_text=True)
    assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


SHOTS = "/tmp/shots"
AMBER = "rgb(138, 90, 0)"  # static/css/screening.css .level-unknown


def test_coordinate_source_question_and_the_amber_unknown_state(browser_and_base):
    """Issue 9: the form asks where the coordinates came from (no default, the browser will not
    submit without it); a site outside every loaded district shows amber 无法判定, and a 高德 point
    whose verdict depends on the source shows the warning with one-click re-runs."""
    from test_coordinate_source import flip_point

    browser, base = browser_and_base
    _, gcj, _ = flip_point()
    os.makedirs(SHOTS, exist_ok=True)
    op = OfflinePage(browser, base)
    page = op.page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{base}/screen")
    radios = page.locator('input[name="coord_source"]')
    assert radios.count() == 6 and not any(radios.nth(i).is_checked() for i in range(6))
    assert "坐标来源" in page.inner_text("fieldset.coord-source") and "不确定" in page.inner_text("fieldset.coord-source")
    sites = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "成都点"}, "geometry": {"type": "Point", "coordinates": [104.06, 30.67]}},
        {"type": "Feature", "properties": {"name": "高德拾取点"}, "geometry": {"type": "Point", "coordinates": list(gcj)}}]}
    page.fill('textarea[name="coordinates"]', json.dumps(sites, ensure_ascii=False))
    page.click('button[type="submit"]')
    page.wait_for_timeout(300)
    assert page.url.endswith("/screen")  # not submitted: the source is required
    assert page.evaluate("document.querySelector('input[name=coord_source]').validity.valueMissing")
    page.screenshot(path=os.path.join(SHOTS, "screen_form_desktop.png"), full_page=True)
    page.check('input[name="coord_source"][value="unsure"]')
    page.click('button[type="submit"]')
    page.wait_for_url("**/screen/results/**", timeout=20_000)
    result_url = page.url
    # site 1 (成都): amber 无法判定, never green
    first = page.locator("section.site-result").nth(0)
    assert "无法判定" in first.locator("h2 .level").inner_text()
    assert first.locator("h2 .level").evaluate("e => getComputedStyle(e).color") == AMBER
    assert first.locator(".coverage-warning").is_visible() and "未加载数据" in first.locator(".coverage-warning").inner_text()
    assert "不涉及" not in first.inner_text()
    # site 2 (高德 point): the systems differ, the page asks to confirm and offers re-runs
    second = page.locator("section.site-result").nth(1)
    assert second.locator(".coord-warning").is_visible() and "请确认坐标来源" in second.locator(".coord-warning").inner_text()
    buttons = page.locator("form.rerun button")
    assert buttons.count() == 3 and "GCJ-02" in buttons.nth(1).inner_text()
    page.screenshot(path=os.path.join(SHOTS, "screen_result_desktop.png"), full_page=True)
    phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    phone.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
    phone.goto(f"{base}/screen")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    phone.screenshot(path=os.path.join(SHOTS, "screen_form_phone.png"), full_page=True)
    phone.goto(result_url)
    phone.wait_for_timeout(500)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # nothing wider than the phone
    phone.screenshot(path=os.path.join(SHOTS, "screen_result_phone.png"), full_page=True)
    phone.close()
    # one click: re-run as 高德/腾讯 (GCJ-02) → the second site now involves the red line
    buttons.nth(1).click()
    page.wait_for_url("**/screen/results/**", timeout=20_000)
    assert page.url != result_url
    assert page.locator(".coord-warning").count() == 0
    assert "涉及" == page.locator("section.site-result").nth(1).locator("h2 .level").inner_text()
    assert op.errors == [] and op.external == []
    page.close()


def _basemap_pixels(page) -> dict:
    """Colours drawn on the base map's canvas tiles: river blue, boundary grey, anything but the paper colour."""
    return page.evaluate("""(() => {
      let drawn = 0, blue = 0, grey = 0;
      document.querySelectorAll('.leaflet-tile-container canvas').forEach(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 16) {
          const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
          if (Math.abs(r - 247) + Math.abs(g - 246) + Math.abs(b - 242) > 30) drawn++;
          if (b > r + 40 && b > 180) blue++;
          if (Math.abs(r - g) < 8 && Math.abs(g - b) < 8 && r < 200) grey++;
        }
      });
      return {drawn, blue, grey, canvases: document.querySelectorAll('.leaflet-tile-container canvas').length};
    })()""")


def test_reference_basemap_is_drawn_offline_and_a_failing_one_says_so(browser_and_base):
    browser, base = browser_and_base
    op = OfflinePage(browser, base)
    page = op.page
    page.goto(f"{base}/districts/500111")
    wait_js(page, LAYERS_READY % len(KINDS))
    control = page.inner_text(".leaflet-control-layers")
    assert control.index("参考底图") < control.index("无底图") < control.index("OpenStreetMap（需联网）")
    assert page.is_checked(".leaflet-control-layers-base input >> nth=0")  # the offline reference layers by default
    wait_js(page, "document.querySelectorAll('.leaflet-tile-container canvas').length >= 4")
    page.wait_for_timeout(1500)
    px = _basemap_pixels(page)
    assert px["drawn"] > 2000 and px["blue"] > 50 and px["grey"] > 200, px  # boundaries and rivers on the canvas
    assert op.external == [] and op.errors == []
    # OpenStreetMap cannot load here (every outside request is blocked): the map says so instead of staying grey
    page.click("text=OpenStreetMap（需联网）")
    page.wait_for_selector(".zm-base-failed", timeout=15000)
    notice = page.inner_text(".zm-base-failed")
    assert "无法加载" in notice and "参考底图" in notice
    page.screenshot(path=os.path.join(ARTIFACTS, "basemap_failed.png"))
    page.click("text=参考底图（离线：区县界、河流）")
    assert page.locator(".zm-base-failed").count() == 0
    assert any("tile.openstreetmap.org" in u for u in op.external)
    page.close()


def test_district_map_tells_levels_apart_and_hatches_the_red_line(browser_and_base, service):
    """国控/市控/区控 sections and stations get their own shapes on the map and in the legend; the red line is an
    outline with a hatch pattern, so a protected area under it keeps its green."""
    browser, base = browser_and_base
    op = OfflinePage(browser, base)
    page = op.page
    page.goto(f"{base}/districts/500110")
    wait_js(page, LAYERS_READY % len(KINDS))
    shapes = page.evaluate("""ZoningMap.layers.filter(l => ['monitoring_section', 'air_station'].includes(l.zmConfig.key))
        .flatMap(l => l.getLayers().map(m => [l.zmConfig.key, m.feature.properties.level, m.getElement().querySelector('svg > *').tagName]))""")
    vocab = _vocabulary()
    tags = {"square": "rect", "circle": "circle", "triangle": "polygon", "diamond": "polygon"}
    assert len({lvl for k, lvl, _ in shapes if k == "monitoring_section"}) >= 2
    for key, level, tag in shapes:
        spec = vocab.levels[level] if key == "monitoring_section" else vocab.air_levels[level]
        assert tag == tags[spec["shape"]], (key, level)
    fills = page.evaluate("ZoningMap.layers.find(l => l.zmConfig.key === 'redline').getLayers().map(p => p.getElement().getAttribute('fill'))")
    assert fills and all(f.startswith("url(#zm-hatch-redline") for f in fills)
    assert page.locator("#zm-patterns pattern").count() >= 1
    assert op.errors == [] and op.external == []
    page.close()


def test_result_page_puts_the_conclusions_first_with_labelled_sites_and_a_legend(browser_and_base):
    """Two parcels (real/survey_grouped.csv): a conclusions table first (before the map on a phone), the same levels as
    the JSON, each site labelled on the map, a legend of what the map draws, nothing wider than the phone."""
    browser, base = browser_and_base
    for width, height in ((1400, 900), (390, 844)):
        op = OfflinePage(browser, base)
        page = op.page
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{base}/screen")
        page.set_input_files("input[name=file]", str(ROOT / "tests" / "data" / "real" / "survey_grouped.csv"))
        page.check("input[value=declared]")
        page.click("button[type=submit]")
        page.wait_for_url("**/screen/results/**", timeout=20_000)
        body = page.request.get(page.url.split("?")[0] + ".json").json()
        results = body["sites"]
        levels = [r["verdict"]["level"] for r in results]
        rows = page.locator(".overview-table tr")
        assert rows.count() == 1 + len(levels)
        assert [rows.nth(i + 1).locator("td").nth(2).inner_text() for i in range(len(levels))] == levels
        wait_js(page, "window.ZoningMap && ZoningMap.sites")
        labels = page.evaluate("Array.from(document.querySelectorAll('.zm-site-label')).map(e => e.textContent)")
        assert sorted(labels) == [f"{i} {r['site']['name'] or '项目' + str(i)}" for i, r in enumerate(results, 1)]
        legend = page.locator(".zm-legend")
        assert legend.count() == 1
        if width < 600:
            assert "zm-folded" in legend.get_attribute("class")
            page.click(".zm-legend-toggle")
        assert "项目范围" in legend.inner_text()
        assert page.locator(".overview").bounding_box()["y"] < page.locator(".result-map").bounding_box()["y"]
        if width < 600:
            assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # tables scroll in their own box
        page.screenshot(path=os.path.join(ARTIFACTS, f"screen_result_overview_{width}.png"))
        assert op.errors == [] and op.external == []
        page.close()


def test_district_map_on_a_phone_folds_its_controls(browser_and_base):
    browser, base = browser_and_base
    op = OfflinePage(browser, base)
    page = op.page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/districts/500152")
    wait_js(page, LAYERS_READY % len(KINDS))
    page.wait_for_timeout(300)
    assert "zm-folded" in page.get_attribute(".zm-legend", "class")
    assert page.locator(".leaflet-control-layers-expanded").count() == 0
    page.click(".leaflet-control-layers-toggle")
    assert page.locator(".leaflet-control-layers-expanded").count() == 1
    page.click(".zm-legend-toggle")
    assert "zm-folded" not in page.get_attribute(".zm-legend", "class")
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    page.evaluate("(() => { const l = ZoningMap.layers.find(x => x.zmConfig.key === 'redline'); l.getLayers()[0].openPopup(); })()")
    page.wait_for_timeout(500)
    assert page.locator(".leaflet-control-layers-expanded").count() == 0  # folded away while the popup is open
    assert page.evaluate("getComputedStyle(document.querySelector('.zm-legend')).visibility") == "hidden"
    box, close = page.locator(".leaflet-container").bounding_box(), page.locator(".leaflet-popup-close-button").bounding_box()
    assert box["x"] <= close["x"] and close["x"] + close["width"] <= box["x"] + box["width"]
    assert box["y"] <= close["y"] and close["y"] + close["height"] <= box["y"] + box["height"]
    page.screenshot(path=os.path.join(ARTIFACTS, "district_phone_popup.png"))
    page.click(".leaflet-popup-close-button")
    assert page.evaluate("getComputedStyle(document.querySelector('.zm-legend')).visibility") == "visible"
    assert op.errors == [] and op.external == []
    page.close()
