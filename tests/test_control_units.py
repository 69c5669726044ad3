"""三线一单 environmental control units: the demo units against the published table, screening across a
unit boundary, shares and conflicts, and 准入清单 text shown as text.

Expectations are computed here with pyproj (conftest.geodesic_m2) and the published table typed in from
《重庆市“三线一单”生态环境分区管控调整方案（2023年）》统计表, not read from the service's own file.
"""
import io
import re
import subprocess
import zipfile

import docx

import geopandas as gpd
import pytest
import shapely

from conftest import ADCODES, csrf_token, geodesic_m2
from geo.shares import district_shares
from geo import control_units, vocabulary

# adcode → {class: (count, share %)}, as printed in the 2023 adjustment's table
PUBLISHED = {
    "500102": {"优先保护单元": (15, 18.2), "重点管控单元": (10, 29.0), "一般管控单元": (7, 52.8)},
    "500110": {"优先保护单元": (11, 21.1), "重点管控单元": (10, 25.3), "一般管控单元": (5, 53.6)},
    "500111": {"优先保护单元": (11, 17.4), "重点管控单元": (9, 46.0), "一般管控单元": (4, 36.6)},
    "500152": {"优先保护单元": (7, 5.1), "重点管控单元": (10, 48.1), "一般管控单元": (4, 46.8)},
    "500235": {"优先保护单元": (14, 43.3), "重点管控单元": (3, 1.3), "一般管控单元": (3, 55.4)},
}
XSS = '<script>alert("准入")</script><img src=x onerror=alert(1)>'


def only_result(body):
    return body["results"][0] if "results" in body else body


def units_of(service, adcode):
    return service.store.read("control_unit", adcode)


@pytest.mark.parametrize("adcode", ADCODES)
def test_demo_units_match_the_published_table(service, adcode):
    district = service.store.read("district", adcode).geometry.union_all()
    district_m2 = geodesic_m2(district)
    units = units_of(service, adcode)
    assert (units["is_demo"] == 1).all() and units["source"].str.contains("示意").all()
    assert units.geometry.is_valid.all()
    for cls, (count, share) in PUBLISHED[adcode].items():
        sub = units[units["unit_class"] == cls]
        assert len(sub) == count, cls
        got = geodesic_m2(shapely.intersection(sub.geometry.union_all(), district)) / district_m2 * 100
        assert abs(got - share) < 0.05, (cls, got)  # the published figure's rounding interval
    # codes ZH + adcode + class digit + serial, unique
    assert units["unit_code"].is_unique
    assert all(re.fullmatch(rf"ZH{adcode}[123]\d{{4}}", c) for c in units["unit_code"])
    # the 准入清单 is there, marked 示意, in every dimension
    for dim in ("spatial_layout", "pollutant_discharge", "risk_prevention", "resource_efficiency"):
        assert units[dim].str.contains("示意").all()


@pytest.mark.parametrize("adcode", ADCODES)
def test_demo_units_tile_the_district(service, adcode):
    district = service.store.read("district", adcode).geometry.union_all()
    geoms = units_of(service, adcode).geometry.values
    union = shapely.union_all(geoms)
    assert geodesic_m2(shapely.difference(district, union)) < 100  # m² of slivers along a boundary of hundreds of km
    assert geodesic_m2(shapely.difference(union, district)) < 100
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    pairs = [(i, j) for i, j in zip(a, b) if i < j]
    assert pairs  # neighbours share edges
    assert sum(geodesic_m2(shapely.intersection(geoms[i], geoms[j])) for i, j in pairs) < 1  # no overlaps


@pytest.mark.parametrize("adcode", ADCODES)
def test_priority_units_hold_the_red_line_where_the_share_allows(service, adcode):
    units = units_of(service, adcode)
    priority = units[units["unit_class"] == "优先保护单元"].geometry.union_all()
    district = service.store.read("district", adcode).geometry.union_all()
    redline = shapely.intersection(service.store.read("redline", adcode).geometry.union_all(), district)
    outside_m2 = geodesic_m2(shapely.difference(redline, priority))
    redline_pct = geodesic_m2(redline) / geodesic_m2(district) * 100
    if redline_pct <= PUBLISHED[adcode]["优先保护单元"][1]:
        assert outside_m2 < 100  # grid slivers only (of 10⁸ m²)
        zones = service.store.read("water_source_zone", adcode)
        grade1 = zones[zones["zone"] == "一级保护区"].geometry.union_all()
        assert geodesic_m2(shapely.difference(grade1, priority)) < 100
    else:  # 潼南: the published 5.1 % is smaller than the plan's 5.37 % red line, so some must lie outside
        assert outside_m2 >= (redline_pct - PUBLISHED[adcode]["优先保护单元"][1]) / 100 * geodesic_m2(district) * 0.99


