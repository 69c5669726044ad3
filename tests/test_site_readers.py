"""Site readers at engine level (geo.sites, geo.readers, geo.uploads), each expectation worked
out independently of the code under test: by hand, from the EPSG registry, or with pyproj
called directly on the numbers written here."""
import io as _io
import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path
from pathlib import PurePosixPath as PurePosix

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import CRS, Geod, Transformer

from geo import jzd_txt as jzd
from geo import readers, sites, uploads
from geo.area import area_m2
from geo.errors import DataError, TooLargeError, UnsupportedFormatError

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "data" / "bad"
GEOD = Geod(ellps="GRS80")


def jzd_txt(rings: dict[int, list[tuple[float, float]]], header: str = "坐标系=2000国家大地坐标系\n几度分带=3\n带号=35\n",
            area_ha: str = "") -> bytes:
    """A 界址点坐标 TXT with one parcel: rings as {圈号: [(north X, east Y), ...]} in file order."""
    n = sum(len(r) for r in rings.values())
    lines = ["[属性描述]", header.strip(), "[地块坐标]", f"{n},{area_ha},1,测试地块,面,,,,@"]
    for ring, pts in rings.items():
        lines += [f"J{i},{ring},{x:.3f},{y:.3f}" for i, (x, y) in enumerate(pts, 1)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def square(north: float, east: float, side: float) -> list[tuple[float, float]]:
    """Closed square as (X north, Y east) rows, the corner at (north, east)."""
    return [(north, east), (north, east + side), (north + side, east + side), (north + side, east), (north, east)]


def geod_area_of_gk_ring(ring, epsg: int) -> float:
    """Ellipsoidal area of one ring given as (north, east) rows: pyproj's transformer, then Geod."""
    t = Transformer.from_crs(epsg, 4490, always_xy=True)
    lon, lat = t.transform([e for _, e in ring], [n for n, _ in ring])
    return abs(GEOD.polygon_area_perimeter(lon, lat)[0])


# ---------------------------------------------------------------- 1. holes and islands in a 界址点 TXT

OUTER = square(3291800.0, 35557800.0, 600.0)  # 600 m × 600 m = 360 000 m² in the GK plane
INNER = square(3292000.0, 35558000.0, 100.0)  # 100 m × 100 m = 10 000 m², inside OUTER


def test_txt_ring_inside_the_first_is_a_hole():
    """Expected area: pyproj Geod on each ring moved to lon/lat by a pyproj Transformer built here
    from the EPSG code (outer − inner). That path shares nothing with the reader: not the TXT
    parser, not the containment test that decides hole or island, not geo.crs.reproject."""
    [site] = sites.sites_from_upload("hole.txt", jzd_txt({1: OUTER, 2: INNER}, area_ha="35.0000"))
    assert site.geometry.geom_type == "Polygon" and len(site.geometry.interiors) == 1
    expected = geod_area_of_gk_ring(OUTER, 4523) - geod_area_of_gk_ring(INNER, 4523)
    assert area_m2(site.geometry) == pytest.approx(expected, rel=1e-9)
    # And against the plane by hand: 360 000 − 10 000 = 350 000 m² on the GK grid, which is larger
    # than the ellipsoid by the squared point scale, k² ≈ 1 + y²/R² (y: distance from the central
    # meridian, R = √(ρν) at 29.75°N on GRS80 = 6 367 245 m; the square spans y = 57.8–58.4 km).
    y_sq = 58_100.0 ** 2 + 600.0 ** 2 / 12  # mean of y² over the parcel
    assert 350_000.0 / area_m2(site.geometry) == pytest.approx(1 + y_sq / 6_367_245.0 ** 2, abs=1e-7)
    assert site.stated_area_ha == 35.0


def test_txt_ring_outside_the_first_is_an_island():
    island = square(3293000.0, 35559000.0, 200.0)  # 40 000 m², 400 m away from OUTER
    [site] = sites.sites_from_upload("island.txt", jzd_txt({1: OUTER, 2: INNER, 3: island}))
    assert site.geometry.geom_type == "MultiPolygon" and len(site.geometry.geoms) == 2
    expected = (geod_area_of_gk_ring(OUTER, 4523) - geod_area_of_gk_ring(INNER, 4523)
                + geod_area_of_gk_ring(island, 4523))
    assert area_m2(site.geometry) == pytest.approx(expected, rel=1e-9)


# ---------------------------------------------------------------- 2. 6° zone prefix

ZONE18 = [(18_568_000.0, 3_276_000.0), (18_568_600.0, 3_276_000.0), (18_568_600.0, 3_276_600.0)]  # (east, north)


def test_the_registry_names_4496_cgcs2000_6_degree_zone_18():
    crs = CRS.from_epsg(4496)
    assert crs.name == "CGCS2000 / Gauss-Kruger zone 18"
    assert crs.to_dict()["lon_0"] == 105 and crs.to_dict()["x_0"] == 18_500_000


def _assert_lands_where_pyproj_says(site, epsg):
    t = Transformer.from_crs(epsg, 4490, always_xy=True)
    expected = shapely.Polygon([t.transform(e, n) for e, n in ZONE18])
    got = site.geometry
    assert shapely.get_coordinates(shapely.normalize(got)) == pytest.approx(
        shapely.get_coordinates(shapely.normalize(expected)), abs=1e-9)


def test_6_degree_zone_prefix_in_typed_coordinates():
    [site] = sites.sites_from_text("\n".join(f"{e},{n}" for e, n in ZONE18))
    assert site.crs["assumed"] == "EPSG:4496 CGCS2000 / Gauss-Kruger zone 18"
    assert "6° 带第 18 带" in site.crs["conversions"][0]
    _assert_lands_where_pyproj_says(site, 4496)
    assert 102 <= site.geometry.centroid.x < 108  # zone 18 spans 102°E–108°E


@pytest.mark.parametrize("header", ["坐标系=2000国家大地坐标系\n几度分带=6\n", "坐标系=2000国家大地坐标系\n"])
def test_6_degree_zone_prefix_in_a_txt(header):
    """With 几度分带=6, and without it: a prefix of 18 can only be a 6° zone (3° zones are 25–45)."""
    [site] = sites.sites_from_upload("z18.txt", jzd_txt({1: [(n, e) for e, n in ZONE18]}, header=header))
    assert site.crs["as_read"] == "EPSG:4496 CGCS2000 / Gauss-Kruger zone 18"
    _assert_lands_where_pyproj_says(site, 4496)


def test_stated_zone_contradicting_the_prefix_is_refused():
    with pytest.raises(DataError, match="带号前缀"):
        sites.sites_from_upload("z.txt", jzd_txt({1: OUTER}, header="几度分带=3\n带号=36\n"))


# ---------------------------------------------------------------- 3. swapped X/Y

SWAPPED = "3291800,35557800\n3291800,35558400\n3292400,35558400\n"  # northing first


@pytest.mark.parametrize("call", [
    lambda: sites.sites_from_geojson({"type": "Point", "coordinates": [3291800.0, 35557800.0]}),
    lambda: sites.sites_from_geojson({"type": "Point", "coordinates": [3291800.0, 557800.0]}),  # no zone prefix
])
def test_swapped_columns_are_named_as_such(call):
    with pytest.raises(DataError) as exc:
        call()
    assert "X/Y 似乎互换" in exc.value.message_zh and "swapped" in exc.value.message_en


def test_typed_rows_in_survey_order_are_read_with_a_notice():
    """Typed X(北),Y(东) is the survey order (as in a CSV's 点号,X,Y): read so and said; GeoJSON is x, y by its spec."""
    [site] = sites.sites_from_text(SWAPPED)
    [same] = sites.sites_from_text("\n".join(",".join(reversed(line.split(","))) for line in SWAPPED.splitlines()))
    assert site.geometry.equals_exact(same.geometry, 1e-9) and site.crs["assumed"].startswith("EPSG:4523 ")
    assert any("北坐标" in n for n in site.notes) and not same.notes


def test_the_same_rows_in_order_are_read():
    [site] = sites.sites_from_text("\n".join(",".join(reversed(line.split(","))) for line in SWAPPED.splitlines()))
    assert site.crs["assumed"].startswith("EPSG:4523 ")


# ---------------------------------------------------------------- 4. a VRT file that passes the content check

def vrt_behind_xml_header(src: str, layer: str) -> bytes:
    """An OGR VRT data source that the KML content check accepts: it opens with an XML declaration
    and names <kml in a comment. GDAL's VRT driver claims any file with "<OGRVRTDataSource" in
    its first kilobyte, so with that driver registered the upload would be read as a table of
    src (any local file, as CSV), one point per line at 105.7°E 29.6°N, its text as attributes.
    GDAL_SKIP=OGR_VRT is all that stops it: the KML driver then refuses the root element.

    (A GeoPackage cannot carry this: the VRT driver stops at the NUL in "SQLite format 3\\0",
    and GDAL does not load the VirtualOGR module for tables inside an opened database. A valid
    .shp starts with a NUL too, and .vrt/.xml archive members are refused by name.)"""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            "<!-- Not a KML file although it mentions <kml here: an OGR VRT data source. "
            "Made by vrt_behind_xml_header() in tests/test_site_readers.py. -->\n"
            '<OGRVRTDataSource><OGRVRTLayer name="site">'
            f"<SrcDataSource>{src}</SrcDataSource>"
            f'<SrcSQL>SELECT *, 105.7 AS zm_x, 29.6 AS zm_y FROM "{layer}"</SrcSQL>'
            '<GeometryType>wkbPoint</GeometryType><GeometryField encoding="PointFromColumns" x="zm_x" y="zm_y"/>'
            "</OGRVRTLayer></OGRVRTDataSource>\n").encode()


