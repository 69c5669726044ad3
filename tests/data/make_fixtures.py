"""Make the small test files in tests/data/ (run once; the outputs are committed).

    .venv/bin/python tests/data/make_fixtures.py

One project site near the 大足区 demo red line, written in every format a reviewer
receives, plus a folder of broken and hostile uploads (tests/data/bad/).
"""
from __future__ import annotations

import io
import json
import shutil
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import Polygon, mapping

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from geo.crs import reproject, wgs84_to_gcj02  # noqa: E402

# A 5-vertex site in CGCS2000 GK 3° zone 35 (EPSG:4523, easting with zone prefix), metres.
SITE_GK = [(35557750.0, 3291800.0), (35558350.0, 3291800.0), (35558500.0, 3292180.0), (35558050.0, 3292400.0),
           (35557700.0, 3292150.0)]  # straddles the edge of the 大足 demo red line
NAME = "大足区测试项目（GBK 编码）"


def site_lonlat():
    return reproject(Polygon(SITE_GK), 4523, 4490)


def write_shapefile_zip():
    tmp = HERE / "_shp"
    tmp.mkdir(exist_ok=True)
    gdf = gpd.GeoDataFrame({"XMMC": [NAME]}, geometry=[Polygon(SITE_GK)], crs=4523)
    gdf.to_file(tmp / "site.shp", engine="pyogrio", encoding="GBK")
    (tmp / "site.cpg").unlink(missing_ok=True)  # the common case: no .cpg, text in GBK
    with zipfile.ZipFile(HERE / "site_dazu_gk35_gbk.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(tmp.iterdir()):
            zf.write(f, f.name)
    shutil.rmtree(tmp)


def txt(points, swapped=False, close=True, zone="35"):
    rows = points + ([points[0]] if close else [])
    lines = ["[属性描述]", "格式版本号=1.01", "数据产生单位=测试", "坐标系=2000国家大地坐标系", "几度分带=3",
             "投影类型=高斯克吕格", "计量单位=米", f"带号={zone}", "精度=0.001", "转换参数=,,,,,,", "[地块坐标]"]
    area_ha = Polygon(points).area / 10_000
    lines.append(f"{len(rows)},{area_ha:.4f},1,{NAME},面,,,,@")
    for i, (east, north) in enumerate(rows, 1):
        x, y = (east, north) if swapped else (north, east)
        lines.append(f"J{i},1,{x:.3f},{y:.3f}")
    return "\n".join(lines) + "\n"


def main():
    write_shapefile_zip()
    (HERE / "site_dazu_jzd.txt").write_text(txt(SITE_GK), encoding="gbk")
    ll = site_lonlat()
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": NAME}, "geometry": mapping(ll)}]}
    (HERE / "site_dazu_cgcs2000.geojson").write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    gcj = wgs84_to_gcj02(ll)
    (HERE / "site_dazu_gcj02.geojson").write_text(json.dumps({"type": "Feature", "properties": {"name": NAME},
                                                              "geometry": mapping(gcj)}, ensure_ascii=False), encoding="utf-8")
    coords = " ".join(f"{x:.8f},{y:.8f},0" for x, y in ll.exterior.coords)
    (HERE / "site_dazu.kml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>{NAME}</name>'
        f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates></LinearRing></outerBoundaryIs></Polygon>"
        "</Placemark></Document></kml>\n", encoding="utf-8")

    bad = HERE / "bad"
    bad.mkdir(exist_ok=True)
    (bad / "empty.geojson").write_bytes(b"")
    (bad / "report.docx").write_bytes(b"PK\x03\x04 not a geodata file")
    (bad / "line.geojson").write_text(json.dumps({"type": "LineString", "coordinates": [[105.7, 29.6], [105.71, 29.61]]}))
    (bad / "bowtie.geojson").write_text(json.dumps(
        {"type": "Polygon", "coordinates": [[[105.70, 29.60], [105.71, 29.61], [105.71, 29.60], [105.70, 29.61], [105.70, 29.60]]]}))
    (bad / "nowhere.geojson").write_text(json.dumps({"type": "Point", "coordinates": [500.0, 500.0]}))
    (bad / "unclosed.geojson").write_text(json.dumps(
        {"type": "Polygon", "coordinates": [[[105.70, 29.60], [105.71, 29.60], [105.71, 29.61], [105.70, 29.61]]]}))
    (bad / "not_json.geojson").write_text("{\"type\": \"Polygon\", \"coordinates\": [[[105.7, 29.6],", encoding="utf-8")
    (bad / "swapped_xy_jzd.txt").write_text(txt(SITE_GK, swapped=True), encoding="utf-8")
    (bad / "unclosed_jzd.txt").write_text(txt(SITE_GK, close=False), encoding="utf-8")
    (bad / "text_in_numbers_jzd.txt").write_text(txt(SITE_GK).replace("J2,1,3291800.000", "J2,1,三二九一八"), encoding="utf-8")
    with zipfile.ZipFile(bad / "no_shp.zip", "w") as zf:
        zf.writestr("readme.txt", "no shapefile here")
    with zipfile.ZipFile(bad / "zip_slip.zip", "w") as zf:
        zf.writestr("../../evil.shp", b"x")
    with zipfile.ZipFile(bad / "zip_bomb.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("bomb.shp", b"\0" * (150 * 1024 * 1024))  # 150 MB of zeros, ~150 KB packed
    with zipfile.ZipFile(bad / "truncated_dbf.zip", "w") as zf:
        with zipfile.ZipFile(HERE / "site_dazu_gk35_gbk.zip") as src:
            for name in src.namelist():
                data = src.read(name)
                zf.writestr(name, data[:40] if name.endswith(".dbf") else data)
    (bad / "broken.gpkg").write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    (bad / "xxe.kml").write_text('<?xml version="1.0"?>\n<!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                                 '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&x;</name>'
                                 "<Point><coordinates>105.7,29.6</coordinates></Point></Placemark></kml>\n")
    (bad / "no_lonlat.csv").write_text("名称,东,北\nA,1,2\n", encoding="utf-8")
    (bad / "gk_without_zone.geojson").write_text(json.dumps(mapping(shapely.transform(
        Polygon(SITE_GK), lambda xy: xy - [35_000_000, 0]))))
    buf = io.StringIO()
    buf.write("name,lon,lat\n站点A,105.70,29.60\n站点B,abc,29.61\n")
    (bad / "points_bad_row.csv").write_text(buf.getvalue(), encoding="utf-8")
    more_bad(bad)
    write_official_redline()


def more_bad(bad: Path):
    """More broken and hostile uploads: every one must get a 4xx and leave nothing behind."""
    (bad / "circle_type.geojson").write_text(json.dumps({"type": "Circle", "coordinates": [105.7, 29.6], "radius": 100}))
    (bad / "nan_coords.geojson").write_text('{"type": "Point", "coordinates": [NaN, 29.6]}')
    (bad / "empty_collection.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    (bad / "array_top.geojson").write_text(json.dumps([{"type": "Point", "coordinates": [105.7, 29.6]}]))
    (bad / "two_point_polygon.geojson").write_text(json.dumps({"type": "Polygon", "coordinates": [[[105.7, 29.6], [105.71, 29.6]]]}))
    (bad / "huge_coords.geojson").write_text(json.dumps({"type": "Point", "coordinates": [1e300, -1e300]}))
    (bad / "feature_without_geometry.geojson").write_text(json.dumps({"type": "Feature", "properties": {"name": "x"}, "geometry": None}))
    (bad / "not_xml.kml").write_text("this is not xml <kml", encoding="utf-8")
    (bad / "latin1_garbage.txt").write_bytes(bytes(range(128, 256)) * 4)
    (bad / "txt_without_parcels.txt").write_text("[属性描述]\n坐标系=2000国家大地坐标系\n[地块坐标]\n", encoding="utf-8")
    (bad / "txt_point_before_header.txt").write_text("[地块坐标]\nJ1,1,3291800.000,35557750.000\n", encoding="utf-8")
    (bad / "txt_xian80.txt").write_text(txt(SITE_GK).replace("2000国家大地坐标系", "1980西安坐标系"), encoding="utf-8")
    (bad / "gpkg_is_text.gpkg").write_text("not a geopackage at all", encoding="utf-8")
    with zipfile.ZipFile(bad / "shp_without_dbf.zip", "w") as zf:
        with zipfile.ZipFile(HERE / "site_dazu_gk35_gbk.zip") as src:
            for name in src.namelist():
                if not name.endswith((".dbf", ".shx")):
                    zf.writestr(name, src.read(name))
    with zipfile.ZipFile(bad / "too_many_members.zip", "w") as zf:
        for i in range(60):
            zf.writestr(f"f{i}.txt", "x")
    with zipfile.ZipFile(bad / "kmz_without_kml.kmz", "w") as zf:
        zf.writestr("readme.txt", "no kml")
    with zipfile.ZipFile(bad / "kmz_slip.kmz", "w") as zf:
        zf.writestr("../../doc.kml", (HERE / "site_dazu.kml").read_text(encoding="utf-8"))
    (bad / "mixed_encoding.csv").write_bytes("name,lon,lat\n".encode() + "甲,105.7,29.6\n".encode("utf-8") + "乙,abc,29.6\n".encode("gbk"))
    (bad / "not_a_zip.zip").write_bytes(b"this is not a zip archive")
    # GDAL opens by content: VRT files named like other formats try to read local files
    vrt = ('<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>CSV:/etc/hostname</SrcDataSource>'
           '<GeometryType>wkbNone</GeometryType></OGRVRTLayer></OGRVRTDataSource>')
    (bad / "vrt_disguised.gpkg").write_text(vrt, encoding="utf-8")
    (bad / "vrt_disguised.kml").write_text(vrt, encoding="utf-8")
    with zipfile.ZipFile(bad / "vrt_in_zip.zip", "w") as zf:
        zf.writestr("site.shp", vrt)
        zf.writestr("site.shx", b"x")
        zf.writestr("site.dbf", b"x" * 40)


def write_official_redline():
    """An 'official' 大足 red line: GBK attributes (BHMC), GK zone 35 .prj, no .cpg, one self-intersecting polygon."""
    tmp = HERE / "_official"
    tmp.mkdir(exist_ok=True)
    x0, y0 = SITE_GK[0]
    polys = [
        Polygon([(x0 - 400, y0 - 400), (x0 + 1200, y0 - 400), (x0 + 1200, y0 + 1000), (x0 - 400, y0 + 1000)]),  # covers the test site
        Polygon([(x0 + 3000, y0), (x0 + 4000, y0 + 1000), (x0 + 4000, y0), (x0 + 3000, y0 + 1000)]),  # bow-tie: repaired
    ]
    gdf = gpd.GeoDataFrame({"BHMC": ["大足区生态保护红线（正式）甲", "大足区生态保护红线（正式）乙"], "GNLX": ["水源涵养", "水土保持"]},
                           geometry=polys, crs=4523)
    gdf.to_file(tmp / "hx.shp", engine="pyogrio", encoding="GBK")
    (tmp / "hx.cpg").unlink(missing_ok=True)
    with zipfile.ZipFile(HERE / "official_redline_dazu_gk35_gbk.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(tmp.iterdir()):
            zf.write(f, f.name)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
