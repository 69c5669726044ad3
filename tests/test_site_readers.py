"""Site readers at engine level (geo.sites, geo.readers, geo.uploads), each expectation worked
out independently of the code under test: by hand, from the EPSG registry, or with pyproj
called directly on the numbers written here."""
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pyogrio
import pytest
import shapely
from pyproj import CRS, Geod, Transformer

from geo import sites, uploads
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
    lambda: sites.sites_from_text(SWAPPED),
    lambda: sites.sites_from_geojson({"type": "Point", "coordinates": [3291800.0, 35557800.0]}),
    lambda: sites.sites_from_geojson({"type": "Point", "coordinates": [3291800.0, 557800.0]}),  # no zone prefix
])
def test_swapped_columns_are_named_as_such(call):
    with pytest.raises(DataError) as exc:
        call()
    assert "X/Y 似乎互换" in exc.value.message_zh and "swapped" in exc.value.message_en


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
    """The control: pyogrio imported before geo (GDAL registers its drivers then, before the
    hardening runs) reads the secret, so the test above is not passing for some other reason."""
    upload = tmp_path / "site.kml"
    upload.write_bytes(secret_vrt)
    script = ("import sys, pyogrio\n"
              "from geo import sites\n"
              "s = sites.sites_from_upload('site.kml', open(sys.argv[1], 'rb').read())\n"
              "print(repr([x.properties for x in s]))\n")
    env = {k: v for k, v in os.environ.items() if k != "GDAL_SKIP"}
    out = subprocess.run([sys.executable, "-c", script, str(upload)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert all(s in out.stdout for s in SECRET)


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
