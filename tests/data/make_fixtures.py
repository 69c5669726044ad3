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
    (HERE / "real").mkdir(exist_ok=True)  # a path is a linear site (线路), screened as a line
    (HERE / "real" / "line_dazu.geojson").write_text(json.dumps({"type": "LineString", "coordinates": [[105.7, 29.6], [105.71, 29.61]]}))
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


# ------------------------------------------------------------------------------------------------
# Files as other people's software writes them (tests/data/real/ and two more in bad/).
# `.venv/bin/python tests/data/make_fixtures.py real` writes only these, leaving the files above
# byte for byte as committed. tests/data/README.md says which software each one imitates.
# ------------------------------------------------------------------------------------------------

REAL = HERE / "real"
# lon/lat literals (CGCS2000 = WGS84 at this scale), west of the 大足 demo red line's test site
KML_A = [(105.590, 29.740), (105.596, 29.740), (105.596, 29.745), (105.590, 29.745), (105.590, 29.740)]
KML_B1 = [(105.600, 29.750), (105.602, 29.750), (105.602, 29.752), (105.600, 29.752), (105.600, 29.750)]
KML_B2 = [(105.604, 29.750), (105.605, 29.750), (105.605, 29.751), (105.604, 29.751), (105.604, 29.750)]
KML_B_LABEL = (105.601, 29.751)
KML_PATH = [(105.585, 29.735), (105.600, 29.748), (105.610, 29.760)]
KML_POINT = (105.593, 29.742)
KML_C = [(105.620, 29.720), (105.624, 29.720), (105.624, 29.723), (105.620, 29.723), (105.620, 29.720)]
# GK zone 35 (EPSG:4523 with the zone prefix) squares as (X north, Y east): the 界址点 and survey CSV fixtures
GK_N, GK_E = 3291800.0, 35557800.0


def _kml_coords(pts):
    return " ".join(f"{x:.3f},{y:.3f},0" for x, y in pts)


def _kml_polygon(pts):
    return f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{_kml_coords(pts)}</coordinates></LinearRing></outerBoundaryIs></Polygon>"


def google_earth_kml() -> str:
    """Google Earth Pro's shape: a Document with styles, folders nested two deep, a MultiGeometry of
    two polygons and a label point, a path (LineString), a point, a 3-D model and a placemark
    with a name only. Six Placemarks; four of them have geometry that can be screened."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2" xmlns:kml="http://www.opengis.net/kml/2.2" xmlns:atom="http://www.w3.org/2005/Atom">
<Document>
	<name>大足区某输变电项目.kml</name>
	<Style id="poly"><LineStyle><color>ff0000ff</color><width>2</width></LineStyle><PolyStyle><color>400000ff</color></PolyStyle></Style>
	<Folder>
		<name>一期</name>
		<open>1</open>
		<Folder>
			<name>用地范围</name>
			<Placemark>
				<name>变电站用地</name>
				<description><![CDATA[<table><tr><td>面积</td><td>约 29 公顷</td></tr></table>]]></description>
				<styleUrl>#poly</styleUrl>
				<ExtendedData><Data name="项目编号"><value>DZ-2024-01</value></Data></ExtendedData>
				{_kml_polygon(KML_A)}
			</Placemark>
			<Placemark>
				<name>塔基用地</name>
				<styleUrl>#poly</styleUrl>
				<MultiGeometry>
					{_kml_polygon(KML_B1)}
					{_kml_polygon(KML_B2)}
					<Point><coordinates>{KML_B_LABEL[0]:.3f},{KML_B_LABEL[1]:.3f},0</coordinates></Point>
				</MultiGeometry>
			</Placemark>
		</Folder>
	</Folder>
	<Folder>
		<name>线路</name>
		<Placemark>
			<name>110kV 线路走向</name>
			<LineString><tessellate>1</tessellate><coordinates>{_kml_coords(KML_PATH)}</coordinates></LineString>
		</Placemark>
		<Placemark>
			<name>铁塔模型</name>
			<Model><altitudeMode>relativeToGround</altitudeMode><Location><longitude>105.6</longitude><latitude>29.75</latitude><altitude>0</altitude></Location><Link><href>files/tower.dae</href></Link></Model>
		</Placemark>
	</Folder>
	<Placemark>
		<name>取水口</name>
		<Point><coordinates>{KML_POINT[0]:.3f},{KML_POINT[1]:.3f},0</coordinates></Point>
	</Placemark>
	<Placemark>
		<name>待定位置</name>
		<description>坐标待补充</description>
	</Placemark>
</Document>
</kml>
"""