def _shared_edge_point(units):
    """A point on the edge between a 优先保护 and a 重点管控 unit, away from other units."""
    pri = units[units["unit_class"] == "优先保护单元"].geometry.union_all()
    key = units[units["unit_class"] == "重点管控单元"]
    for _, row in key.iterrows():
        edge = shapely.intersection(pri.boundary, row.geometry.boundary)
        lines = [g for g in shapely.get_parts(edge) if g.geom_type in ("LineString", "MultiLineString") and g.length > 0.001]
        if lines:
            return lines[0].interpolate(0.5, normalized=True)
    raise AssertionError("no shared edge")


def test_site_across_priority_and_key_units_gets_both(client, service):
    units = units_of(service, "500111")
    p = _shared_edge_point(units)
    site = shapely.box(p.x - 0.004, p.y - 0.003, p.x + 0.004, p.y + 0.003)
    r = client.post("/api/screen", json={"geometry": shapely.geometry.mapping(site), "coord_source": "gps"})
    assert r.status_code == 200, r.get_data(as_text=True)
    result = only_result(r.get_json())
    layer = next(layer for layer in result["layers"] if layer["kind"] == "control_unit")
    assert layer["zoning"] is True
    site_m2 = geodesic_m2(site)
    expected = {}
    for _, row in units.iterrows():
        m2 = geodesic_m2(shapely.intersection(row.geometry, site))
        if m2 >= 1:
            expected[row["unit_code"]] = (row["unit_class"], m2)
    assert {cls for cls, _ in expected.values()} >= {"优先保护单元", "重点管控单元"}
    got = {h["attributes"]["unit_code"]: h for h in layer["hits"]}
    assert set(got) == set(expected)
    for code, (cls, m2) in expected.items():
        h = got[code]
        assert h["attributes"]["unit_class"] == cls
        assert h["overlap_m2"] == pytest.approx(m2, rel=1e-6, abs=0.05)
        assert h["overlap_pct_of_site"] == pytest.approx(m2 / site_m2 * 100, abs=0.001)
        assert h["distance_m"] == 0
        dims = [d["label"] for d in h["admission_list"]]
        assert dims == ["空间布局约束", "污染物排放管控", "环境风险防控", "资源利用效率"]
        assert {req["level"] for d in h["admission_list"] for req in d["requirements"]} <= {"市级总体", "区县总体", "单元"}
    # the verdict names each unit by its code with its share of the site, class by class
    for code, (cls, m2) in expected.items():
        line = next(x for x in result["verdict"]["zoning"] if x.startswith(f"涉及{cls}"))
        assert f"{code} " in line and f"占项目 {m2 / site_m2 * 100:.1f}%" in line
    assert result["verdict"]["lines"][:len(result["verdict"]["zoning"])] == result["verdict"]["zoning"]


def test_units_do_not_raise_the_level_and_never_report_distances(client, service):
    """A point in a 一般管控单元 far from every protected zone: the units say where it is, the level stays 不涉及."""
    units = units_of(service, "500235")
    general = units[units["unit_class"] == "一般管控单元"]
    zones = shapely.union_all([service.store.read(k, "500235").geometry.union_all() for k in ("redline", "water_source_zone", "protected_area")])
    far = shapely.difference(general.geometry.union_all(), zones.buffer(0.08))
    p = far.representative_point()
    r = client.post("/api/screen", json={"geometry": {"type": "Point", "coordinates": [p.x, p.y]}, "coord_source": "gps"})
    result = only_result(r.get_json())
    assert result["verdict"]["level"] == vocabulary.status("verdict", "clear")
    layer = next(layer for layer in result["layers"] if layer["kind"] == "control_unit")
    inside = general[general.geometry.covers(p)]
    assert [h["attributes"]["unit_code"] for h in layer["hits"]] == list(inside["unit_code"])
    assert result["verdict"]["zoning"] == [f"位于一般管控单元 {inside['unit_code'].iloc[0]} {inside['name'].iloc[0]}"]