SECRET = ("zm-secret-header-7d41c2", "zm-secret-value-93be0f")


@pytest.fixture()
def secret_vrt(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("\n".join(SECRET) + "\n", encoding="utf-8")
    return vrt_behind_xml_header(f"CSV:{secret}", "secret")


def test_the_hostile_corpus_copy_is_this_construction():
    assert (BAD / "vrt_behind_xml_header.kml").read_bytes() == vrt_behind_xml_header("CSV:/etc/passwd", "passwd")


def test_the_construction_passes_the_content_checks(secret_vrt):
    uploads.refuse_xml_entities(secret_vrt)
    uploads.check_magic(".kml", secret_vrt, "site.kml")  # no DataError: only GDAL_SKIP is left


def test_gdal_has_no_vrt_driver_once_geo_is_imported():
    drivers = pyogrio.list_drivers()
    assert "OGR_VRT" not in drivers and "VRT" not in drivers
    assert set(os.environ["GDAL_SKIP"].split()) >= {"OGR_VRT", "VRT"}


def _kmz(data: bytes) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("doc.kml", data)
    return buf.getvalue()


@pytest.mark.parametrize("name", ["site.kml", "site.kmz"])
def test_vrt_behind_a_kml_header_reads_nothing(secret_vrt, name):
    data = secret_vrt if name.endswith(".kml") else _kmz(secret_vrt)
    with pytest.raises(DataError) as exc:
        sites.sites_from_upload(name, data)
    said = " ".join([str(exc.value), exc.value.message_zh, exc.value.message_en, repr(exc.value.details)])
    assert not any(s in said for s in SECRET)


def test_without_gdal_skip_the_construction_does_read_the_file(secret_vrt, tmp_path):
    """The control: with pyogrio imported before geo (GDAL registers its drivers then, before the
    hardening runs) GDAL itself reads the secret, so the construction is a real attack. The KML
    reader still refuses it: it reads KML with its own XML walk and wants a <kml> root, so it
    does not depend on GDAL_SKIP alone."""
    upload = tmp_path / "site.kml"
    upload.write_bytes(secret_vrt)
    script = ("import sys, pyogrio\n"
              "df = pyogrio.read_dataframe(sys.argv[1])\n"
              "print(repr(df.to_dict('records')))\n"
              "from geo import sites\n"
              "from geo.errors import DataError\n"
              "try:\n"
              "    sites.sites_from_upload('site.kml', open(sys.argv[1], 'rb').read())\n"
              "    print('READ BY THE SERVICE')\n"
              "except DataError as exc:\n"
              "    print('refused:', exc.message_en)\n")
    env = {k: v for k, v in os.environ.items() if k != "GDAL_SKIP"}
    out = subprocess.run([sys.executable, "-c", script, str(upload)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    gdal_part, service_part = out.stdout.split("refused:") if "refused:" in out.stdout else (out.stdout, "")
    assert all(s in gdal_part for s in SECRET)
    assert "READ BY THE SERVICE" not in out.stdout and "not KML" in service_part
    assert not any(s in service_part for s in SECRET)


def test_harden_gdal_adds_to_an_operators_gdal_skip():
    env = {"GDAL_SKIP": "GTiff", "GDAL_HTTP_TIMEOUT": "30"}
    uploads.harden_gdal(env)
    assert env["GDAL_SKIP"].split() == ["GTiff", "OGR_VRT", "VRT"]
    assert env["GDAL_HTTP_TIMEOUT"] == "30" and env["CPL_VSIL_CURL_ALLOWED_EXTENSIONS"] == ".none-allowed"
    uploads.harden_gdal(env)
    assert env["GDAL_SKIP"].split() == ["GTiff", "OGR_VRT", "VRT"]


# ---------------------------------------------------------------- error classes, no HTTP in the engine

def test_limits_and_formats_raise_their_classes(tmp_path):
    with pytest.raises(TooLargeError):
        sites.sites_from_upload("a.geojson", b" " * 11, limits=sites.Limits(max_upload_bytes=10))
    with pytest.raises(TooLargeError, match="压缩炸弹"):
        sites.sites_from_upload("bomb.zip", (BAD / "zip_bomb.zip").read_bytes())
    with pytest.raises(UnsupportedFormatError):
        sites.sites_from_upload("report.docx", b"PK\x03\x04")
    with pytest.raises(DataError) as exc:
        sites.sites_from_upload("many.zip", (BAD / "too_many_members.zip").read_bytes())
    assert type(exc.value) is DataError


def test_corrupt_archive_member_is_a_data_error():
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("site.shp", b"\x00\x00\x27\x0a" + random.Random(0).randbytes(4000))  # incompressible
    raw = bytearray(buf.getvalue())
    raw[500:520] = b"\xff" * 20  # inside the deflated data (local header: 38 bytes)
    with pytest.raises(DataError, match="无法解压"):
        sites.sites_from_upload("site.zip", bytes(raw))


def test_geojson_crs_member_with_an_unknown_code_is_a_data_error():
    obj = {"type": "Point", "coordinates": [105.7, 29.6], "crs": {"type": "name", "properties": {"name": "EPSG:99999"}}}
    with pytest.raises(DataError, match="不是已知的坐标系"):
        sites.sites_from_geojson(obj)
    [site] = sites.sites_from_geojson(obj, crs=4490)  # a CRS the caller gives overrides the file's
    assert site.crs["as_read"].startswith("EPSG:4490")


# ================================================================ files read completely (issue 9)
#
# Fixtures: tests/data/real/ (made by tests/data/make_fixtures.py; tests/data/README.md says which
# software each imitates). The expected numbers below are written out by hand or computed with
# pyproj on coordinates stated here, never with the reader.

REAL = ROOT / "tests" / "data" / "real"
# the lon/lat written into the KML, KMZ and DataV fixtures (make_fixtures.py KML_*)
KML_A = [(105.590, 29.740), (105.596, 29.740), (105.596, 29.745), (105.590, 29.745), (105.590, 29.740)]
KML_B1 = [(105.600, 29.750), (105.602, 29.750), (105.602, 29.752), (105.600, 29.752), (105.600, 29.750)]
KML_B2 = [(105.604, 29.750), (105.605, 29.750), (105.605, 29.751), (105.604, 29.751), (105.604, 29.750)]
KML_PATH = [(105.585, 29.735), (105.600, 29.748), (105.610, 29.760)]
KML_C = [(105.620, 29.720), (105.624, 29.720), (105.624, 29.723), (105.620, 29.723), (105.620, 29.720)]
GK_N, GK_E = 3291800.0, 35557800.0  # the GK zone 35 corner of the 界址点 and survey CSV fixtures


def geod_area(lonlat) -> float:
    return abs(GEOD.polygon_area_perimeter([x for x, _ in lonlat], [y for _, y in lonlat])[0])


def gk_rect(north, east, side_n, side_e=None):
    side_e = side_n if side_e is None else side_e
    return [(north, east), (north, east + side_e), (north + side_n, east + side_e), (north + side_n, east), (north, east)]


def upload_real(name: str, **kw):
    return sites.sites_from_upload(name, (REAL / name).read_bytes(), **kw)


# ---------------------------------------------------------------- KML / KMZ

def test_google_earth_kml_every_placemark_in_every_folder():
    text = (REAL / "google_earth_nested.kml").read_text(encoding="utf-8")
    assert text.count("<Placemark>") == 6 and text.count("<Folder>") == 3  # as written by make_fixtures
    got = upload_real("google_earth_nested.kml")
    assert isinstance(got, sites.SiteList) and isinstance(got, list)
    # 4 Placemarks with geometry → 5 sites: the MultiGeometry gives its two polygons and its label point
    assert [(s.name, s.geometry.geom_type) for s in got] == [
        ("变电站用地", "Polygon"), ("塔基用地", "MultiPolygon"), ("塔基用地", "Point"), ("110kV 线路走向", "LineString"), ("取水口", "Point")]
    a, b_polys, _, path, point = got
    assert area_m2(a.geometry) == pytest.approx(geod_area(KML_A), rel=1e-9)
    assert area_m2(b_polys.geometry) == pytest.approx(geod_area(KML_B1) + geod_area(KML_B2), rel=1e-9)
    assert shapely.get_coordinates(path.geometry).tolist() == [list(p) for p in KML_PATH]
    assert (point.geometry.x, point.geometry.y) == (105.593, 29.742)
    assert a.properties["folder"] == "大足区某输变电项目.kml/一期/用地范围" and a.properties["项目编号"] == "DZ-2024-01"
    assert path.properties["folder"] == "大足区某输变电项目.kml/线路"
    assert any("按几何类型分别初筛" in n for n in b_polys.notes)
    # the two Placemarks without a screenable geometry are listed, by name, with the reason
    assert len(got.skipped) == 2
    model, empty = got.skipped
    assert "铁塔模型" in model and "三维模型" in model and "线路" in model
    assert "待定位置" in empty and "没有几何" in empty
    assert all(" / " in s for s in got.skipped)  # Chinese / English


def test_kmz_whose_first_folder_is_empty(tmp_path):
    data = (REAL / "first_folder_empty.kmz").read_bytes()
    with zipfile.ZipFile(_io.BytesIO(data)) as zf:
        (tmp_path / "doc.kml").write_bytes(zf.read("doc.kml"))
    # the control: GDAL sees two layers and the first, which a first-layer reader takes, is empty
    layers = pyogrio.list_layers(tmp_path / "doc.kml")
    assert [str(n) for n, _ in layers] == ["临时位置", "项目"]
    assert len(pyogrio.read_dataframe(tmp_path / "doc.kml", layer="临时位置")) == 0
    [site] = sites.sites_from_upload("first_folder_empty.kmz", data)
    assert site.name == "拟建厂区" and site.properties["folder"] == "选址.kmz/项目"
    assert area_m2(site.geometry) == pytest.approx(geod_area(KML_C), rel=1e-9)


def _kml(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            f"{body}</Document></kml>").encode()


def test_kml_folders_nested_deep_are_read():
    placemark = "<Placemark><name>深处</name><Point><coordinates>105.6,29.7</coordinates></Point></Placemark>"
    body = "<Folder><name>f</name>" * 300 + placemark + "</Folder>" * 300
    [site] = sites.sites_from_upload("deep.kml", _kml(body))
    assert site.name == "深处" and site.properties["folder"].count("/") == 299


def test_kml_with_nothing_screenable_is_refused_with_the_reasons():
    body = ("<Placemark><name>模型</name><Model/></Placemark>"
            "<NetworkLink><name>远程</name><Link><href>http://example.com/a.kml</href></Link></NetworkLink>")
    with pytest.raises(DataError) as exc:
        sites.sites_from_upload("x.kml", _kml(body))
    assert "三维模型" in exc.value.message_zh
    assert len(exc.value.details["skipped"]) == 2 and "网络链接" in exc.value.details["skipped"][1]


def test_kml_doctype_after_a_long_comment_is_refused():
    data = b'<?xml version="1.0"?>\n<!--' + b"x" * 6000 + b'-->\n<!DOCTYPE kml SYSTEM "file:///etc/passwd">\n<kml/>'
    with pytest.raises(DataError, match="DOCTYPE"):
        sites.sites_from_upload("late_doctype.kml", data)


# ---------------------------------------------------------------- lines and geometry collections

def test_lines_are_sites():
    line = {"type": "LineString", "coordinates": [[105.70, 29.60], [105.71, 29.61]]}
    [site] = sites.sites_from_geojson(line)
    assert site.geometry.geom_type == "LineString" and shapely.get_coordinates(site.geometry).tolist() == line["coordinates"]
    multi = {"type": "MultiLineString", "coordinates": [[[105.70, 29.60], [105.71, 29.61]], [[105.72, 29.60], [105.73, 29.60]]]}
    [site] = sites.sites_from_geojson(multi)
    assert site.geometry.geom_type == "MultiLineString" and len(site.geometry.geoms) == 2
    with pytest.raises(DataError, match="少于 2 个"):
        sites.clean_geometry(shapely.LineString([(105.7, 29.6), (105.7, 29.6)]), sites.Limits(), "线")
    with pytest.raises(DataError, match="节点数超过上限"):
        sites.clean_geometry(shapely.LineString([(105.7 + i * 1e-4, 29.6) for i in range(11)]), sites.Limits(max_vertices=10), "线")


def test_a_geometry_collection_splits_into_its_screenable_parts():
    gc = {"type": "GeometryCollection", "geometries": [
        {"type": "Polygon", "coordinates": [[list(p) for p in KML_A]]},
        {"type": "LineString", "coordinates": [list(p) for p in KML_PATH]},
        {"type": "Point", "coordinates": [105.593, 29.742]}]}
    got = sites.sites_from_geojson({"type": "Feature", "properties": {"name": "混合"}, "geometry": gc})
    assert [s.geometry.geom_type for s in got] == ["Polygon", "LineString", "Point"]
    assert {s.name for s in got} == {"混合"} and got.skipped == []
    assert area_m2(got[0].geometry) == pytest.approx(geod_area(KML_A), rel=1e-9)


def test_a_feature_that_cannot_be_read_is_listed_not_dropped():
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "好"}, "geometry": {"type": "Point", "coordinates": [105.6, 29.7]}},
        {"type": "Feature", "properties": {"name": "无几何"}, "geometry": None},
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [float("nan"), 29.7]}}]}
    got = sites.sites_from_geojson(fc)
    assert [s.name for s in got] == ["好"]
    assert len(got.skipped) == 2 and "第 2 个要素“无几何”没有几何" in got.skipped[0] and "NaN" in got.skipped[1]
    with pytest.raises(DataError, match="没有几何"):
        sites.sites_from_geojson(fc, strict=True)


