"""Coordinate source (issue 9): lon/lat with no stated CRS is ambiguous between CGCS2000/WGS84,
GCJ-02 and BD-09. The service screens every plausible reading and says so prominently when the
answers differ; the form asks for the source with no default.

The flipping point is built here: 150 m inside a demo red line of 大足区 (Gauss-Krüger zone 35,
shapely), converted to GCJ-02 with prcoords (the library the 高德 offset comes from), so that the
GCJ coordinates read as CGCS2000 fall outside the red line.
"""
import html as htmllib
import io
import json
import re

import numpy as np
import prcoords
import pyogrio
import pytest
import shapely

from conftest import GEOD, ROOT, TO_GK, TO_LL, csrf_token, to_gk, unthrottled_app

INVOLVED = "涉及"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return unthrottled_app(tmp_path_factory, "coordsource")


def gcj_of(lon, lat):
    c = prcoords.wgs_gcj(prcoords.Coords(lat, lon))
    return c.lon, c.lat


def dazu_redline_gk():
    red = pyogrio.read_dataframe(ROOT / "data" / "demo.gpkg", layer="redline")
    return to_gk(shapely.union_all(red[red["adcode"] == "500111"].geometry.values))


@pytest.fixture(scope="module")
def red_gk():
    return dazu_redline_gk()


@pytest.fixture(scope="module")
def flip(red_gk):
    return flip_point(red_gk)


def flip_point(red_gk=None):
    """(true lon/lat 150 m inside a 大足区 red line, its GCJ-02 coordinates, how far outside the red
    line the GCJ coordinates lie when read as CGCS2000 in m). The point is ≥ 6 km inside the loaded
    districts, so that every reading's 5 km radius has data and only the source decides."""
    red_gk = red_gk if red_gk is not None else dazu_redline_gk()
    districts = pyogrio.read_dataframe(ROOT / "data" / "demo.gpkg", layer="district")
    edge = to_gk(shapely.union_all(districts.geometry.values)).boundary
    best = None
    for part in shapely.get_parts(red_gk.buffer(-150)):
        for f in np.linspace(0, 1, 200, endpoint=False):
            p = part.exterior.interpolate(f, normalized=True)
            if edge.distance(p) < 6000:
                continue
            lon, lat = TO_LL.transform(p.x, p.y)
            glon, glat = gcj_of(lon, lat)
            q = shapely.Point(TO_GK.transform(glon, glat))
            outside = q.distance(red_gk)
            if best is None or outside > best[2]:
                best = ((lon, lat), (glon, glat), outside)
    true_ll, _, outside = best
    assert red_gk.boundary.distance(shapely.Point(TO_GK.transform(*true_ll))) == pytest.approx(150, abs=0.5)
    assert red_gk.contains(shapely.Point(TO_GK.transform(*true_ll)))
    assert outside > 100  # read as CGCS2000 the point is clearly outside: the verdict flips
    return best


def post_point(client, lon, lat, **extra):
    resp = client.post("/api/screen", json={"geometry": {"type": "Point", "coordinates": [lon, lat]}, **extra})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def redline(body):
    return next(layer for layer in body["layers"] if layer["kind"] == "redline")


# ------------------------------------------------------------------ the API

def test_a_gcj02_point_with_no_crs_is_screened_under_each_system_and_flagged(client, flip):
    true_ll, gcj, outside = flip
    body = post_point(client, *gcj)
    check = body["coordinate_check"]
    assert check["differs"] is True
    systems = {s["crs"]: s for s in check["systems"]}
    assert set(systems) == {"CGCS2000", "GCJ02", "BD09"} and check["assumed"] == "CGCS2000"
    assert systems["GCJ02"]["level"] == INVOLVED
    assert any("生态保护红线" in name for name in systems["GCJ02"]["involved"])
    assert not any("生态保护红线" in name for name in systems["CGCS2000"]["involved"])
    # read as CGCS2000 (the result shown), the red line is near, at the independently computed distance
    red = redline(body)
    assert all(h["relation"] == "near" for h in red["hits"])
    assert min(h["distance_m"] for h in red["hits"]) == pytest.approx(outside, abs=1.0)
    # the GCJ reading's position is the true point; its shift is the GCJ offset
    assert systems["GCJ02"]["shift_m"] == pytest.approx(GEOD.inv(*gcj, *true_ll)[2], abs=0.5)
    assert systems["GCJ02"]["value"] == "GCJ02" and systems["CGCS2000"]["value"] == "EPSG:4490"
    assert "请确认" in check["note_zh"] and "GCJ-02" in check["note_zh"] and "Confirm" in check["note_en"]


