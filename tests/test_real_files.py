"""Files made by other people's software, end to end (POST /api/screen, the form, the result
page, the CLI): read completely, what is skipped said, hostile sidecars refused.

Fixtures: tests/data/real/ and two files of tests/data/bad/ (tests/data/README.md says which
software each imitates; tests/data/make_fixtures.py makes them). Expected numbers are computed
here with pyproj on the coordinates written into the fixtures, or counted from the fixture text."""
import io
import json
import re

import pytest
from pyproj import Geod, Transformer

from conftest import ROOT, csrf_token
from test_docs import _walk

DATA = ROOT / "tests" / "data"
REAL = DATA / "real"
BAD = DATA / "bad"
GEOD = Geod(ellps="GRS80")
KML_C = [(105.620, 29.720), (105.624, 29.720), (105.624, 29.723), (105.620, 29.723), (105.620, 29.720)]
GK_N, GK_E = 3291800.0, 35557800.0


def geod_area(lonlat) -> float:
    return abs(GEOD.polygon_area_perimeter([x for x, _ in lonlat], [y for _, y in lonlat])[0])


def gk_square_area(epsg: int, north: float, east: float, side: float) -> float:
    """Ellipsoidal area of a GK square given by its corner: pyproj Transformer, then Geod."""
    ring = [(north, east), (north, east + side), (north + side, east + side), (north + side, east), (north, east)]
    lon, lat = Transformer.from_crs(epsg, 4490, always_xy=True).transform([e for _, e in ring], [n for n, _ in ring])
    return abs(GEOD.polygon_area_perimeter(lon, lat)[0])


def post(client, path, **form):
    with open(path, "rb") as fh:
        return client.post("/api/screen", data={"file": (fh, path.name), **form})


def site_list(body: dict) -> list[dict]:
    return body["sites"] if "sites" in body else [body]


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/openapi.json").get_json()


def documented(spec, body) -> list[str]:
    missing = []
    _walk(spec, spec["paths"]["/api/screen"]["post"]["responses"]["200"]["content"]["application/json"]["schema"], body,
          "response", missing)
    return missing


# ---------------------------------------------------------------- KML / KMZ

def test_google_earth_kml_every_part_screened_and_the_rest_said(client, spec):
    text = (REAL / "google_earth_nested.kml").read_text(encoding="utf-8")
    n_placemarks, n_without = text.count("<Placemark>"), 2  # 铁塔模型 (a Model) and 待定位置 (a name only)
    resp = post(client, REAL / "google_earth_nested.kml")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    got = site_list(body)
    # the MultiGeometry placemark gives two sites (its polygons, its label point)
    assert len(got) == n_placemarks - n_without + 1
    assert [s["site"]["geometry_type"] for s in got] == ["Polygon", "MultiPolygon", "Point", "LineString", "Point"]
    assert [s["site"]["name"] for s in got] == ["变电站用地", "塔基用地", "塔基用地", "110kV 线路走向", "取水口"]
    assert len(body["skipped"]) == n_without
    assert "铁塔模型" in body["skipped"][0] and "待定位置" in body["skipped"][1]
    assert all(s["input_skipped"] == body["skipped"] for s in got)
    assert documented(spec, body) == []
    html = client.get(body["links"]["html"]).get_data(as_text=True)
    assert "以下部分未参与初筛" in html and "铁塔模型" in html and "待定位置" in html
    assert client.get(body["links"]["json"]).get_json()["skipped"] == body["skipped"]
    table = client.get(body["links"]["csv"]).get_data(as_text=True)
    assert "未参与初筛" in table and "铁塔模型" in table and "待定位置" in table


def test_kmz_whose_first_folder_is_empty_is_read(client):
    resp = post(client, REAL / "first_folder_empty.kmz")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["site"]["name"] == "拟建厂区" and body["skipped"] == []
    assert body["site"]["area_m2"] == pytest.approx(geod_area(KML_C), abs=0.01)


# ---------------------------------------------------------------- 界址点 TXT

def test_txt_nested_rings_and_area_in_m2(client, spec):
    resp = post(client, REAL / "jzd_nested_m2.txt")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    parcel, plot = site_list(body)
    expected = gk_square_area(4523, GK_N, GK_E, 600) - gk_square_area(4523, GK_N + 100, GK_E + 100, 400) \
        + gk_square_area(4523, GK_N + 200, GK_E + 200, 200)
    assert parcel["site"]["area_m2"] == pytest.approx(expected, abs=0.01)
    assert parcel["site"]["name"] == "大足区某厂区" and plot["site"]["name"] == "配套道路用地"
    check = parcel["site"]["stated_area_check"]
    assert check["unit_detected"] == "m2" and check["passed"] is True and check["computed_plane_m2"] == pytest.approx(240_000, abs=0.01)
    assert plot["site"]["stated_area_check"]["unit_detected"] == "mu"
    assert "stated_vs_computed_pct" in parcel["site"]  # the old figure is kept beside the check
    assert documented(spec, body) == []
    html = client.get(body["links"]["html"]).get_data(as_text=True)
    assert "单位应为平方米" in html and "单位应为亩" in html