# ---------------------------------------------------------------- 界址点 TXT: nesting depth, stated area, name

OUTER600 = gk_rect(GK_N, GK_E, 600.0)
POND = gk_rect(GK_N + 100.0, GK_E + 100.0, 400.0)
ISLAND = gk_rect(GK_N + 200.0, GK_E + 200.0, 200.0)


def test_txt_rings_nested_two_deep_by_containment_not_number():
    """The fixture numbers the island 圈 2 and the pond 圈 3 (make_fixtures.jzd_nested_m2)."""
    parcel, plot = upload_real("jzd_nested_m2.txt")
    expected = geod_area_of_gk_ring(OUTER600, 4523) - geod_area_of_gk_ring(POND, 4523) + geod_area_of_gk_ring(ISLAND, 4523)
    assert area_m2(parcel.geometry) == pytest.approx(expected, rel=1e-9)
    assert parcel.geometry.geom_type == "MultiPolygon" and len(parcel.geometry.geoms) == 2  # the ring with its pond, the island
    assert any("洞中之岛" in n for n in parcel.notes)
    assert area_m2(plot.geometry) == pytest.approx(geod_area_of_gk_ring(gk_rect(GK_N + 1000.0, GK_E, 100.0, 150.0), 4523), rel=1e-9)


def test_txt_outer_ring_need_not_be_ring_1():
    inner = gk_rect(GK_N + 200.0, GK_E + 200.0, 100.0)
    [site] = sites.sites_from_upload("r.txt", jzd_txt({1: inner, 2: OUTER600}))
    assert len(site.geometry.interiors) == 1
    assert area_m2(site.geometry) == pytest.approx(geod_area_of_gk_ring(OUTER600, 4523) - geod_area_of_gk_ring(inner, 4523), rel=1e-9)