def test_with_the_stated_source_there_is_no_ambiguity(client, flip):
    true_ll, gcj, _ = flip
    body = post_point(client, *gcj, crs="GCJ02")
    assert "coordinate_check" not in body
    assert body["verdict"]["level"] == INVOLVED
    assert any(h["relation"] == "within" for h in redline(body)["hits"])
    assert body["site"]["centroid"]["lon"] == pytest.approx(true_ll[0], abs=1e-6)
    assert body["site"]["centroid"]["lat"] == pytest.approx(true_ll[1], abs=1e-6)
    # CGCS2000 stated: not ambiguous either, and no 涉及 red line
    body = post_point(client, *gcj, crs="EPSG:4490")
    assert "coordinate_check" not in body and not any(h["relation"] != "near" for h in redline(body)["hits"])


@pytest.fixture(scope="module")
def calm_point():
    """A point of 大足区 where every reading (shifts ≤ 1.1 km) is near some zone and inside none,
    with its 5 km radius + 1.1 km inside 大足区: all three readings give 临近, no zone involved."""
    layers = {k: pyogrio.read_dataframe(ROOT / "data" / "demo.gpkg", layer=k) for k in ("redline", "water_source_zone", "protected_area")}
    unions = [to_gk(shapely.union_all(g.geometry.values)) for g in layers.values()]
    district = pyogrio.read_dataframe(ROOT / "data" / "demo.gpkg", layer="district")
    dazu = to_gk(district[district["adcode"] == "500111"].geometry.iloc[0]).buffer(-6200)
    xmin, ymin, xmax, ymax = dazu.bounds
    xs, ys = np.meshgrid(np.arange(xmin, xmax, 500), np.arange(ymin, ymax, 500))
    pts = shapely.points(xs.ravel(), ys.ravel())
    pts = pts[shapely.contains(dazu, pts)]
    nearest = np.min([shapely.distance(u, pts) for u in unions], axis=0)
    ok = (nearest > 1500) & (nearest < 3000)
    assert ok.any()
    p = pts[np.flatnonzero(ok)[0]]
    return TO_LL.transform(p.x, p.y)


def test_when_the_systems_agree_it_is_said_quietly(client, calm_point):
    body = post_point(client, *calm_point)
    check = body["coordinate_check"]
    assert check["differs"] is False
    assert {s["level"] for s in check["systems"]} == {"临近"} and all(s["involved"] == [] for s in check["systems"])
    assert "结论相同" in check["note_zh"]
    page = client.get(body["links"]["html"]).get_data(as_text=True)
    assert "coord-agree" in page and "coord-warning" not in page and 'class="rerun"' not in page


def test_gauss_kruger_and_declared_files_are_not_ambiguous(client, flip):
    true_ll, gcj, _ = flip
    e, n = TO_GK.transform(*true_ll)
    body = post_point(client, e, n)  # zone-prefixed easting: CGCS2000 3° zone 35, no doubt
    assert "coordinate_check" not in body
    kml = (f'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>点</name>'
           f"<Point><coordinates>{gcj[0]},{gcj[1]}</coordinates></Point></Placemark></kml>")
    body = client.post("/api/screen", data={"file": (io.BytesIO(kml.encode()), "p.kml")}).get_json()
    assert "coordinate_check" not in body  # KML is WGS84 by definition
    gj = json.dumps({"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": list(gcj)}})
    body = client.post("/api/screen", data={"file": (io.BytesIO(gj.encode()), "p.geojson")}).get_json()
    assert body["coordinate_check"]["differs"] is True  # a GeoJSON without crs member: ambiguous
    text = f"name,lon,lat\n甲,{gcj[0]},{gcj[1]}\n"
    body = client.post("/api/screen", data={"file": (io.BytesIO(text.encode()), "p.csv")}).get_json()
    assert body["coordinate_check"]["differs"] is True


