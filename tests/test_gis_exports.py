"""GIS and CAD exports of a screening: read back with pyogrio (GDAL) and checked against the input file's own
coordinates and against pyproj, the encodings and the escaping of untrusted names."""
import zipfile
from xml.etree import ElementTree as ET

import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from conftest import ROOT

DATA = ROOT / "tests" / "data"
JZD = DATA / "site_dazu_jzd.txt"
# the 界址点 of the file (X north, Y east with the zone-35 prefix), as written in it
CORNERS_XY = [(3291800.000, 35557750.000), (3291800.000, 35558350.000), (3292180.000, 35558500.000), (3292400.000, 35558050.000),
              (3292150.000, 35557700.000)]


@pytest.fixture(scope="module")
def screened(app):
    client = app.test_client()
    with open(JZD, "rb") as fh:
        body = client.post("/api/screen", data={"file": (fh, JZD.name)}).get_json()
    return client, body


def download(client, body, fmt, **args):
    resp = client.get(body["links"][fmt], query_string=args)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return resp


def test_shapefile_is_in_the_sites_zone_with_its_own_coordinates(screened, tmp_path):
    client, body = screened
    resp = download(client, body, "shp")
    assert resp.mimetype == "application/zip" and "-shp.zip" in resp.headers["Content-Disposition"]
    path = tmp_path / "s.zip"
    path.write_bytes(resp.data)
    names = zipfile.ZipFile(path).namelist()
    assert {"site_polygon.shp", "site_polygon.prj", "site_polygon.cpg", "overlap_polygon.shp", "overlap_polygon.dbf"} <= set(names)
    site = pyogrio.read_dataframe(f"/vsizip/{path}/site_polygon.shp")
    assert site.crs.to_epsg() == 4523  # CGCS2000 3° zone 35, easting with the zone prefix, as the TXT
    ring = np.array(site.geometry.iloc[0].exterior.coords)
    expected = np.array([(y, x) for x, y in CORNERS_XY])  # GIS x = east (Y), y = north (X)
    for corner in expected:
        assert np.min(np.hypot(*(ring - corner).T)) < 0.01  # each 界址点 is a vertex, to the centimetre
    overlaps = pyogrio.read_dataframe(f"/vsizip/{path}/overlap_polygon.shp")
    red = next(layer for layer in body["layers"] if layer["kind"] == "redline")
    mine = overlaps[overlaps["kind"] == "redline"]
    assert len(mine) == len([h for h in red["hits"] if h["overlap_m2"]])
    assert mine.geometry.area.sum() == pytest.approx(red["total_overlap_plane_m2"], rel=1e-6)  # the plane area in the same zone
    assert set(mine["status"]) == {"示意数据"} and all(v.startswith("demo:") for v in mine["version"])
    assert zipfile.ZipFile(path).read("overlap_polygon.cpg").decode().strip().upper() in ("GBK", "CP936", "936")
    dbf = zipfile.ZipFile(path).read("overlap_polygon.dbf")
    assert "生态保护红线".encode("gbk") in dbf and "生态保护红线".encode("utf-8") not in dbf


def test_shapefile_in_utf8_on_request(screened, tmp_path):
    client, body = screened
    path = tmp_path / "u.zip"
    path.write_bytes(download(client, body, "shp", encoding="utf-8").data)
    assert zipfile.ZipFile(path).read("overlap_polygon.cpg").decode().strip().upper().replace("-", "") == "UTF8"
    assert set(pyogrio.read_dataframe(f"/vsizip/{path}/overlap_polygon.shp")["layer"]) >= {"生态保护红线"}
    assert client.get(body["links"]["shp"], query_string={"encoding": "latin-1"}).status_code == 400


def test_kml_coordinates_are_the_sites_lonlat(screened, tmp_path):
    client, body = screened
    resp = download(client, body, "kml")
    path = tmp_path / "s.kml"
    path.write_bytes(resp.data)
    layers = [name for name, _ in pyogrio.list_layers(path)]
    assert "项目范围" in layers and "生态保护红线（重叠部分）" in layers
    site = pyogrio.read_dataframe(path, layer="项目范围").geometry.iloc[0]
    to_lonlat = Transformer.from_crs(4523, 4490, always_xy=True)
    lon, lat = to_lonlat.transform([y for _, y in CORNERS_XY], [x for x, _ in CORNERS_XY])
    ring = np.array(site.exterior.coords)[:, :2]
    for corner in zip(lon, lat):
        assert np.min(np.hypot(*(ring - np.array(corner)).T)) < 1e-7  # ~1 cm
    ET.fromstring(resp.data)  # well-formed XML


def test_dxf_layers_per_kind_in_plane_coordinates(screened, tmp_path):
    client, body = screened
    path = tmp_path / "s.dxf"
    path.write_bytes(download(client, body, "dxf").data)
    frame = pyogrio.read_dataframe(path)
    assert {"SITE", "REDLINE_OVERLAP"} <= set(frame["Layer"])
    site = frame[frame["Layer"] == "SITE"].geometry.iloc[0]
    xy = shapely.get_coordinates(site)
    for x, y in CORNERS_XY:
        assert np.min(np.hypot(xy[:, 0] - y, xy[:, 1] - x)) < 0.01


def test_untrusted_names_stay_text(app, tmp_path):
    """A site named with markup: escaped in the KML, kept as text in the Shapefile."""
    payload = '<script>alert("x")</script>&'
    client = app.test_client()
    feature = {"type": "Feature", "properties": {"name": payload},
               "geometry": {"type": "Polygon", "coordinates": [[[105.70, 29.68], [105.78, 29.68], [105.78, 29.74], [105.70, 29.74], [105.70, 29.68]]]}}
    body = client.post("/api/screen", json={"geometry": {"type": "FeatureCollection", "features": [feature]}, "crs": "EPSG:4490"}).get_json()
    kml = download(client, body, "kml").data
    assert b"<script>" not in kml and b"&lt;script&gt;" in kml
    names = [m.findtext("{http://www.opengis.net/kml/2.2}name") for m in ET.fromstring(kml).iter("{http://www.opengis.net/kml/2.2}Placemark")]
    assert payload in names
    path = tmp_path / "x.zip"
    path.write_bytes(download(client, body, "shp").data)
    assert pyogrio.read_dataframe(f"/vsizip/{path}/site_polygon.shp")["site"].iloc[0] == payload