def test_txt_stated_area_in_m2_and_mu_is_named_as_such():
    parcel, plot = upload_real("jzd_nested_m2.txt")
    c = parcel.stated_area_check
    # by hand: 600² − 400² + 200² = 240 000 m² on the GK plane, stated as "240000.0000"
    assert c["stated"] == 240000.0 and c["unit_assumed"] == "ha" and c["unit_detected"] == "m2"
    assert c["computed_plane_m2"] == pytest.approx(240_000.0, abs=1e-3) and c["computed_ha"] == pytest.approx(24.0, abs=1e-6)
    assert c["passed"] is True and c["unit_ok"] is False and abs(c["difference_pct"]) < 1e-6
    assert c["difference_pct_as_ha"] == pytest.approx((24.0 - 240000.0) / 240000.0 * 100, abs=1e-4)  # the −99.99 % it would have said
    assert "平方米" in c["note"] and "EPSG:4523" in c["basis"]
    # 100 m × 150 m = 15 000 m² = 15 000 / (10 000 / 15) = 22.5 亩, stated "22.5"; one decimal: ±0.05 / 22.5 = ±0.222 %
    p = plot.stated_area_check
    assert p["unit_detected"] == "mu" and p["passed"] is True and p["tolerance_pct"] == pytest.approx(0.05 / 22.5 * 100, rel=1e-6)
    assert "亩" in p["note"]


