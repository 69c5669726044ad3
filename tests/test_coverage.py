"""Coverage (issue 9, "answers that never mislead"): "不涉及" and "x km 范围内无…" only where the
site and its whole search radius lie inside districts whose layers are loaded.

Expectations are computed here from data/demo.gpkg's district boundaries with shapely and pyproj
(Gauss-Krüger zone 35, a 64-segment-per-quadrant disc, GRS80 geodesic area), not with geo.coverage.
"""
import csv
import io
import json
import re
import shutil

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
import shapely.affinity
import yaml
from shapely.geometry import box, mapping

from conftest import ROOT, TO_LL, create_app, geodesic_m2, to_gk, to_ll, unthrottled_app

RADIUS_M = 5000
CHENGDU = (104.06, 30.67)  # 成都市区: no district of this service
UNKNOWN, CLEAR = "无法判定", "不涉及"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return unthrottled_app(tmp_path_factory, "coverage")


@pytest.fixture(scope="module")
def districts_gk():
    d = pyogrio.read_dataframe(ROOT / "data" / "demo.gpkg", layer="district")
    return {str(a): to_gk(g) for a, g in zip(d["adcode"], d.geometry)}


@pytest.fixture(scope="module")
def edge_site(districts_gk):
    """A point 1 km inside 大足区's outer boundary, ≥ 12 km from 潼南区 (the only loaded neighbour),
    and the part of its 5 km disc outside all loaded districts (geodesic m²)."""
    union = shapely.union_all(list(districts_gk.values()))
    inner = max(shapely.get_parts(districts_gk["500111"].buffer(-1000)), key=lambda p: p.area).exterior
    for f in np.linspace(0, 1, 400, endpoint=False):
        p = inner.interpolate(f, normalized=True)
        if p.distance(districts_gk["500152"]) >= 12_000:
            break
    assert union.boundary.distance(p) == pytest.approx(1000, abs=1)
    outside = p.buffer(RADIUS_M, quad_segs=64).difference(union)
    lon, lat = TO_LL.transform(p.x, p.y)
    return lon, lat, geodesic_m2(to_ll(outside))


def screen(client, lon, lat, **extra):
    resp = client.post("/api/screen", json={"geometry": {"type": "Point", "coordinates": [lon, lat]}, **extra})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def radius_layers(body):
    """Layers whose coverage is the site and its search radius (not the control units, which tile the districts)."""
    return [layer for layer in body["layers"] if not layer.get("zoning")]


def zoning_layers(body):
    return [layer for layer in body["layers"] if layer.get("zoning")]


def main_text(html: str) -> str:
    """The page's own words: <main> without scripts (the embedded vocabulary lists every status word)."""
    body = re.search(r"<main.*?</main>", html, re.DOTALL).group(0)
    return re.sub(r"<script.*?</script>", "", body, flags=re.DOTALL)


# ------------------------------------------------------------------ a site outside every loaded district

def test_a_site_outside_all_loaded_districts_is_unknown_for_every_kind(client):
    body = screen(client, *CHENGDU, crs="EPSG:4490")
    disc_m2 = np.pi * RADIUS_M ** 2  # the search area, nothing of it covered
    assert body["site"]["districts"] == []
    for layer in radius_layers(body):
        cov = layer["coverage"]
        assert cov["complete"] is False
        assert cov["uncovered_km2"] * 1e6 == pytest.approx(disc_m2, rel=0.01)
        assert "5 km" in cov["note_zh"] and "未加载数据" in cov["note_zh"] and cov["note_en"]
    for layer in zoning_layers(body):  # units: the site itself is what must be covered
        assert layer["coverage"]["complete"] is False and layer["coverage"]["radius_m"] == 0 and not layer["hits"]
        assert any(line.startswith(UNKNOWN + layer["name_zh"]) for line in body["verdict"]["zoning"])
    assert body["verdict"]["level"] == UNKNOWN
    assert body["verdict"]["lines"][0].startswith(UNKNOWN) or UNKNOWN in body["verdict"]["summary"].split("；")[0]
    assert CLEAR not in json.dumps(body, ensure_ascii=False)


def test_outside_coverage_with_no_crs_stays_unknown_under_every_coordinate_system(client):
    body = screen(client, *CHENGDU)
    assert {s["level"] for s in body["coordinate_check"]["systems"]} == {UNKNOWN}
    assert CLEAR not in json.dumps(body, ensure_ascii=False)


