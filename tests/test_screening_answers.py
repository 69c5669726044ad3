"""Answers that never mislead (issue 9), end to end through POST /api/screen, the result page, the
CSV/Excel/GeoJSON exports, the PDF and the CLI: a point has no area, a sliver below the precision
is boundary contact, a line is screened as a line (length inside, crossings, optional corridor),
and plane (Gauss-Krüger) areas stand beside ellipsoidal ones, each labelled.

Expectations are computed here from data/demo.gpkg with shapely and pyproj alone (Geod on
intersections built in this file, Gauss-Krüger rectangles drawn in EPSG:4523), not with geo.screening.
"""
import csv
import io
import json
import re

import numpy as np
import pyogrio
import pytest
import shapely
from openpyxl import load_workbook
from pyproj import Proj
from shapely.geometry import mapping

from conftest import GEOD, GK35, ROOT, TO_LL, create_app, csrf_token, geodesic_m2, to_gk, to_ll, unthrottled_app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return unthrottled_app(tmp_path_factory, "answers")


@pytest.fixture(scope="module")
def redline():
    """The dissolved red line of 大足区 as shipped (lon/lat)."""
    red = pyogrio.read_dataframe(ROOT / "data" / "demo.gpkg", layer="redline")
    return shapely.union_all(red[red["adcode"] == "500111"].geometry.values)


def screen(client, geometry, **extra):
    resp = client.post("/api/screen", json={"geometry": geometry, "crs": extra.pop("crs", "EPSG:4490"), **extra})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def red_layer(body):
    return next(layer for layer in body["layers"] if layer["kind"] == "redline")


def csv_rows(client, body):
    return list(csv.DictReader(io.StringIO(client.get(body["links"]["csv"]).get_data(as_text=True).lstrip("\ufeff"))))


def main_text(html: str) -> str:
    """The page's own words: <main> without scripts (the embedded vocabulary lists every word)."""
    body = re.search(r"<main.*?</main>", html, re.DOTALL).group(0)
    return re.sub(r"<script.*?</script>", "", body, flags=re.DOTALL)


def report_html(client, body, monkeypatch) -> str:
    """The HTML the PDF is rendered from (the renderer itself is replaced: no fonts needed)."""
    import render.pdf

    captured = {}
    monkeypatch.setattr(render.pdf, "render_pdf", lambda html: captured.setdefault("html", html).encode())
    assert client.get(body["links"]["pdf"]).status_code == 200
    return captured["html"]


# ------------------------------------------------------------------ a point has no area

@pytest.fixture(scope="module")
def inside_point(redline):
    p = max(shapely.get_parts(redline), key=lambda g: g.area).representative_point()
    return p.x, p.y


def test_a_point_inside_the_red_line_has_no_area_anywhere(client, inside_point, monkeypatch):
    body = screen(client, {"type": "Point", "coordinates": list(inside_point)})
    site = body["site"]
    assert site["site_type"] == "point"
    assert site["area_m2"] is None and site["area_ha"] is None and site["plane_area_m2"] is None and site["length_m"] is None
    red = red_layer(body)
    hit = red["hits"][0]
    assert hit["relation"] == "within"
    assert hit["overlap_m2"] is None and hit["overlap_pct_of_site"] is None and red["total_overlap_pct_of_site"] is None
    assert any(line.startswith("位于生态保护红线内：") for line in body["verdict"]["lines"])
    answers = [line for line in body["verdict"]["lines"] if not line.startswith("无法判定")]  # coverage notes name km²
    assert answers and not any("占项目" in line or "m²" in line or "公顷" in line for line in answers)
    page = main_text(client.get(body["links"]["html"]).get_data(as_text=True))
    pdf_html = report_html(client, body, monkeypatch).split("<body>", 1)[1]
    for text in (page, pdf_html):
        assert "位于生态保护红线内" in text and "点位无面积" in text
        assert "0.00 m²" not in text and "占项目 %" not in text and "占项目 100" not in text
    row = next(r for r in csv_rows(client, body) if r["kind"] == "redline")
    assert row["relation"] == "within" and row["relation_zh"] == "完全位于其内"
    assert row["overlap_m2"] == row["overlap_pct_of_site"] == row["site_area_m2"] == ""
    sheet = load_workbook(io.BytesIO(client.get(body["links"]["xlsx"]).get_data()))["明细（英文字段）"]
    header = [c.value for c in sheet[1]]
    red_row = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[header.index("kind")] == "redline")
    assert red_row[header.index("overlap_pct_of_site")] in (None, "")