@pytest.mark.parametrize("stated, passed", [("36", True), ("36.0000", False), ("36.3006", True), ("30.0000", False)])
def test_txt_stated_area_tolerance_follows_the_written_precision(stated, passed):
    """A 602.5 m square: 363 006.25 m² = 36.3006 ha by hand. "36" stands for 35.5–36.5 (±1.39 %),
    "36.0000" for ±0.1 % (the floor); 30 ha matches no unit."""
    side = 602.5
    [site] = sites.sites_from_upload("t.txt", jzd_txt({1: gk_rect(GK_N, GK_E, side)}, area_ha=stated))
    c = site.stated_area_check
    assert c["computed_plane_m2"] == pytest.approx(side * side, abs=1e-3)
    assert c["passed"] is passed and c["unit_detected"] is None
    expected_tol = max(0.1, 0.5 * 10 ** -(len(stated.split(".")[1]) if "." in stated else 0) / float(stated) * 100)
    assert c["tolerance_pct"] == pytest.approx(expected_tol, rel=1e-6)
    assert c["difference_pct"] == pytest.approx((side * side / 10_000 - float(stated)) / float(stated) * 100, abs=1e-4)


@pytest.mark.parametrize("fields, name, number", [
    (["1", "测试地块", "面", "", "", ""], "测试地块", "1"),  # 编号,名称,面,图幅号,用途,地类编码 (the format's order)
    (["大足区某厂区", "DK01", "面", "H48G073012", "工业用地"], "大足区某厂区", "DK01"),  # 名称 before 编号
    (["DK02", "面", "工业用地", "配套道路", "0601"], "配套道路", "DK02"),  # 用途 before 名称
    (["007", "线", "", "", ""], "", "007"),  # no name at all
])
def test_txt_parcel_name_from_whichever_field_holds_it(fields, name, number):
    assert jzd.header_name(fields) == (name, number)