def test_shares_rows_and_the_redline_conflict(client, service):
    r = client.get("/api/districts/500152/shares")
    data = r.get_json()
    rows = {row["indicator"]: row for row in data["indicators"] if row["indicator"].startswith("control_unit_share")}
    assert set(rows) == {f"control_unit_share:{c}" for c in PUBLISHED["500152"]}
    for cls, (count, share) in PUBLISHED["500152"].items():
        row = rows[f"control_unit_share:{cls}"]
        assert row["status"] == vocabulary.status("share", "ok") and row["n_units"] == count and row["published_count"] == count
        assert row["accepted_range_pct"] == [pytest.approx(share - 0.05), pytest.approx(share + 0.05)]
    # the red line outside the 优先保护单元, measured independently
    units = units_of(service, "500152")
    district = service.store.read("district", "500152").geometry.union_all()
    redline = shapely.intersection(service.store.read("redline", "500152").geometry.union_all(), district)
    outside = shapely.difference(redline, units[units["unit_class"] == "优先保护单元"].geometry.union_all())
    conflict = data["conflicts"]["redline_outside_priority_units"]
    assert conflict["available"] is True
    assert conflict["area_m2"] == pytest.approx(geodesic_m2(outside), rel=1e-6)
    assert conflict["area_m2"] > 1e6


def test_a_class_off_the_published_share_is_a_finding(service):
    """Drop one 重点管控 unit (its area becomes a gap): the class share and count no longer match, and both are findings."""
    kind = vocabulary.default().kinds["control_unit"]
    layers = {k: service.store.read(k, "500111") for k in ("district", "redline", "protected_area", "control_unit")}
    units = layers["control_unit"]
    dropped = units[units["unit_class"] == "重点管控单元"].index[0]
    layers["control_unit"] = units.drop(index=dropped)
    out = district_shares(layers, service.plans["500111"], control_units={"kind": kind, "published": control_units.published(), "adcode": "500111"})
    row = next(r for r in out["indicators"] if r["indicator"] == "control_unit_share:重点管控单元")
    assert row["status"] == vocabulary.status("share", "fail") and row["n_units"] == 8
    district = layers["district"].geometry.union_all()
    kept = layers["control_unit"][layers["control_unit"]["unit_class"] == "重点管控单元"].geometry.union_all()
    assert row["computed_pct"] == pytest.approx(geodesic_m2(shapely.intersection(kept, district)) / geodesic_m2(district) * 100, rel=1e-6)
    kinds = [f["kind"] for f in out["findings"]]
    assert "control_unit_share" in kinds and "control_unit_count" in kinds


@pytest.fixture()
def xss_app(make_app, service):
    """An app whose 大足 units carry a 准入清单 with markup in it (published straight to the repository)."""
    app = make_app()
    ctx = app.extensions["services"]
    units = service.store.read("control_unit", "500111").copy()
    units["spatial_layout"] = f"【单元】{XSS}\n【市级总体】第二条 & <b>不加粗</b>"
    units["name"] = units["name"] + "<i>x</i>"
    before = ctx.live.get().store.layer_version("500111", "control_unit")
    ctx.repository.publish("500111", "control_unit", gpd.GeoDataFrame(units, geometry="geometry", crs=4490),
                           {"source_name": "xss.gpkg", "input_sha256": "0" * 64, "created_by": "test", "mapping": {}}, replaces=before)
    ctx.live.reload()
    return app


def test_admission_list_markup_is_text_in_page_pdf_and_word(xss_app, service):
    client = xss_app.test_client()
    units = service.store.read("control_unit", "500111")
    p = units.geometry.iloc[0].representative_point()
    r = client.post("/screen", data={"csrf_token": csrf_token(client, "/screen"), "coordinates": f"{p.x},{p.y}", "coord_source": "gps"})
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "<script>alert(" not in html and "<img src=x" not in html and "<b>不加粗</b>" not in html
    assert "&lt;script&gt;alert(" in html and "&lt;b&gt;不加粗&lt;/b&gt;" in html
    assert "生态环境准入清单" in html and "空间布局约束" in html
    rid = re.search(r"/screen/results/([A-Za-z0-9_-]+)\.pdf", html).group(1)
    pdf = client.get(f"/screen/results/{rid}.pdf")
    assert pdf.status_code == 200 and pdf.data[:4] == b"%PDF"
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.data, capture_output=True, check=True).stdout.decode()
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", XSS) in flat and "<b>不加粗</b>" in flat
    word = client.get(f"/screen/results/{rid}.docx")
    assert word.status_code == 200
    with zipfile.ZipFile(io.BytesIO(word.data)) as z:
        xml = z.read("word/document.xml").decode()
    assert "<script>" not in xml and "&lt;script&gt;alert(" in xml
    doc = docx.Document(io.BytesIO(word.data))
    texts = [p.text for p in doc.paragraphs] + [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert any(XSS in t for t in texts) and any("<b>不加粗</b>" in t for t in texts)
    assert any("空间布局约束" in t for t in texts)
