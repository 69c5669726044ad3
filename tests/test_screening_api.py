"""POST /api/screen end to end: every input format gives the same answer, checked independently."""
import csv
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Polygon, shape

from conftest import ROOT, csrf_token
from geo.crs import reproject, wgs84_to_gcj02

DATA = ROOT / "tests" / "data"
BAD = DATA / "bad"
GEOD = Geod(ellps="GRS80")
SITE_FILES = ["site_dazu_gk35_gbk.zip", "site_dazu_jzd.txt", "site_dazu_cgcs2000.geojson", "site_dazu.kml"]


def ellipsoidal_m2(geom):
    return abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))[0])


def upload(client, path: Path, **form):
    with open(path, "rb") as fh:
        return client.post("/api/screen", data={"file": (fh, path.name), **form})


@pytest.fixture(scope="module")
def reference(service):
    """The GeoJSON site's overlap with the dissolved 大足 red line, computed here with pyproj alone."""
    site = shape(json.loads((DATA / "site_dazu_cgcs2000.geojson").read_text())["features"][0]["geometry"])
    redline = service.store.read("redline", "500111").geometry.union_all()
    return {"site_m2": ellipsoidal_m2(site), "overlap_m2": ellipsoidal_m2(site.intersection(redline))}


@pytest.mark.parametrize("name", SITE_FILES)
def test_every_format_gives_the_reference_answer(client, reference, name):
    resp = upload(client, DATA / name)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["site"]["name"] == "大足区测试项目（GBK 编码）"  # GBK attribute text decoded right
    assert body["site"]["area_m2"] == pytest.approx(reference["site_m2"], rel=1e-3)
    red = next(layer for layer in body["layers"] if layer["kind"] == "redline")
    assert red["total_overlap_m2"] > 0
    assert red["total_overlap_m2"] == pytest.approx(reference["overlap_m2"], rel=1e-3)
    assert [h["relation"] for h in red["hits"]] == ["intersects"]
    assert red["total_overlap_pct_of_site"] == pytest.approx(reference["overlap_m2"] / reference["site_m2"] * 100, abs=0.1)
    assert body["verdict"]["level"] == "涉及"
    assert any(line.startswith("涉及生态保护红线") for line in body["verdict"]["lines"])
    # the 5 km radius leaves 大足区 (its neighbours carry no data): no kind is said to be clear
    incomplete = [layer["name_zh"] for layer in body["layers"] if not layer["coverage"]["complete"]]
    assert incomplete and not any(line.startswith("不涉及") and any(k in line for k in incomplete) for line in body["verdict"]["lines"])
    assert red["control_rules"] and red["control_rules"][0]["line"] > 0


def test_gk_zone_35_detected_from_the_easting_prefix(client):
    body = upload(client, DATA / "site_dazu_gk35_gbk.zip").get_json()
    assert "4523" in body["site"]["crs"]["as_read"]  # read from the .prj
    txt = upload(client, DATA / "site_dazu_jzd.txt").get_json()
    assert "4523" in txt["site"]["crs"]["as_read"]  # 带号=35, easting with zone prefix
    # the file states the planar GK area; the ellipsoidal one differs by the zone's scale error (< 0.1 %)
    assert abs(txt["site"]["stated_vs_computed_pct"]) < 0.1


def test_gcj02_and_wgs84_give_the_same_answer(client):
    site = shape(json.loads((DATA / "site_dazu_cgcs2000.geojson").read_text())["features"][0]["geometry"])
    a = client.post("/api/screen", json={"geometry": shapely.geometry.mapping(site), "crs": "EPSG:4326"}).get_json()
    b = client.post("/api/screen", json={"geometry": shapely.geometry.mapping(wgs84_to_gcj02(site)), "crs": "GCJ02"}).get_json()
    c = client.post("/api/screen", json={"geometry": shapely.geometry.mapping(wgs84_to_gcj02(site))}).get_json()
    for x, y in ((a, b),):
        for la, lb in zip(x["layers"], y["layers"]):
            assert la["total_overlap_m2"] == pytest.approx(lb["total_overlap_m2"], rel=1e-4)
            assert [h["relation"] for h in la["hits"]] == [h["relation"] for h in lb["hits"]]
    assert any("GCJ-02" in step for step in b["site"]["crs"]["conversions"])
    # GCJ-02 read as lon/lat lands 300–600 m off, which is why the CRS matters
    _, _, shift_m = GEOD.inv(a["site"]["centroid"]["lon"], a["site"]["centroid"]["lat"], c["site"]["centroid"]["lon"], c["site"]["centroid"]["lat"])
    assert 300 < shift_m < 600
    assert "GCJ02" in c["site"]["crs"]["conversions"][0]  # the detection note warns about web-map systems