# ---------------------------------------------------------------- zipped shapefiles: sidecars accepted, references refused

def test_arcgis_export_with_sidecars_is_read():
    with zipfile.ZipFile(REAL / "arcgis_export_gk35.zip") as zf:
        names = {PurePosix(n).name for n in zf.namelist()}
    assert {"site.shp.xml", "site.sbn", "site.sbx", "site.cpg"} <= names
    got = upload_real("arcgis_export_gk35.zip")
    assert [s.name for s in got] == ["厂区用地", "道路用地"] and got.skipped == []
    assert got[0].crs["as_read"].startswith("EPSG:4523")
    assert area_m2(got[0].geometry) == pytest.approx(geod_area_of_gk_ring(OUTER600, 4523), rel=1e-9)


def _rezip(extra: dict[str, bytes]) -> bytes:
    buf = _io.BytesIO()
    with zipfile.ZipFile(REAL / "arcgis_export_gk35.zip") as src, zipfile.ZipFile(buf, "w") as out:
        for n in src.namelist():
            out.writestr(n, src.read(n))
        for n, data in extra.items():
            out.writestr(n, data)
    return buf.getvalue()


def test_every_arcgis_sidecar_is_accepted():
    extra = {"site.qix": b"SQT\x01" + bytes(60), "site.atx": bytes(range(64)), "site.fix": b"\x01\x00" * 30,
             "site.shp.ea.iso.xml": b'<?xml version="1.0"?><gmi:MI_Metadata xmlns:gmi="http://www.isotc211.org/2005/gmi"/>',
             "site.dbf.aux.xml": b"<PAMDataset><Metadata><MDI key='k'>v</MDI></Metadata></PAMDataset>",
             "readme.xml": b"<note>exported for review</note>"}
    got = sites.sites_from_upload("s.zip", _rezip(extra))
    assert len(got) == 2 and got.skipped == []
    # the sidecars pass without a word; a file that is no part of a shapefile is said, not read
    assert [n for n in got[0].notes if "其他文件未读取" in n] == ["压缩包中的其他文件未读取：readme.xml / other files in the archive were not read"]
    assert not any("其他文件" in n for s in upload_real("arcgis_export_gk35.zip") for n in s.notes)