def test_outside_coverage_in_csv_excel_page_and_pdf(client, monkeypatch):
    from openpyxl import load_workbook

    import render.pdf

    body = screen(client, *CHENGDU, crs="EPSG:4490")
    text = client.get(body["links"]["csv"]).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert {r["kind"] for r in rows} == {layer["kind"] for layer in body["layers"]}  # one 无法判定 row per kind
    assert all(r["name"].startswith(UNKNOWN) and r["coverage"].startswith("不完整") for r in rows)
    assert CLEAR not in text
    wb = load_workbook(io.BytesIO(client.get(body["links"]["xlsx"]).get_data()))
    cells = [str(c.value) for sheet in wb for row in sheet.iter_rows() for c in row if c.value is not None]
    assert "coverage" in cells and any(c.startswith(UNKNOWN) for c in cells) and not any(CLEAR in c for c in cells)
    summary = list(wb["汇总表"].iter_rows(values_only=True))
    assert all(summary[1][summary[0].index(f"{layer['name_zh']}结论")] == UNKNOWN for layer in body["layers"] if not layer.get("zoning"))
    page = main_text(client.get(body["links"]["html"]).get_data(as_text=True))
    assert 'class="level level-unknown"' in page and "coverage-warning" in page
    assert CLEAR not in page and "范围内无" not in page
    captured = {}
    monkeypatch.setattr(render.pdf, "render_pdf", lambda html: captured.setdefault("html", html).encode())
    assert client.get(body["links"]["pdf"]).status_code == 200
    assert "level-unknown" in captured["html"] and "未加载数据" in captured["html"]
    assert CLEAR not in captured["html"].split("<body>", 1)[1] and "范围内无" not in captured["html"]