def test_coordinate_check_fields_are_documented(client, flip):
    spec = client.get("/api/openapi.json").get_json()
    doc = spec["components"]["schemas"]["ScreenResult"]["properties"]["coordinate_check"]
    body = post_point(client, *flip[1])
    assert set(body["coordinate_check"]) <= set(doc["properties"])
    item = doc["properties"]["systems"]["items"]["properties"]
    assert all(set(s) <= set(item) for s in body["coordinate_check"]["systems"])


def test_one_audit_row_per_request(app, flip):
    audit = app.extensions["services"].audit
    before = max((e["id"] for e in audit.entries(limit=1)), default=0)
    post_point(app.test_client(), *flip[1])
    rows = [e for e in audit.entries(limit=1000) if e["id"] > before]
    assert len(rows) == 1 and rows[0]["action"] == "screen" and "坐标来源未说明" in rows[0]["summary"]


# ------------------------------------------------------------------ the form and the result page

def test_the_form_asks_for_the_coordinate_source_with_no_default(client):
    page = client.get("/screen").get_data(as_text=True)
    radios = re.findall(r'<input type="radio" name="coord_source"[^>]*>', page)
    values = [re.search(r'value="([^"]+)"', r).group(1) for r in radios]
    assert values == ["gps", "gcj02", "bd09", "ovital", "declared", "unsure"]
    assert not any("checked" in r for r in radios) and "required" in radios[0]
    for words in ("GPS", "高德", "腾讯", "GCJ-02", "百度", "BD-09", "奥维", "不确定"):
        assert words in page


def test_form_unsure_warns_and_offers_one_click_reruns(client, flip):
    true_ll, gcj, _ = flip
    token = csrf_token(client, "/screen")
    resp = client.post("/screen", data={"csrf_token": token, "coordinates": f"{gcj[0]},{gcj[1]}", "coord_source": "unsure", "crs": "",
                                        "bands": "0,100,500,1000,5000"})
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "coord-warning" in page and "请确认坐标来源" in page
    form = re.search(r'<form method="post" action="/screen" class="rerun">(.*?)</form>', page, re.DOTALL).group(1)
    hidden = {m[0]: htmllib.unescape(m[1]) for m in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)}
    buttons = re.findall(r'<button type="submit" name="coord_source" value="([^"]+)">', form)
    assert buttons == ["gps", "gcj02", "bd09"]
    assert hidden["corridor_width_m"] == "" and hidden["bands"] == "0,100,500,1000,5000"  # the re-run keeps the other choices
    assert json.loads(hidden["coordinates"])["features"][0]["geometry"]["coordinates"] == pytest.approx(list(gcj))
    # one click: re-run as GCJ-02 → the red line is involved and nothing is ambiguous any more
    resp = client.post("/screen", data={**hidden, "coord_source": "gcj02"})
    assert resp.status_code == 303
    rid = resp.headers["Location"].rsplit("/", 1)[1]
    body = client.get(f"/screen/results/{rid}.json").get_json()
    assert body["verdict"]["level"] == INVOLVED and "coordinate_check" not in body
    assert "GCJ-02" in body["site"]["crs"]["as_read"]
    assert body["site"]["centroid"]["lon"] == pytest.approx(true_ll[0], abs=1e-6)


def test_form_source_sets_the_crs_and_contradictions_are_refused(client, flip):
    _, gcj, _ = flip
    token = csrf_token(client, "/screen")
    base = {"csrf_token": token, "coordinates": f"{gcj[0]},{gcj[1]}"}
    for source, as_read in (("gps", "EPSG:4490"), ("ovital", "EPSG:4326"), ("bd09", "BD-09")):
        resp = client.post("/screen", data={**base, "coord_source": source})
        assert resp.status_code == 303, source
        body = client.get(resp.headers["Location"] + ".json").get_json()
        assert as_read in body["site"]["crs"]["as_read"] and "coordinate_check" not in body
    resp = client.post("/screen", data={**base, "coord_source": "gps", "crs": "EPSG:4326"})  # the same lon/lat frame
    assert resp.status_code == 303
    resp = client.post("/screen", data={**base, "coord_source": "gcj02", "crs": "EPSG:4523"})
    assert resp.status_code == 400 and "不一致" in resp.get_data(as_text=True)
    resp = client.post("/screen", data={**base, "coord_source": "google"})
    assert resp.status_code == 400 and "坐标来源" in resp.get_data(as_text=True)