@pytest.mark.parametrize("name, words", [("vrt_as_shp_xml.zip", "<ogrvrtdatasource"), ("vsi_path_in_cpg.zip", "/vsicurl/")])
def test_gdal_references_under_innocent_names_are_refused(name, words):
    with pytest.raises(DataError) as exc:
        sites.sites_from_upload(name, (BAD / name).read_bytes())
    assert "GDAL 引用" in exc.value.message_zh and words in exc.value.message_zh


@pytest.mark.parametrize("member, data", [
    ("site.sbn", b"\x00\x00\x27\x0a<VRTDataset rasterXSize='1'><VRTRasterBand/></VRTDataset>"),
    ("notes.txt", b"see /vsizip//etc/passwd"),
    ("site.vrt", b"nothing but the name"),
])
def test_references_are_judged_by_content_and_vrt_by_name(member, data):
    with pytest.raises(DataError, match="安全原因"):
        sites.sites_from_upload("s.zip", _rezip({member: data}))


# ---------------------------------------------------------------- CSV: survey order, headers, points or one parcel

def _to_lonlat(epsg, east, north):
    return Transformer.from_crs(epsg, 4490, always_xy=True).transform(east, north)


SQUARE_ROWS = gk_rect(GK_N, GK_E, 600.0)[:-1]  # the four corners written to the survey fixtures, (X north, Y east)


def test_survey_csv_closed_is_one_parcel_by_guess():
    [site] = upload_real("survey_gk35_prefix_closed.csv")
    assert site.geometry.geom_type == "Polygon"
    assert area_m2(site.geometry) == pytest.approx(geod_area_of_gk_ring(OUTER600, 4523), rel=1e-9)
    assert any("末行与首行坐标相同" in n for n in site.notes) and any("X 为北" in n for n in site.notes)
    assert site.crs["assumed"].startswith("EPSG:4523")


def test_survey_csv_as_points_when_asked():
    got = upload_real("survey_gk35_prefix_closed.csv", csv_mode="points")
    assert len(got) == 5 and [s.name for s in got] == ["J1", "J2", "J3", "J4", "J1"]
    for site, (north, east) in zip(got, SQUARE_ROWS):
        assert (site.geometry.x, site.geometry.y) == pytest.approx(_to_lonlat(4523, east, north), abs=1e-9)


def test_survey_csv_without_zone_prefix_uses_the_district_zone_or_the_given_crs():
    got = upload_real("survey_gk35_noprefix.csv", district_lon=105.7)  # 大足: zone 35, EPSG:4544 without prefix
    assert len(got) == 4 and any("每行按一个点位处理" in n for n in got[0].notes)
    for site, (north, east) in zip(got, SQUARE_ROWS):
        assert (site.geometry.x, site.geometry.y) == pytest.approx(_to_lonlat(4544, east - 35_000_000, north), abs=1e-9)
    [parcel] = upload_real("survey_gk35_noprefix.csv", crs=4544, csv_mode="parcel")
    ring = [(n, e - 35_000_000) for n, e in OUTER600]
    assert area_m2(parcel.geometry) == pytest.approx(geod_area_of_gk_ring(ring, 4544), rel=1e-9)
    assert any("按所选方式" in n for n in parcel.notes)
    with pytest.raises(DataError) as exc:
        upload_real("survey_gk35_noprefix.csv")
    assert "EPSG:4544" in exc.value.details["candidates"]