def test_outside_coverage_in_the_cli(app, tmp_path):
    site = tmp_path / "chengdu.geojson"
    site.write_text(json.dumps({"type": "Feature", "properties": {"name": "成都点"},
                                "geometry": {"type": "Point", "coordinates": list(CHENGDU)}}), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["screen", str(site), "--crs", "EPSG:4490", "--out", str(tmp_path / "r.csv")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("成都点")]
    assert lines and UNKNOWN in lines[0]  # said first
    assert CLEAR not in result.output
    assert CLEAR not in (tmp_path / "r.csv").read_text(encoding="utf-8")


# ------------------------------------------------------------------ a search radius that leaves coverage

def test_a_radius_crossing_into_an_unloaded_area_is_measured_and_named(client, edge_site):
    lon, lat, outside_m2 = edge_site
    assert outside_m2 > 1e6  # the fixture is what it claims: km² of the disc lie outside
    body = screen(client, lon, lat, crs="EPSG:4490")
    assert [d["adcode"] for d in body["site"]["districts"]] == ["500111"]
    for layer in zoning_layers(body):  # the point itself lies in 大足区's units
        assert layer["coverage"]["complete"] is True and len(layer["hits"]) == 1
    for layer in radius_layers(body):
        cov = layer["coverage"]
        assert cov["complete"] is False
        assert cov["uncovered_km2"] * 1e6 == pytest.approx(outside_m2, rel=0.01)
        assert f"{cov['uncovered_km2']:.2f} km²" in cov["note_zh"] and "大足区以外" in cov["note_zh"]
    # kinds with no hit within 5 km: never "x km 范围内无…" nor "不涉及…"
    quiet = [layer["name_zh"] for layer in radius_layers(body) if not layer["hits"]]
    for name in quiet:
        assert not any(name in line and (CLEAR in line or "范围内无" in line) for line in body["verdict"]["lines"]), name
    if not any(h["relation"] != "near" for layer in radius_layers(body) for h in layer["hits"]):
        assert body["verdict"]["level"] == UNKNOWN
    assert "范围内无" not in json.dumps(body, ensure_ascii=False)


def test_the_shared_boundary_of_two_loaded_districts_is_no_gap(client, districts_gk):
    """A point on the 大足–潼南 boundary whose disc stays inside the two: covered (no sliver reported)."""
    union = shapely.union_all(list(districts_gk.values()))
    shared = shapely.line_merge(districts_gk["500111"].intersection(districts_gk["500152"]))
    line = max(shapely.get_parts(shared), key=lambda g: g.length)
    p = max((line.interpolate(f, normalized=True) for f in np.linspace(0, 1, 200)), key=lambda q: union.boundary.distance(q))
    assert union.boundary.distance(p) > RADIUS_M + 100
    assert geodesic_m2(to_ll(p.buffer(RADIUS_M, quad_segs=64).difference(union))) < 1.0
    body = screen(client, *TO_LL.transform(p.x, p.y), crs="EPSG:4490")
    for layer in body["layers"]:
        assert layer["coverage"]["complete"] is True
        assert layer["coverage"]["uncovered_km2"] < 0.01
    for layer in radius_layers(body):
        assert "大足区" in layer["coverage"]["note_zh"] and "潼南区" in layer["coverage"]["note_zh"]
    assert body["verdict"]["level"] != UNKNOWN


def test_a_smaller_search_radius_can_be_complete(client, edge_site):
    """The same edge point with bands up to 500 m: the disc lies inside 大足区, so coverage is complete."""
    lon, lat, _ = edge_site
    body = screen(client, lon, lat, crs="EPSG:4490", bands=[0, 100, 500])
    assert all(layer["coverage"]["complete"] for layer in body["layers"])
    assert all(layer["coverage"]["radius_m"] == 500 for layer in radius_layers(body))


@pytest.mark.parametrize("radius_m", [RADIUS_M, 300.0])
def test_the_batch_point_check_decides_as_the_measured_area(app, districts_gk, radius_m):
    """Batch points (check_points) near and across the loaded edge: complete exactly where the uncovered part of
    the search disc, measured here (zone 35 disc minus the districts, GRS80 area), is within min(1 %, 1 ha)."""
    from geo.screening import LocalFrame

    rng = np.random.default_rng(11)
    union = shapely.union_all(list(districts_gk.values()))
    x0, y0, x1, y1 = districts_gk["500111"].bounds  # 大足区 and its edges with loaded and unloaded neighbours
    x, y = rng.uniform(x0 - 8000, x1 + 8000, 400), rng.uniform(y0 - 8000, y1 + 8000, 400)
    lon, lat = TO_LL.transform(x, y)
    coverage = app.extensions["services"].live.get().screening.coverage
    found = coverage.check_points("redline", lon, lat, LocalFrame(105.7, 29.7), radius_m)
    decided_by_bound = 0
    for i, cov in enumerate(found):
        disc = shapely.Point(x[i], y[i]).buffer(radius_m, quad_segs=16)
        uncovered_m2 = geodesic_m2(to_ll(disc.difference(union)))
        expected = uncovered_m2 <= min(geodesic_m2(to_ll(disc)) / 100, 10_000)
        assert (cov is None or cov["complete"]) == expected, (i, uncovered_m2, cov)
        if cov is not None and cov["uncovered_km2"] is None:  # decided without measuring: says so, never a figure
            decided_by_bound += 1
            assert "全部位于" in cov["note_zh"] or "有超过 10000 m²" in cov["note_zh"]
    assert decided_by_bound > 50 and sum(cov is None for cov in found) > 20  # both quick answers are exercised


@pytest.mark.parametrize("radius_m", [RADIUS_M, 300.0])
def test_a_batch_row_polygon_decides_as_the_measured_area(app, districts_gk, radius_m):
    """Polygons (batch rows: check_all without measuring where a bound decides) against the uncovered part of
    their search polygon measured here; the bound's notes state no figure it did not measure."""
    from geo.screening import LocalFrame

    rng = np.random.default_rng(12)
    union = shapely.union_all(list(districts_gk.values()))
    x0, y0, x1, y1 = districts_gk["500111"].bounds
    coverage = app.extensions["services"].live.get().screening.coverage
    frame = LocalFrame(105.7, 29.7)
    by_bound = 0
    for _ in range(120):
        cx, cy = rng.uniform(x0 - 6000, x1 + 6000), rng.uniform(y0 - 6000, y1 + 6000)
        site_gk = shapely.Point(cx, cy).buffer(rng.uniform(100, 1500), quad_segs=8)
        site_gk = shapely.affinity.scale(site_gk, 1.0, rng.uniform(0.3, 1.0))
        cov = coverage.check_all(["redline"], to_ll(site_gk), site_gk, frame, radius_m, measure=False)["redline"]
        search = site_gk.buffer(radius_m, quad_segs=16)
        uncovered_m2 = geodesic_m2(to_ll(search.difference(union)))
        assert cov["complete"] == (uncovered_m2 <= min(geodesic_m2(to_ll(search)) / 100, 10_000)), (cx, cy, uncovered_m2, cov)
        if cov["uncovered_km2"] is None:
            by_bound += 1
            assert "全部位于" in cov["note_zh"] or "有超过 10000 m²" in cov["note_zh"]
    assert by_bound > 10


# ------------------------------------------------------------------ per layer kind: loaded districts

KIND = "test_cover_kind"
FARM_DAZU = box(105.700, 29.600, 105.705, 29.605)
FARM_QIJIANG = box(106.700, 28.880, 106.705, 28.885)
QIJIANG_SITE = (106.72, 28.88)  # near the middle of 綦江区


@pytest.fixture(scope="module")
def kind_app(tmp_path_factory):
    """A vocabulary kind whose layer file has features for 大足区 only."""
    tmp = tmp_path_factory.mktemp("cover")
    raw = yaml.safe_load((ROOT / "data" / "vocabulary.yaml").read_text(encoding="utf-8"))
    raw["kinds"][KIND] = {"label": "测试覆盖图层", "geometry": "polygon", "attributes": {}, "popup": ["name"],
                          "style": {"color": "#b8860b", "weight": 1, "fillColor": "#f0e68c", "fillOpacity": 0.4},
                          "screened": True, "in_shares": False, "rules": None}
    (tmp / "vocabulary.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    gpkg = tmp / "layers.gpkg"
    shutil.copy(ROOT / "data" / "demo.gpkg", gpkg)
    gdf = gpd.GeoDataFrame({"feature_id": ["500111-cv-1"], "name": ["大足测试斑块"], "adcode": ["500111"], "source": ["测试"],
                            "is_demo": [1]}, geometry=[FARM_DAZU], crs="EPSG:4490")
    pyogrio.write_dataframe(gdf, gpkg, layer=KIND, driver="GPKG")
    return create_app({"VOCABULARY": str(tmp / "vocabulary.yaml"), "LAYERS_GPKG": str(gpkg), "INSTANCE_DIR": str(tmp / "instance"),
                       "MEASUREMENTS_DB": str(tmp / "measurements.sqlite"), "RATE_LIMIT_PER_MINUTE": 10_000})


def test_coverage_is_per_layer_kind_and_publishing_extends_it(kind_app, tmp_path):
    client = kind_app.test_client()
    body = screen(client, *QIJIANG_SITE, crs="EPSG:4490")
    by_kind = {layer["kind"]: layer for layer in body["layers"]}
    assert by_kind["redline"]["coverage"]["complete"] is True  # 綦江区 has red lines loaded
    assert by_kind[KIND]["coverage"]["complete"] is False  # …but no layer of the test kind
    assert "全部位于" in by_kind[KIND]["coverage"]["note_zh"]
    assert not any("测试覆盖图层" in line and (CLEAR in line or "范围内无" in line) for line in body["verdict"]["lines"])
    # publishing the kind for 綦江区 makes it loaded there
    layer = tmp_path / "qj.geojson"
    layer.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "綦江测试斑块"}, "geometry": mapping(FARM_QIJIANG)}]}, ensure_ascii=False),
        encoding="utf-8")
    result = kind_app.test_cli_runner().invoke(args=["layers", "publish", str(layer), "--district", "500110", "--kind", KIND, "--yes"])
    assert result.exit_code == 0, result.output
    body = screen(client, *QIJIANG_SITE, crs="EPSG:4490")
    assert {layer["kind"]: layer for layer in body["layers"]}[KIND]["coverage"]["complete"] is True


def test_coverage_fields_are_documented(client):
    spec = client.get("/api/openapi.json").get_json()
    props = spec["components"]["schemas"]["LayerResult"]["properties"]["coverage"]["properties"]
    body = screen(client, *CHENGDU, crs="EPSG:4490")
    assert set(body["layers"][0]["coverage"]) <= set(props)
    assert UNKNOWN in spec["components"]["schemas"]["VerdictLevel"]["enum"]