def kmz_first_folder_empty() -> bytes:
    """A KMZ as Google Earth saves a "My Places" folder: doc.kml whose first folder is empty (GDAL
    reports it as the first layer, with no features), the parcel in the second, plus an icon."""
    doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document>
	<name>选址.kmz</name>
	<Folder><name>临时位置</name></Folder>
	<Folder>
		<name>项目</name>
		<Placemark><name>拟建厂区</name>{_kml_polygon(KML_C)}</Placemark>
	</Folder>
</Document>
</kml>
"""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("doc.kml", (2024, 5, 1, 9, 0, 0)), doc)
        zf.writestr(zipfile.ZipInfo("files/icon.png", (2024, 5, 1, 9, 0, 0)), b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    return buf.getvalue()


def _jzd_rows(ring: int, pts, start: int = 1) -> list[str]:
    return [f"J{start + i},{ring},{n:.3f},{e:.3f}" for i, (n, e) in enumerate(pts)]


def gk_square(north: float, east: float, side_n: float, side_e: float | None = None):
    side_e = side_n if side_e is None else side_e
    return [(north, east), (north, east + side_e), (north + side_n, east + side_e), (north + side_n, east), (north, east)]


def jzd_nested_m2() -> str:
    """A 界址点 TXT as a 勘测定界 program writes it, with two habits of real writers: the parcel
    header fields in another order (点数,面积,地块名称,地块编号,面,…) and 地块面积 in m² or 亩
    instead of 公顷. Parcel 1 has rings nested two deep, numbered against their depth:
    圈 1 = 600 m square (land), 圈 2 = 200 m square inside 圈 3 (an island in the pond),
    圈 3 = 400 m square inside 圈 1 (the pond, a hole). Plane area 360 000 − 160 000 + 40 000 =
    240 000 m², stated as "240000.0000". Parcel 2: a 100 m × 150 m plot = 15 000 m² = 22.5 亩,
    stated as "22.5"."""
    outer = gk_square(GK_N, GK_E, 600.0)
    pond = gk_square(GK_N + 100.0, GK_E + 100.0, 400.0)
    island = gk_square(GK_N + 200.0, GK_E + 200.0, 200.0)
    plot = gk_square(GK_N + 1000.0, GK_E, 100.0, 150.0)
    lines = ["[属性描述]", "格式版本号=1.01", "数据产生单位=某某勘测院", "数据产生日期=2024-05-01", "坐标系=2000国家大地坐标系",
             "几度分带=3", "投影类型=高斯克吕格", "计量单位=米", "带号=35", "精度=0.001", "转换参数=,,,,,,", "[地块坐标]"]
    lines.append(f"{len(outer) + len(island) + len(pond)},240000.0000,大足区某厂区,DK01,面,H48G073012,工业用地,@")
    lines += _jzd_rows(1, outer) + _jzd_rows(2, island, 6) + _jzd_rows(3, pond, 11)
    lines.append(f"{len(plot)},22.5,DK02,面,配套道路用地,,交通运输用地,@")
    lines += _jzd_rows(1, plot)
    return "\r\n".join(lines) + "\r\n"


ARCGIS_SHP_XML = """<?xml version="1.0" encoding="UTF-8"?>
<metadata xml:lang="zh"><Esri><CreaDate>20240501</CreaDate><CreaTime>09000000</CreaTime><ArcGISFormat>1.0</ArcGISFormat>
<SyncOnce>TRUE</SyncOnce><DataProperties><lineage><Process ToolSource="c:\\program files\\arcgis\\desktop10.8\\ArcToolbox\\Toolboxes\\Conversion Tools.tbx\\FeatureClassToShapefile" Date="20240501" Time="090000">FeatureClassToShapefile 项目用地.gdb\\范围 D:\\导出</Process></lineage></DataProperties></Esri>
<dataIdInfo><idCitation><resTitle>site</resTitle></idCitation></dataIdInfo><mdDateSt Sync="TRUE">20240501</mdDateSt></metadata>
"""


def _sbn_like(shp_header: bytes) -> bytes:
    """An ESRI spatial index file (.sbn/.sbx): file code 9994 like the .shp, then index records."""
    return shp_header[:4] + b"\x00" * 20 + shp_header[24:100] + bytes(range(256)) * 2


def arcgis_zip(extra: dict[str, bytes] | None = None) -> bytes:
    """A zip of what ArcGIS 10.8 "Feature Class To Shapefile" leaves beside the .shp: .cpg, .prj,
    .sbn, .sbx and the .shp.xml metadata. Two parcels in GK zone 35, UTF-8 attributes (XMMC)."""
    tmp = HERE / "_arcgis"
    tmp.mkdir(exist_ok=True)
    polys = [Polygon([(e, n) for n, e in gk_square(GK_N, GK_E, 600.0)]),
             Polygon([(e, n) for n, e in gk_square(GK_N + 1000.0, GK_E, 100.0, 150.0)])]
    gdf = gpd.GeoDataFrame({"XMMC": ["厂区用地", "道路用地"], "DKBH": ["DK01", "DK02"]}, geometry=polys, crs=4523)
    gdf.to_file(tmp / "site.shp", engine="pyogrio", encoding="UTF-8")
    (tmp / "site.cpg").write_text("UTF-8", encoding="ascii")
    header = (tmp / "site.shp").read_bytes()[:100]
    files = {f.name: f.read_bytes() for f in sorted(tmp.iterdir())}
    shutil.rmtree(tmp)
    files.update({"site.sbn": _sbn_like(header), "site.sbx": _sbn_like(header)[:140], "site.shp.xml": ARCGIS_SHP_XML.encode()})
    files.update(extra or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            zf.writestr(zipfile.ZipInfo(f"导出/{name}", (2024, 5, 1, 9, 0, 0)), files[name])
    return buf.getvalue()


def survey_csv(prefix: bool, close: bool) -> str:
    """点号,X,Y as a total station or RTK controller exports it (X = northing, Y = easting), for a
    600 m square in GK zone 35: with the zone prefix on Y or without it, closed (last = first) or not."""
    east0 = GK_E if prefix else GK_E - 35_000_000
    pts = gk_square(GK_N, east0, 600.0)[:-1]
    rows = [f"J{i},{n:.3f},{e:.3f}" for i, (n, e) in enumerate(pts, 1)]
    if close:
        rows.append(f"J1,{pts[0][0]:.3f},{pts[0][1]:.3f}")
    return "点号,X,Y\r\n" + "\r\n".join(rows) + "\r\n"


def survey_grouped_csv() -> str:
    """Several parcels in one CSV, as 南方 CASS / Excel tables list them: 地块号,圈号,点号,X,Y.
    Parcel 1: 600 m square with a 100 m square hole (圈 2); parcel 2: 100 m × 150 m."""
    rows = []
    for ring, pts in ((1, gk_square(GK_N, GK_E, 600.0)[:-1]), (2, gk_square(GK_N + 200.0, GK_E + 200.0, 100.0)[:-1])):
        rows += [f"1,{ring},J{i},{n:.3f},{e:.3f}" for i, (n, e) in enumerate(pts, 1)]
    rows += [f"2,1,J{i},{n:.3f},{e:.3f}" for i, (n, e) in enumerate(gk_square(GK_N + 1000.0, GK_E, 100.0, 150.0)[:-1], 1)]
    return "地块号,圈号,点号,X,Y\n" + "\n".join(rows) + "\n"


def datav_array() -> str:
    """The shape of a DataV.GeoAtlas / 高德 export saved from the browser: a bare JSON array of
    Features (adcode, name, center, level, parent …), no FeatureCollection around them."""
    feats = [
        {"type": "Feature", "properties": {"adcode": 500111001, "name": "甲地块", "center": [105.593, 29.7425], "level": "street",
                                           "parent": {"adcode": 500111}},
         "geometry": {"type": "MultiPolygon", "coordinates": [[[list(p) for p in KML_A]]]}},
        {"type": "Feature", "properties": {"adcode": 500111002, "name": "乙地块", "center": [105.622, 29.7215], "level": "street",
                                           "parent": {"adcode": 500111}},
         "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in KML_C]]}},
    ]
    return json.dumps(feats, ensure_ascii=False)


def write_real_files():
    REAL.mkdir(exist_ok=True)
    (REAL / "google_earth_nested.kml").write_text(google_earth_kml(), encoding="utf-8")
    (REAL / "first_folder_empty.kmz").write_bytes(kmz_first_folder_empty())
    (REAL / "jzd_nested_m2.txt").write_bytes(jzd_nested_m2().encode("gbk"))
    (REAL / "arcgis_export_gk35.zip").write_bytes(arcgis_zip())
    (REAL / "survey_gk35_prefix_closed.csv").write_text(survey_csv(prefix=True, close=True), encoding="utf-8")
    (REAL / "survey_gk35_noprefix.csv").write_text(survey_csv(prefix=False, close=False), encoding="gbk")
    (REAL / "survey_grouped.csv").write_text(survey_grouped_csv(), encoding="utf-8-sig")
    (REAL / "datav_array.json").write_text(datav_array(), encoding="utf-8")
    # hostile: GDAL references under innocent sidecar names in an otherwise good ArcGIS export
    vrt = ('<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>CSV:/etc/hostname</SrcDataSource>'
           '<GeometryType>wkbNone</GeometryType></OGRVRTLayer></OGRVRTDataSource>').encode()
    (HERE / "bad" / "vrt_as_shp_xml.zip").write_bytes(arcgis_zip({"site.shp.xml": vrt}))
    (HERE / "bad" / "vsi_path_in_cpg.zip").write_bytes(arcgis_zip({"site.cpg": b"/vsicurl/http://169.254.169.254/latest/"}))
    recursive_view_gpkg(HERE / "bad" / "recursive_view.gpkg")


def recursive_view_gpkg(path: Path):
    """A GeoPackage whose only layer is a view over an endless recursive query: reading it never finishes."""
    import sqlite3

    import geopandas as gpd

    path.unlink(missing_ok=True)
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[site_lonlat().centroid], crs=4490).to_file(path, layer="site", driver="GPKG")
    with sqlite3.connect(path) as c:
        c.execute("CREATE VIEW endless AS WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) "
                  "SELECT x AS fid, (SELECT geom FROM site LIMIT 1) AS geom, 'x' AS name FROM r")
        c.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES ('endless', 'features', 'endless', 4490)")
        c.execute("INSERT INTO gpkg_geometry_columns VALUES ('endless', 'geom', 'POINT', 4490, 0, 0)")
        c.execute("DELETE FROM gpkg_geometry_columns WHERE table_name = 'site'")
        c.execute("DELETE FROM gpkg_contents WHERE table_name = 'site'")
    c.close()


if __name__ == "__main__":
    if sys.argv[1:] == ["real"]:
        write_real_files()
    else:
        main()
        write_real_files()