def test_grouped_csv_is_one_parcel_per_group_with_rings():
    one, two = upload_real("survey_grouped.csv")
    hole = gk_rect(GK_N + 200.0, GK_E + 200.0, 100.0)
    assert (one.name, two.name) == ("地块 1", "地块 2")
    assert area_m2(one.geometry) == pytest.approx(geod_area_of_gk_ring(OUTER600, 4523) - geod_area_of_gk_ring(hole, 4523), rel=1e-9)
    assert area_m2(two.geometry) == pytest.approx(geod_area_of_gk_ring(gk_rect(GK_N + 1000.0, GK_E, 100.0, 150.0), 4523), rel=1e-9)
    assert any("地块号" in n for n in one.notes)
    assert len(upload_real("survey_grouped.csv", csv_mode="points")) == 4 + 4 + 4


LONLAT = (105.6, 29.7)
GK35 = (3291800.0, 35557800.0)  # (north, east)


@pytest.mark.parametrize("header, row, epsg", [
    ("经度,纬度", "105.6,29.7", 4490), ("lon,lat", "105.6,29.7", 4490), ("lng,lat", "105.6,29.7", 4490),
    ("Longitude,Latitude", "105.6,29.7", 4490), ("X,Y", "105.6,29.7", 4490), ("纬度,经度", "29.7,105.6", 4490),
    ("经度(°),纬度(°)", "105.6,29.7", 4490),
    ("东坐标,北坐标", "35557800,3291800", 4523), ("E,N", "35557800,3291800", 4523), ("东,北", "35557800,3291800", 4523),
    ("北坐标,东坐标", "3291800,35557800", 4523), ("X,Y", "3291800,35557800", 4523), ("X(北),Y(东)", "3291800,35557800", 4523),
    ("Y,X", "35557800,3291800", 4523), ("x坐标,y坐标", "3291800,35557800", 4523),
])
def test_csv_header_spellings(header, row, epsg):
    [site] = sites.sites_from_upload("p.csv", f"点号,{header}\nA,{row}\n".encode())
    expected = LONLAT if epsg == 4490 else _to_lonlat(epsg, GK35[1], GK35[0])
    assert (site.geometry.x, site.geometry.y) == pytest.approx(expected, abs=1e-9)


def test_csv_values_that_fit_nothing_are_named():
    with pytest.raises(DataError) as exc:
        sites.sites_from_upload("p.csv", "名称,东,北\nA,1,2\n".encode())
    assert "经度、纬度" in exc.value.message_zh and "第 2 行" in exc.value.message_zh


def test_csv_mode_is_checked():
    with pytest.raises(DataError, match="csv_mode"):
        sites.sites_from_upload("p.csv", b"lon,lat\n105.6,29.7\n", csv_mode="rows")
    assert readers.parse_csv_mode("自动判断") is None and readers.parse_csv_mode("PARCEL") == "parcel"


# ---------------------------------------------------------------- GeoJSON: a bare array of Features; GeoPackage: every layer

def test_datav_array_is_a_feature_collection():
    got = upload_real("datav_array.json")
    assert [s.name for s in got] == ["甲地块", "乙地块"]
    assert area_m2(got[0].geometry) == pytest.approx(geod_area(KML_A), rel=1e-9)
    assert any("DataV" in n and "GCJ02" in n for n in got[0].notes)
    assert got[0].properties["adcode"] == 500111001


def test_an_array_of_bare_geometries_is_still_refused():
    with pytest.raises(DataError, match="Feature 数组"):
        sites.sites_from_geojson(json.loads((BAD / "array_top.geojson").read_text()))


def test_geopackage_every_layer(tmp_path):
    path = tmp_path / "two.gpkg"
    a = gpd.GeoDataFrame({"name": ["甲"]}, geometry=[shapely.Polygon(KML_A)], crs=4490)
    c = gpd.GeoDataFrame({"name": ["丙"]}, geometry=[shapely.Polygon(KML_C)], crs=4490)
    pyogrio.write_dataframe(a, path, layer="一期")
    pyogrio.write_dataframe(c, path, layer="二期", append=False)
    pyogrio.write_dataframe(pd.DataFrame({"k": ["v"]}), path, layer="说明表")
    got = sites.sites_from_upload("two.gpkg", path.read_bytes())
    assert [s.name for s in got] == ["甲", "丙"]
    assert area_m2(got[1].geometry) == pytest.approx(geod_area(KML_C), rel=1e-9)
    assert len(got.skipped) == 1 and "说明表" in got.skipped[0]