def test_many_points_through_the_batch_engine_carry_no_fake_percentage(app, tmp_path, inside_point):
    lon, lat = inside_point
    rows = "\n".join(f"p{i},{lon + i * 1e-6:.7f},{lat:.7f}" for i in range(210))
    src = tmp_path / "points.csv"
    src.write_text("name,lon,lat\n" + rows + "\n", encoding="utf-8")
    out = tmp_path / "r.csv"
    result = app.test_cli_runner().invoke(args=["screen", str(src), "--crs", "EPSG:4490", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8").lstrip("\ufeff"))))
    within = [r for r in table if r["kind"] == "redline" and r["relation"] == "within"]
    assert len(within) == 210
    assert all(r["overlap_pct_of_site"] == "" and r["overlap_m2"] == "" for r in within)


# ------------------------------------------------------------------ a sliver is boundary contact

@pytest.fixture(scope="module")
def sliver(redline):
    """A 20 m square outside the longest straight edge of the 大足 red line that lies over 6 km inside
    大足区 (so the 5 km search radius is covered), pushed in until the geodesic area of site ∩ red line
    is 0.2 m² (bisection on the depth, measured with Geod here)."""
    zone_m = to_gk(redline)
    district = pyogrio.read_dataframe(ROOT / "data" / "demo.gpkg", layer="district")
    edge = to_gk(district[district["adcode"] == "500111"].geometry.iloc[0]).boundary
    best = None
    for poly in shapely.get_parts(zone_m):
        xy = np.asarray(poly.exterior.coords)
        for i, length in enumerate(np.hypot(*(xy[1:] - xy[:-1]).T)):
            if (best is None or length > best[0]) and edge.distance(shapely.Point((xy[i] + xy[i + 1]) / 2)) > 6000:
                best = (length, xy[i], xy[i + 1])
    assert best[0] > 40
    _, a, b = best
    mid, along = (a + b) / 2, (b - a) / np.linalg.norm(b - a)
    normal = np.array([-along[1], along[0]])
    if zone_m.contains(shapely.Point(mid + normal)):
        normal = -normal  # outward

    def site(depth):
        c = mid + normal * (10 - depth)
        corners = [c + sa * 10 * along + sn * 10 * normal for sa, sn in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
        return to_ll(shapely.Polygon(corners))

    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid_depth = (lo + hi) / 2
        if geodesic_m2(site(mid_depth).intersection(redline)) < 0.2:
            lo = mid_depth
        else:
            hi = mid_depth
    geom = site(hi)
    overlap = geodesic_m2(geom.intersection(redline))
    assert overlap == pytest.approx(0.2, abs=0.005)
    return geom, overlap


def test_a_0_2_m2_sliver_is_reported_as_boundary_contact(client, sliver, monkeypatch):
    geom, overlap = sliver
    body = screen(client, mapping(geom))
    red = red_layer(body)
    assert [h["relation"] for h in red["hits"] if h["distance_m"] == 0] == ["contact"]
    assert red["total_overlap_m2"] == pytest.approx(overlap, abs=0.01)
    assert red["sliver_m2"] == 1.0
    lines = body["verdict"]["lines"]
    contact = [line for line in lines if "生态保护红线" in line]
    assert contact == [f"与生态保护红线边界接触（重叠 {overlap:.2f} m²，小于精度 1 m²）：{red['hits'][0]['name']}"]
    assert "生态保护红线" in body["verdict"]["contact"] and "生态保护红线" not in body["verdict"]["involved"]
    assert not any(line.startswith("涉及生态保护红线") for line in lines)
    if not body["verdict"]["involved"] and not body["verdict"]["unknown"]:
        assert body["verdict"]["level"] == "边界接触"
    row = next(r for r in csv_rows(client, body) if r["kind"] == "redline" and r["relation"] == "contact")
    assert row["relation_zh"] == "边界接触" and float(row["overlap_m2"]) == pytest.approx(overlap, abs=0.01)
    page = main_text(client.get(body["links"]["html"]).get_data(as_text=True))
    assert "与生态保护红线边界接触" in page and "小于精度 1 m²" in page
    assert "与生态保护红线边界接触" in report_html(client, body, monkeypatch)


def test_the_precision_is_the_sliver_m2_setting(sliver, tmp_path):
    geom, overlap = sliver
    app = create_app({"MEASUREMENTS_DB": str(tmp_path / "m.sqlite"), "INSTANCE_DIR": str(tmp_path), "SLIVER_M2": 0.1})
    body = screen(app.test_client(), mapping(geom))
    red = red_layer(body)
    assert [h["relation"] for h in red["hits"] if h["distance_m"] == 0] == ["intersects"]
    assert any(line.startswith(f"涉及生态保护红线 {overlap:.2f} m²") for line in body["verdict"]["lines"])
    assert body["method"]["sliver_m2"] == 0.1 and "0.1 m²" in body["method"]["precision"]


# ------------------------------------------------------------------ a line crossing the red line twice

@pytest.fixture(scope="module")
def crossing(redline):
    """An east-west line across 大足区 at the first latitude where it enters the red line in exactly two
    separate runs, trimmed to 1 km beyond them; and those runs, built here from shapely's intersection."""
    district = pyogrio.read_dataframe(ROOT / "data" / "demo.gpkg", layer="district")
    minx, miny, maxx, maxy = district[district["adcode"] == "500111"].geometry.iloc[0].bounds
    for lat in np.linspace(miny + 0.05, maxy - 0.05, 300):
        across = shapely.LineString([(minx, lat), (maxx, lat)])
        runs = [g for g in shapely.get_parts(shapely.line_merge(shapely.intersection(across, redline))) if g.geom_type == "LineString"]
        if len(runs) == 2 and min(GEOD.geometry_length(r) for r in runs) > 50:
            xs = [x for r in runs for x, _ in r.coords]
            line = shapely.LineString([(min(xs) - 0.01, lat), (max(xs) + 0.01, lat)])
            runs = [g for g in shapely.get_parts(shapely.line_merge(shapely.intersection(line, redline))) if g.geom_type == "LineString"]
            assert len(runs) == 2
            return line, runs
    pytest.fail("no latitude crosses the 大足 red line exactly twice")


def test_a_line_is_screened_as_a_line(client, crossing, monkeypatch):
    line, runs = crossing
    inside = sum(GEOD.geometry_length(r) for r in runs)
    total = GEOD.geometry_length(line)
    body = screen(client, mapping(line))
    site = body["site"]
    assert site["site_type"] == "line" and site["length_m"] == pytest.approx(total, abs=0.01)
    assert site["area_m2"] is None and site["plane_area_m2"] is None and site["corridor"] is None
    red = red_layer(body)
    assert red["total_crossings"] == 2
    assert red["total_length_inside_m"] == pytest.approx(inside, abs=0.01)
    assert red["total_length_pct_of_line"] == pytest.approx(inside / total * 100, abs=1e-3)
    assert red["total_overlap_m2"] is None and all(h["overlap_pct_of_site"] is None for h in red["hits"])
    names = "、".join(sorted({h["name"] for h in red["hits"] if h["relation"] in ("within", "intersects")}))
    expected = f"穿越生态保护红线 2 处，线路长度 {inside:.0f} m（占线路 {inside / total * 100:.1f}%）：{names}"
    assert expected in body["verdict"]["lines"]
    assert body["verdict"]["level"] == "涉及"
    rows = [r for r in csv_rows(client, body) if r["kind"] == "redline" and r["relation"] != "near"]
    assert sum(float(r["length_inside_m"]) for r in rows) == pytest.approx(inside, abs=0.05)
    assert {r["site_type"] for r in rows} == {"line"} and all(r["overlap_pct_of_site"] == "" for r in rows)
    assert float(rows[0]["site_length_m"]) == pytest.approx(total, abs=0.01)
    pieces = [f for f in client.get(body["links"]["geojson"]).get_json()["features"] if f["properties"]["kind"] == "redline"]
    assert {f["properties"]["part"] for f in pieces} == {"line"}
    assert sum(GEOD.geometry_length(shapely.geometry.shape(f["geometry"])) for f in pieces) == pytest.approx(inside, abs=0.05)
    page = main_text(client.get(body["links"]["html"]).get_data(as_text=True))
    assert "线路长度" in page and expected in page and "穿越 2 处" in page
    html = report_html(client, body, monkeypatch)
    assert expected in html and 'class="map-figure"><img src="data:image/png;base64,' in html  # the print map figure


def test_a_corridor_is_screened_beside_the_line(client, crossing, redline):
    line, _ = crossing
    width = 40.0
    body = screen(client, mapping(line), corridor_width_m=width)
    # independently: the line is straight, so in the GK zone its flat-ended corridor is a rectangle
    line_gk = to_gk(line)
    rect = line_gk.buffer(width / 2, cap_style="flat")
    corridor = body["site"]["corridor"]
    assert corridor["width_m"] == width and corridor["plane_area_m2"] == pytest.approx(width * line_gk.length, abs=0.01)
    assert corridor["area_m2"] == pytest.approx(geodesic_m2(to_ll(rect)), rel=1e-6)
    red = red_layer(body)
    expected = geodesic_m2(to_ll(rect).intersection(redline))
    assert red["total_corridor_overlap_m2"] == pytest.approx(expected, rel=1e-5)
    assert red["total_corridor_overlap_pct"] == pytest.approx(expected / corridor["area_m2"] * 100, abs=1e-3)
    assert red["total_crossings"] == 2  # the line itself is still measured as a line
    assert any(line.startswith("穿越生态保护红线 2 处") and f"线路廊道（宽 {width:g} m）涉及" in line for line in body["verdict"]["lines"])
    assert body["method"]["corridor"] and "20 m" in body["method"]["corridor"]


def test_the_corridor_width_is_checked_and_ignored_for_polygons(client, sliver):
    bad = client.post("/api/screen", json={"geometry": {"type": "Point", "coordinates": [105.7, 29.6]}, "corridor_width_m": -5})
    assert bad.status_code == 400 and "廊道" in bad.get_json()["error"]
    body = screen(client, mapping(sliver[0]), corridor_width_m=30)
    assert body["site"]["corridor"] is None
    assert any("线路廊道宽度只用于线状项目" in note for note in body["site"]["notes"])


def test_the_form_and_the_cli_take_a_corridor_width(app, client, crossing, tmp_path):
    line, _ = crossing
    form = client.get("/screen").get_data(as_text=True)
    assert "线路廊道宽度（米，可选）" in form and 'name="corridor_width_m"' in form
    resp = client.post("/screen", data={"coordinates": json.dumps(mapping(line)), "crs": "EPSG:4490", "corridor_width_m": "30",
                                        "coord_source": "gps", "csrf_token": csrf_token(client, "/screen")})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    page = main_text(client.get(resp.headers["Location"]).get_data(as_text=True))
    assert "线路廊道" in page and "宽 30 m" in page
    src = tmp_path / "line.geojson"
    src.write_text(json.dumps({"type": "Feature", "properties": {"name": "测试线路"}, "geometry": mapping(line)}), encoding="utf-8")
    out = tmp_path / "line.csv"
    result = app.test_cli_runner().invoke(args=["screen", str(src), "--crs", "EPSG:4490", "--corridor-width", "30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "穿越生态保护红线 2 处" in result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8").lstrip("\ufeff"))))
    assert {r["corridor_width_m"] for r in rows} == {"30.0"}
    assert any(r["corridor_overlap_m2"] not in ("", "0.0") for r in rows if r["kind"] == "redline")


def test_the_pdf_of_a_line_site_renders(client, crossing):
    """The real renderer (WeasyPrint with a CJK font); skipped where the machine has neither."""
    line, _ = crossing
    body = screen(client, mapping(line), corridor_width_m=40)
    resp = client.get(body["links"]["pdf"])
    if resp.status_code == 503:
        pytest.skip("PDF renderer or CJK font not installed")
    assert resp.status_code == 200 and resp.data[:4] == b"%PDF"


# ------------------------------------------------------------------ plane area beside the ellipsoidal area

def test_a_rectangle_drawn_in_gauss_kruger_coordinates_has_its_plane_area(client, monkeypatch):
    """400 m × 250 m in EPSG:4523, 130 km east of the central meridian (105°E): plane area exactly
    100 000 m²; the ellipsoidal area is smaller by the zone's areal scale there (pyproj Proj factors)."""
    x0, y0 = 35_630_000.0, 3_280_000.0
    ring = [[x0, y0], [x0 + 400, y0], [x0 + 400, y0 + 250], [x0, y0 + 250], [x0, y0]]
    body = screen(client, {"type": "Polygon", "coordinates": [ring]}, crs="EPSG:4523")
    site = body["site"]
    assert site["plane_epsg"] == GK35 and site["plane_zone"] == 35
    assert site["plane_area_m2"] == pytest.approx(100_000.0, abs=0.01)
    assert site["plane_area_ha"] == pytest.approx(10.0, abs=1e-4) and site["plane_area_mu"] == pytest.approx(150.0, abs=0.01)
    lon, lat = TO_LL.transform(x0 + 200, y0 + 125)
    k2 = Proj(GK35).get_factors(lon, lat).areal_scale
    assert site["area_m2"] == pytest.approx(100_000.0 / k2, rel=2e-5)
    assert site["area_m2"] < site["plane_area_m2"] - 25  # the two figures differ, and both are given
    assert "EPSG:4523" in body["method"]["plane_area"]
    page = main_text(client.get(body["links"]["html"]).get_data(as_text=True))
    html = report_html(client, body, monkeypatch)
    for text in (page, html):
        assert "椭球面积" in text and "投影面积" in text and "100000.00 m²" in text and "EPSG:4523" in text
        assert "勘测定界" in text  # says which figure a survey states
    row = csv_rows(client, body)[0]
    assert float(row["site_plane_area_m2"]) == pytest.approx(100_000.0, abs=0.01) and row["plane_epsg"] == str(GK35)


def test_overlap_totals_have_a_plane_area_too(client, redline):
    site = shapely.geometry.shape(json.loads((ROOT / "tests" / "data" / "site_dazu_cgcs2000.geojson").read_text())["features"][0]["geometry"])
    body = screen(client, mapping(site))
    red = red_layer(body)
    piece = site.intersection(redline)
    assert red["total_overlap_m2"] == pytest.approx(geodesic_m2(piece), rel=1e-6)
    assert red["total_overlap_plane_m2"] == pytest.approx(to_gk(piece).area, rel=1e-6)
    assert body["site"]["plane_area_m2"] == pytest.approx(to_gk(site).area, rel=1e-9)
    rows = [r for r in csv_rows(client, body) if r["kind"] == "redline" and r["relation"] == "intersects"]
    assert sum(float(r["overlap_plane_m2"]) for r in rows) == pytest.approx(to_gk(piece).area, abs=0.05)


def test_every_new_field_is_in_the_openapi_description(client, crossing, sliver, inside_point):
    from test_docs import _walk

    spec = client.get("/api/openapi.json").get_json()
    schema = spec["paths"]["/api/screen"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    missing = []
    for geometry, extra in ((mapping(crossing[0]), {"corridor_width_m": 40}), (mapping(crossing[0]), {}), (mapping(sliver[0]), {}),
                            ({"type": "Point", "coordinates": list(inside_point)}, {})):
        _walk(spec, schema, screen(client, geometry, **extra), "response", missing)
    assert missing == [], "\n".join(missing)
    request = spec["components"]["schemas"]["ScreenRequest"]["properties"]
    form = spec["paths"]["/api/screen"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert "corridor_width_m" in request and "corridor_width_m" in form