# ---------------------------------------------------------------- zipped shapefiles

def test_arcgis_export_with_sidecars(client, spec):
    resp = post(client, REAL / "arcgis_export_gk35.zip")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert [s["site"]["name"] for s in site_list(body)] == ["厂区用地", "道路用地"] and body["skipped"] == []
    assert site_list(body)[0]["site"]["area_m2"] == pytest.approx(gk_square_area(4523, GK_N, GK_E, 600), abs=0.01)
    assert documented(spec, body) == []


@pytest.mark.parametrize("name", ["vrt_as_shp_xml.zip", "vsi_path_in_cpg.zip"])
def test_gdal_reference_in_a_sidecar_is_refused(client, name, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    resp = post(client, BAD / name)
    body = resp.get_json()
    assert resp.status_code == 400, body
    assert "GDAL 引用" in body["error"] and "安全原因" in body["error"] and "GDAL reference" in body["error_en"]
    assert "hostname" not in json.dumps(body) and "169.254" not in json.dumps(body)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- survey CSV

def test_survey_csv_as_one_parcel_and_as_points(client, spec):
    parcel = post(client, REAL / "survey_gk35_noprefix.csv", district="500111", csv_mode="parcel").get_json()
    assert parcel["site"]["geometry_type"] == "Polygon"
    assert parcel["site"]["area_m2"] == pytest.approx(gk_square_area(4544, GK_N, GK_E - 35_000_000, 600), abs=0.01)
    assert any("各行为一个地块的拐点" in n for n in parcel["site"]["notes"])
    assert documented(spec, parcel) == []
    points = post(client, REAL / "survey_gk35_noprefix.csv", district="500111", csv_mode="points").get_json()
    rows = (REAL / "survey_gk35_noprefix.csv").read_text(encoding="gbk").strip().splitlines()[1:]
    assert [s["site"]["geometry_type"] for s in site_list(points)] == ["Point"] * len(rows)
    first = site_list(points)[0]["site"]["centroid"]
    north, east = (float(v) for v in rows[0].split(",")[1:])
    lon, lat = Transformer.from_crs(4544, 4490, always_xy=True).transform(east, north)
    assert (first["lon"], first["lat"]) == pytest.approx((lon, lat), abs=1e-7)
    closed = post(client, REAL / "survey_gk35_prefix_closed.csv").get_json()  # auto: the closing row says parcel
    assert closed["site"]["area_m2"] == pytest.approx(gk_square_area(4523, GK_N, GK_E, 600), abs=0.01)
    assert any("末行与首行坐标相同" in n for n in closed["site"]["notes"])


def test_csv_mode_must_be_known(client):
    resp = post(client, REAL / "survey_gk35_prefix_closed.csv", csv_mode="vertices")
    assert resp.status_code == 400 and "csv_mode" in resp.get_json()["error"] and resp.get_json()["error_en"]


def test_the_form_offers_csv_mode_and_uses_it(client):
    page = client.get("/screen").get_data(as_text=True)
    select = re.search(r'<select name="csv_mode">(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'value="(\w+)"', select) == ["auto", "points", "parcel"]
    assert "自动判断" in select and "每行一个点位" in select and "各行为一个地块的拐点" in select
    data = (REAL / "survey_gk35_noprefix.csv").read_bytes()
    resp = client.post("/screen", data={"csrf_token": csrf_token(client, "/screen"), "file": (io.BytesIO(data), "s.csv"),
                                        "district": "500111", "csv_mode": "parcel", "bands": "0,100,500,1000,5000"})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "各行为一个地块的拐点" in html and "Polygon" in html


# ---------------------------------------------------------------- DataV array

def test_datav_array(client, spec):
    resp = post(client, REAL / "datav_array.json")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert [s["site"]["name"] for s in site_list(body)] == ["甲地块", "乙地块"]
    assert site_list(body)[1]["site"]["area_m2"] == pytest.approx(geod_area(KML_C), abs=0.01)
    assert documented(spec, body) == []


# ---------------------------------------------------------------- CLI

def test_cli_csv_mode_and_skipped(app, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "r.json"
    result = runner.invoke(args=["screen", str(REAL / "survey_gk35_noprefix.csv"), "--district", "500111", "--csv-mode", "parcel",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["site"]["geometry_type"] == "Polygon"
    result = runner.invoke(args=["screen", str(REAL / "google_earth_nested.kml")])
    assert result.exit_code == 0, result.output
    assert result.output.count("未参与初筛：") == 2 and "铁塔模型" in result.output