def test_point_and_typed_coordinates(client, service):
    red = service.store.read("redline", "500111").geometry.iloc[0]
    p = red.representative_point()
    body = client.post("/api/screen", json={"geometry": {"type": "Point", "coordinates": [p.x, p.y]}, "district": "500111"}).get_json()
    hit = next(layer for layer in body["layers"] if layer["kind"] == "redline")["hits"][0]
    assert hit["relation"] == "within" and hit["overlap_pct_of_site"] is None  # a point has no area: no "占项目 100 %"
    resp = client.post("/screen", data={"coordinates": f"{p.x},{p.y}", "crs": "EPSG:4490", "csrf_token": csrf_token(client, "/screen")})
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "位于生态保护红线内" in page


def test_gk_coordinates_without_zone_prefix_need_a_crs(client):
    resp = upload(client, BAD / "gk_without_zone.geojson")
    assert resp.status_code == 400
    assert "EPSG:4544" in resp.get_json()["details"]["candidates"]
    ok = upload(client, BAD / "gk_without_zone.geojson", crs="EPSG:4544")
    assert ok.status_code == 200
    with_district = upload(client, BAD / "gk_without_zone.geojson", district="500111")
    assert with_district.status_code == 200 and "105°E" in with_district.get_json()["site"]["crs"]["conversions"][0]


def test_multiple_sites_and_csv_export(client):
    csv_text = "name,lon,lat\n甲,105.70,29.60\n乙,105.60,29.71\n"
    resp = client.post("/api/screen", data={"file": (io.BytesIO(csv_text.encode("gbk")), "pts.csv")})
    body = resp.get_json()
    assert [s["site"]["name"] for s in body["sites"]] == ["甲", "乙"]
    rows = list(csv.DictReader(io.StringIO(client.get(body["links"]["csv"]).get_data(as_text=True).lstrip("\ufeff"))))
    assert {r["site"] for r in rows} == {"甲", "乙"}


def test_exports(client):
    body = upload(client, DATA / "site_dazu_cgcs2000.geojson").get_json()
    gj = client.get(body["links"]["geojson"]).get_json()
    pieces = [f for f in gj["features"] if f["properties"]["kind"] == "redline"]
    red = next(layer for layer in body["layers"] if layer["kind"] == "redline")
    assert sum(ellipsoidal_m2(shape(f["geometry"])) for f in pieces) == pytest.approx(red["total_overlap_m2"], rel=1e-3)
    xlsx = client.get(body["links"]["xlsx"])
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    html = client.get(body["links"]["html"]).get_data(as_text=True)
    assert "涉及生态保护红线" in html and "初筛结果，以主管部门审定的矢量数据为准" in html
    assert client.get(body["links"]["json"]).get_json()["result_id"] == body["result_id"]


def test_pdf_report(client):
    from render.pdf import cjk_font_available

    if not cjk_font_available():
        if os.environ.get("CI"):
            raise RuntimeError("CI needs fonts-noto-cjk for the PDF test")
        pytest.skip("no CJK font installed")
    body = upload(client, DATA / "site_dazu_jzd.txt").get_json()
    pdf = client.get(body["links"]["pdf"])
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-"
    assert len(pdf.data) > 20_000  # embeds the CJK font subset


BAD_CASES = {
    "empty.geojson": (400, "为空"),
    "report.docx": (415, "不支持的文件类型"),
    "nowhere.geojson": (400, "不符合任何支持的坐标系"),
    "not_json.geojson": (400, "GeoJSON 格式错误"),
    "no_shp.zip": (400, "没有 .shp"),
    "zip_slip.zip": (400, "路径不安全"),
    "zip_bomb.zip": (413, "压缩炸弹"),
    "truncated_dbf.zip": (400, ".dbf 文件不完整"),
    "broken.gpkg": (400, "无法读取"),
    "xxe.kml": (400, "实体声明"),
    "no_lonlat.csv": (400, "经度、纬度"),
    "points_bad_row.csv": (400, "第 3 行"),
    "text_in_numbers_jzd.txt": (400, "不是数字"),
    "gk_without_zone.geojson": (400, "中央经线"),
}
REPAIRED = {
    "bowtie.geojson": "make_valid",
    "unclosed.geojson": "自动闭合",
    "unclosed_jzd.txt": "自动闭合",
    "swapped_xy_jzd.txt": "X/Y 列互换",
}


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_bad_input_is_refused_with_a_clear_message(client, name, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    status, words = BAD_CASES[name]
    resp = upload(client, BAD / name)
    body = resp.get_json()
    assert resp.status_code == status, body
    assert words in body["error"] and body["error_en"]
    assert list(tmp_path.iterdir()) == []  # nothing left behind


@pytest.mark.parametrize("name", sorted(REPAIRED))
def test_repairable_input_is_repaired_and_said(client, name):
    resp = upload(client, BAD / name)
    assert resp.status_code == 200
    assert any(REPAIRED[name] in n for n in resp.get_json()["site"]["notes"])


def test_swapped_txt_gives_the_same_answer_as_the_good_one(client):
    good = upload(client, DATA / "site_dazu_jzd.txt").get_json()
    swapped = upload(client, BAD / "swapped_xy_jzd.txt").get_json()
    assert swapped["site"]["area_m2"] == pytest.approx(good["site"]["area_m2"], rel=1e-9)


def test_limits(tmp_path, make_app):
    app = make_app(MAX_UPLOAD_MB=1, MAX_VERTICES=10, MAX_FEATURES=2)
    client = app.test_client()
    big = tmp_path / "big.geojson"
    big.write_bytes(b" " * (1024 * 1024 + 10))
    assert upload(client, big).status_code == 413
    many = Polygon([(105.7 + 0.001 * i, 29.6 + 0.0001 * (i % 2)) for i in range(20)] + [(105.7, 29.61)])
    resp = client.post("/api/screen", json={"geometry": shapely.geometry.mapping(many)})
    assert resp.status_code == 400 and "节点数超过上限" in resp.get_json()["error"]
    pts = "lon,lat\n" + "105.7,29.6\n" * 3
    resp = client.post("/api/screen", data={"file": (io.BytesIO(pts.encode()), "p.csv")})
    assert resp.status_code == 400 and "上限" in resp.get_json()["error"]


@pytest.mark.parametrize("payload,words", [
    ({"geometry": {"type": "Point", "coordinates": [105.7, 29.6]}, "crs": "EPSG:99999999"}, "无法识别的坐标系"),
    ({"geometry": {"type": "Point", "coordinates": [105.7, 29.6]}, "crs": "EPSG:1234"}, "不是已知的坐标系"),
    ({"geometry": {"type": "Point", "coordinates": [105.7, 29.6]}, "district": "999999"}, "未知的行政区划代码"),
    ({"geometry": {"type": "Point", "coordinates": [105.7, 29.6]}, "bands": [0, "x"]}, "距离分级"),
    ({"geometry": {"type": "Polygon", "coordinates": "oops"}}, "无法解析"),
    ({"nothing": 1}, "缺少 geometry"),
])
def test_bad_json_requests(client, payload, words):
    resp = client.post("/api/screen", json=payload)
    assert 400 <= resp.status_code < 500
    assert words in resp.get_json()["error"]


def test_non_json_body_is_415(client):
    resp = client.post("/api/screen", data="not json", content_type="text/plain")
    assert resp.status_code == 415 and resp.get_json()["error_en"]


def test_result_from_gk_matches_reprojection(reference):
    """Cross-check the fixture itself: the GK polygon reprojected is the GeoJSON polygon."""
    sys.path.insert(0, str(DATA))
    from make_fixtures import SITE_GK

    ll = reproject(Polygon(SITE_GK), 4523, 4490)
    assert ellipsoidal_m2(ll) == pytest.approx(reference["site_m2"], rel=1e-9)


def test_cli_batch_of_points(tmp_path, make_app):
    import numpy as np

    app = make_app()
    rng = np.random.default_rng(3)
    pts = tmp_path / "points.csv"
    pts.write_text("name,lon,lat\n" + "".join(f"P{i},{x:.6f},{y:.6f}\n" for i, (x, y) in enumerate(
        zip(rng.uniform(105.5, 106.0, 500), rng.uniform(29.4, 29.85, 500)))), encoding="utf-8")
    out = tmp_path / "out.csv"
    result = app.test_cli_runner().invoke(args=["screen", str(pts), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "批量引擎" in result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8").lstrip("\ufeff"))))
    assert rows and {r["relation"] for r in rows} <= {"within", "near", ""}
    # a row without relation is a kind whose 5 km search radius leaves the loaded districts: 无法判定, never "clear"
    assert all(r["name"].startswith("无法判定") and r["coverage"].startswith("不完整") for r in rows if r["relation"] == "")
    single = app.test_cli_runner().invoke(args=["screen", str(DATA / "site_dazu_jzd.txt"), "--out", str(tmp_path / "r.json")])
    assert single.exit_code == 0 and "涉及生态保护红线" in single.output
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["verdict"]["level"] == "涉及"


def test_bd09_kmz_and_geopackage_inputs(client, reference, tmp_path):
    import zipfile

    import geopandas as gpd
    import prcoords

    site = shape(json.loads((DATA / "site_dazu_cgcs2000.geojson").read_text())["features"][0]["geometry"])
    bd = shapely.transform(site, lambda xy: np.array([(c.lon, c.lat) for c in (
        prcoords.wgs_bd(prcoords.Coords(lat, lon)) for lon, lat in xy)]))
    body = client.post("/api/screen", json={"geometry": shapely.geometry.mapping(bd), "crs": "BD09"}).get_json()
    red = next(layer for layer in body["layers"] if layer["kind"] == "redline")
    assert red["total_overlap_m2"] == pytest.approx(reference["overlap_m2"], rel=1e-3)
    kmz = tmp_path / "site.kmz"
    with zipfile.ZipFile(kmz, "w") as zf:
        zf.write(DATA / "site_dazu.kml", "doc.kml")
    gpkg = tmp_path / "site.gpkg"
    gpd.GeoDataFrame({"name": ["大足区测试项目（GBK 编码）"]}, geometry=[reproject(site, 4490, 4523)], crs=4523).to_file(gpkg)
    for path in (kmz, gpkg):
        body = upload(client, path).get_json()
        red = next(layer for layer in body["layers"] if layer["kind"] == "redline")
        assert red["total_overlap_m2"] == pytest.approx(reference["overlap_m2"], rel=1e-3), path.name
        assert body["site"]["name"] == "大足区测试项目（GBK 编码）"


def test_xian80_gk_by_epsg_code(client, reference):
    """Xian 1980 3° GK zone 35 (EPSG:2359) is converted by pyproj when the code is given."""
    site = shape(json.loads((DATA / "site_dazu_cgcs2000.geojson").read_text())["features"][0]["geometry"])
    xian = reproject(site, 4490, 2359)
    body = client.post("/api/screen", json={"geometry": shapely.geometry.mapping(xian), "crs": "EPSG:2359"}).get_json()
    assert "Xian 1980" in body["site"]["crs"]["as_read"]
    assert any("七参数" in c for c in body["site"]["crs"]["conversions"])  # the datum caveat is stated
    assert body["site"]["area_m2"] == pytest.approx(reference["site_m2"], rel=1e-3)


@pytest.mark.parametrize("payload", [
    {"geometry": {"type": "Point", "coordinates": [105.7, 29.6]}, "district": ["500111"]},
    {"geometry": {"type": "Point", "coordinates": [105.7, 29.6], "crs": "EPSG:4490"}},
    {"geometry": {"type": "FeatureCollection", "features": 5}},
    {"geometry": {"type": "Feature", "properties": [1], "geometry": {"type": "Point", "coordinates": [105.7, 29.6]}}},
    {"geometry": {"type": "Point", "coordinates": [105.7, 29.6]}, "bands": ["nan"]},
])
def test_malformed_json_is_a_4xx_never_a_500(client, payload):
    resp = client.post("/api/screen", json=payload)
    assert resp.status_code < 500
    assert resp.status_code == 200 or resp.get_json()["error"]


@pytest.mark.parametrize("text", [
    "[地块坐标]\n4,1,1,甲,面,,,,@\nJ1,nan,3291800,35557750\n",
    "[地块坐标]\n4,1,1,甲,面,,,,@\n",
    "[属性描述]\n带号=99\n[地块坐标]\n4,1,1,甲,面,,,,@\nJ1,1,3291800,557750\nJ2,1,3291800,558350\nJ3,1,3292180,558500\n",
    "[地块坐标]\n9,1,1,甲,面,,,,@\nJ1,1,3291800,35557750\nJ2,1,3292400,35558350\nJ3,1,3291800,35558350\nJ4,1,3292400,35557750\n"
    "J1,2,3291900,35557900\nJ2,2,3291900,35558000\nJ3,2,3292000,35558000\nJ4,2,3292000,35557900\n",
])
def test_malformed_boundary_txt_is_a_4xx_or_repaired(client, text):
    resp = client.post("/api/screen", data={"file": (io.BytesIO(text.encode()), "p.txt")})
    assert resp.status_code < 500, resp.get_json()


def test_exports_do_not_run_formulas(client):
    csv_text = "name,lon,lat\n=HYPERLINK(\"http://x\"),105.70,29.60\n"
    body = client.post("/api/screen", data={"file": (io.BytesIO(csv_text.encode()), "p.csv")}).get_json()
    exported = client.get(body["links"]["csv"]).get_data(as_text=True)
    assert "'=HYPERLINK" in exported
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(client.get(body["links"]["xlsx"]).data))
    for sheet, column in ((wb["明细（英文字段）"], "A"), (wb["汇总表"], "B")):  # site names: the detail's site, the summary's 名称
        values = [c.value for c in sheet[column]]
        assert "'=HYPERLINK(\"http://x\")" in values and all(c.data_type != "f" for c in sheet[column])
