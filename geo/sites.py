"""Project sites from whatever a reviewer received: GeoJSON, KML/KMZ, GeoPackage, zipped
Shapefile, CSV of points, or a 界址点坐标 TXT, in any CRS they use, into CGCS2000 lon/lat.

Uploads are untrusted: sizes, archive members, vertices and features are capped, paths
inside archives are checked, XML entities are refused, and every temporary file lives in
a directory that is removed on every path out.
"""
from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry import shape

from geo import jzd_txt
from geo.crs import GEO_EPSG, bd09_to_wgs84, gcj02_to_wgs84, gk3_epsg, gk6_epsg, reproject
from geo.errors import DataError

CHINA_LONLAT = (73.0, 3.0, 136.0, 54.0)
WEB_SYSTEMS = {"GCJ02": "GCJ-02（高德/腾讯）", "BD09": "BD-09（百度）"}


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = 20 * 1024 * 1024
    max_unpacked_bytes: int = 100 * 1024 * 1024
    max_archive_members: int = 50
    max_features: int = 2000
    max_vertices: int = 200_000


@dataclass
class Site:
    geometry: object  # shapely, lon/lat CGCS2000
    crs: dict
    name: str | None = None
    stated_area_ha: float | None = None
    notes: list[str] = field(default_factory=list)
    properties: dict = field(default_factory=dict)  # the feature's attributes as read (untrusted text)


# ---------------------------------------------------------------- CRS

def parse_crs(text: str | None) -> str | int | None:
    """'EPSG:4523' → 4523, 'GCJ02'/'BD09' as is, empty → None (detect)."""
    if text is None or not str(text).strip():
        return None
    t = str(text).strip().upper().replace("-", "").replace("_", "")
    if t in ("GCJ02", "BD09"):
        return t
    m = re.fullmatch(r"(?:EPSG:?)?(\d{4,6})", t)
    if not m:
        raise DataError(f"无法识别的坐标系：{str(text)[:40]}（可用 EPSG:4490、EPSG:4326、GCJ02、BD09、EPSG:<代码>）",
                        f"unknown CRS {str(text)[:40]!r}; use EPSG:4490, EPSG:4326, GCJ02, BD09 or EPSG:<code>")
    code = int(m.group(1))
    try:
        crs = CRS.from_epsg(code)
    except CRSError:
        raise DataError(f"EPSG:{code} 不是已知的坐标系", f"EPSG:{code} is not a known CRS") from None
    if not (crs.is_geographic or crs.is_projected):
        raise DataError(f"EPSG:{code} 不是平面或地理坐标系", f"EPSG:{code} is neither geographic nor projected")
    return code


def _label(crs) -> str:
    if crs in WEB_SYSTEMS:
        return WEB_SYSTEMS[crs]
    return f"EPSG:{crs} {CRS.from_epsg(crs).name}"


def detect_crs(geom, district_lon: float | None = None) -> tuple[int, str]:
    """Guess the CRS from coordinate magnitudes; raise a 400 listing candidates when undecidable."""
    minx, miny, maxx, maxy = geom.bounds
    if CHINA_LONLAT[0] <= minx and maxx <= CHINA_LONLAT[2] and CHINA_LONLAT[1] <= miny and maxy <= CHINA_LONLAT[3]:
        return GEO_EPSG, "坐标为经纬度，按 CGCS2000（EPSG:4490）处理；若取自高德/腾讯或百度地图，请指定 GCJ02 或 BD09"
    if 1.5e6 <= miny and maxy <= 6.0e6:
        prefix = int(minx // 1e6)
        if minx >= 1e7 and prefix == int(maxx // 1e6):
            if 25 <= prefix <= 45:
                return gk3_epsg(prefix), f"东坐标带号前缀 {prefix}，按 CGCS2000 3° 带第 {prefix} 带（EPSG:{gk3_epsg(prefix)}）处理"
            if 13 <= prefix <= 23:
                return gk6_epsg(prefix), f"东坐标带号前缀 {prefix}，按 CGCS2000 6° 带第 {prefix} 带（EPSG:{gk6_epsg(prefix)}）处理"
        if 1e5 <= minx and maxx <= 9e5:
            if district_lon is not None:
                zone = int((district_lon + 1.5) // 3)
                return gk3_epsg(zone, False), (f"坐标为无带号高斯-克吕格坐标，按所选区县所在 3° 带中央经线 {zone * 3}°E"
                                                f"（EPSG:{gk3_epsg(zone, False)}）处理，请核对")
            raise DataError("坐标为无带号的高斯-克吕格平面坐标，无法判断中央经线，请指定坐标系（crs）",
                            "projected coordinates without zone prefix: the central meridian is ambiguous; give the CRS",
                            details={"candidates": [f"EPSG:{gk3_epsg(z, False)}" for z in (34, 35, 36, 37)] +
                                     [f"EPSG:{gk6_epsg(z, False)}" for z in (18, 19)]})
    if 1.5e6 <= minx and maxx <= 6.0e6 and (1e5 <= miny and maxy <= 9e5 or miny >= 1e7):
        raise DataError("坐标的 X/Y 似乎互换（北坐标应为 Y 值），请交换两列或在 GeoJSON 中以东坐标在前",
                        "X/Y appear swapped: northing found in the first coordinate; GeoJSON puts easting first")
    raise DataError("坐标不符合任何支持的坐标系（经纬度、CGCS2000 高斯-克吕格 3°/6° 带）",
                    "coordinates fit no supported CRS (lon/lat or CGCS2000 Gauss-Krüger 3°/6° zones)")


def to_lonlat(geom, crs, district_lon: float | None = None) -> tuple[object, dict]:
    """Convert to CGCS2000 lon/lat and describe what was read, assumed and applied."""
    info = {"as_read": _label(crs) if crs else "未提供", "assumed": None, "conversions": []}
    if crs is None:
        crs, note = detect_crs(geom, district_lon)
        info["assumed"] = _label(crs)
        info["conversions"].append(note)
    if crs == "GCJ02":
        out = gcj02_to_wgs84(geom)
        info["conversions"].append("GCJ-02 → WGS84/CGCS2000（精确反算，prcoords）")
    elif crs == "BD09":
        out = bd09_to_wgs84(geom)
        info["conversions"].append("BD-09 → GCJ-02 → WGS84/CGCS2000（精确反算，prcoords）")
    elif CRS.from_epsg(crs).is_geographic:
        out = reproject(geom, crs, GEO_EPSG) if crs not in (GEO_EPSG, 4326) else geom
        if crs == 4326:
            info["conversions"].append("WGS84 与 CGCS2000 差异为厘米级，按同一经纬度处理")
    else:
        out = reproject(geom, crs, GEO_EPSG)
        info["conversions"].append(f"{_label(crs)} → CGCS2000 经纬度（pyproj）")
        datum = CRS.from_epsg(crs).geodetic_crs.name
        if "2000" not in datum and "WGS 84" not in datum:
            info["conversions"].append(f"注意：坐标基准为 {datum}，转换到 CGCS2000 未使用官方转换参数（七参数），位置可能偏差数十米，请核对 / "
                                       "datum shift without official parameters: positions may be tens of metres off")
    minx, miny, maxx, maxy = out.bounds
    if not (CHINA_LONLAT[0] <= minx and maxx <= CHINA_LONLAT[2] and CHINA_LONLAT[1] <= miny and maxy <= CHINA_LONLAT[3]):
        raise DataError(f"按 {_label(crs)} 换算后坐标不在中国范围内，请检查坐标系或 X/Y 顺序",
                        f"after {crs} the site is outside China: check the CRS or the X/Y order")
    return out, info


# ---------------------------------------------------------------- geometry checks

def clean_geometry(geom, limits: Limits, what: str) -> tuple[object, list[str]]:
    notes = []
    if geom is None or geom.is_empty:
        raise DataError(f"{what}：几何为空", f"{what}: empty geometry")
    geom = shapely.force_2d(geom)
    kind = geom.geom_type
    if kind not in ("Point", "MultiPoint", "Polygon", "MultiPolygon"):
        raise DataError(f"{what}：几何类型为 {kind}，仅支持点或面（项目用地范围请提供面）",
                        f"{what}: geometry type {kind} is not supported; give points or polygons")
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        raise DataError(f"{what}：坐标含非数值（NaN 或无穷大）", f"{what}: coordinates contain NaN or infinity")
    if shapely.get_num_coordinates(geom) > limits.max_vertices:
        raise DataError(f"{what}：节点数超过上限 {limits.max_vertices}", f"{what}: more than {limits.max_vertices} vertices")
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        geom = shapely.make_valid(geom)
        if geom.geom_type == "GeometryCollection":
            geom = shapely.union_all([g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
        notes.append(f"几何无效（{reason}），已用 make_valid 修复 / invalid geometry repaired with make_valid")
    if geom.is_empty:
        raise DataError(f"{what}：几何修复后为空", f"{what}: nothing left after repair")
    return geom, notes


# ---------------------------------------------------------------- GeoJSON

def _geojson_crs(obj: dict):
    crs = obj.get("crs")
    props = crs.get("properties") if isinstance(crs, dict) else None
    name = props.get("name", "") if isinstance(props, dict) else ""
    if not isinstance(name, str):
        return None
    m = re.search(r"EPSG::?(\d+)", name)
    if m:
        return int(m.group(1))
    return 4326 if "CRS84" in name else None


def _unclosed_rings(geometry: dict) -> bool:
    def rings(g):
        if g.get("type") == "Polygon":
            yield from g.get("coordinates", [])
        elif g.get("type") == "MultiPolygon":
            for poly in g.get("coordinates", []):
                yield from poly

    return any(len(r) >= 2 and r[0] != r[-1] for r in rings(geometry))


def _props(feature: dict) -> dict:
    props = feature.get("properties")
    return props if isinstance(props, dict) else {}


def features_from_geojson(obj) -> list[tuple[dict, dict]]:
    """(geometry, properties) pairs from a geometry, Feature or FeatureCollection."""
    if not isinstance(obj, dict) or "type" not in obj:
        raise DataError("不是 GeoJSON：缺少 type", "not GeoJSON: no 'type' member")
    t = obj["type"]
    if t == "FeatureCollection":
        feats = obj.get("features") or []
        if not isinstance(feats, list):
            raise DataError("FeatureCollection 的 features 须为数组", "FeatureCollection.features must be an array")
        return [(f.get("geometry"), _props(f)) for f in feats if isinstance(f, dict)]
    if t == "Feature":
        return [(obj.get("geometry"), _props(obj))]
    return [(obj, {})]


def sites_from_geojson(obj, crs=None, limits: Limits = Limits(), district_lon: float | None = None) -> list[Site]:
    crs = crs if crs is not None else _geojson_crs(obj) if isinstance(obj, dict) else None
    feats = features_from_geojson(obj)
    if not feats:
        raise DataError("GeoJSON 中没有要素", "the GeoJSON has no features")
    if len(feats) > limits.max_features:
        raise DataError(f"要素数 {len(feats)} 超过上限 {limits.max_features}", f"{len(feats)} features exceed the limit {limits.max_features}")
    sites = []
    for i, (geometry, props) in enumerate(feats, 1):
        what = f"第 {i} 个要素"
        if not isinstance(geometry, dict):
            raise DataError(f"{what}没有几何", f"feature {i} has no geometry")
        try:
            geom = shape(geometry)
        except Exception as exc:  # shapely raises several types on malformed coordinates
            raise DataError(f"{what}的几何无法解析：{str(exc)[:80]}", f"feature {i}: malformed geometry ({str(exc)[:80]})") from None
        notes = ["多边形环未闭合，已自动闭合 / unclosed ring closed"] if _unclosed_rings(geometry) else []
        sites.append(_make_site(geom, crs, limits, what, props, notes, district_lon))
    return sites


def _make_site(geom, crs, limits, what, props, notes, district_lon, stated_area_ha=None) -> Site:
    geom, repair_notes = clean_geometry(geom, limits, what)
    lonlat, info = to_lonlat(geom, crs, district_lon)
    name = next((str(props[k]) for k in ("name", "名称", "NAME", "Name", "XMMC", "DKMC", "项目名称") if props.get(k)), None)
    return Site(lonlat, info, name=name, stated_area_ha=stated_area_ha, notes=notes + repair_notes, properties=dict(props))


# ---------------------------------------------------------------- uploads

def sites_from_upload(filename: str, data: bytes, crs=None, limits: Limits = Limits(), district_lon: float | None = None) -> list[Site]:
    if not data:
        raise DataError("上传的文件为空", "the uploaded file is empty")
    if len(data) > limits.max_upload_bytes:
        raise DataError(f"文件超过大小上限 {limits.max_upload_bytes // 1024 // 1024} MB",
                        f"file larger than {limits.max_upload_bytes // 1024 // 1024} MB", status=413)
    ext = PurePosixPath(filename.lower()).suffix
    readers = {".geojson": _read_geojson, ".json": _read_geojson, ".kml": _read_kml, ".kmz": _read_kmz, ".gpkg": _read_ogr,
               ".zip": _read_zip, ".csv": _read_csv, ".txt": _read_txt}
    if ext not in readers:
        raise DataError(f"不支持的文件类型“{ext or '无扩展名'}”（支持 GeoJSON、KML、KMZ、GeoPackage、Shapefile 压缩包 .zip、CSV、界址点 TXT）",
                        f"unsupported file type {ext!r}", status=415)
    with tempfile.TemporaryDirectory(prefix="site-") as tmp:
        return readers[ext](Path(tmp), filename, data, crs, limits, district_lon)


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise DataError("文本编码无法识别（支持 UTF-8、GBK/GB18030）", "unknown text encoding (UTF-8 or GBK/GB18030 expected)")


def _read_geojson(tmp, filename, data, crs, limits, district_lon):
    try:
        obj = json.loads(_decode(data))
    except json.JSONDecodeError as exc:
        raise DataError(f"GeoJSON 格式错误：第 {exc.lineno} 行 {exc.msg}", f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    return sites_from_geojson(obj, crs, limits, district_lon)


def _refuse_xml_entities(text: bytes):
    head = text[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in text.upper():
        raise DataError("KML 中含有 DOCTYPE/实体声明，出于安全原因拒绝处理", "KML with DOCTYPE/entity declarations is refused")


MAGIC = {".gpkg": (b"SQLite format 3\x00",), ".shp": (b"\x00\x00\x27\x0a",)}


def _check_magic(suffix: str, head: bytes, name: str):
    """The bytes must be the format the name says: GDAL would otherwise open whatever they are."""
    if suffix == ".kml":
        text = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
        if not (text.startswith(b"<?xml") or text.startswith(b"<kml")) or b"<kml" not in text:
            raise DataError(f"{name} 不是 KML 文件（内容不是 KML）", f"{name} is not KML")
        return
    if suffix in MAGIC and not head.startswith(MAGIC[suffix]):
        raise DataError(f"{name} 的内容与扩展名不符（不是有效的 {suffix} 文件）", f"{name}: content does not match {suffix}")


def _read_kml(tmp, filename, data, crs, limits, district_lon):
    _refuse_xml_entities(data)
    _check_magic(".kml", data, filename)
    path = tmp / "upload.kml"
    path.write_bytes(data)
    return _read_ogr_path(path, crs if crs is not None else 4326, limits, district_lon)


def _safe_members(zf: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    members = [m for m in zf.infolist() if not m.is_dir()]
    if len(members) > limits.max_archive_members:
        raise DataError(f"压缩包内文件数 {len(members)} 超过上限 {limits.max_archive_members}", "too many files in the archive")
    total = 0
    for m in members:
        p = PurePosixPath(m.filename.replace("\\", "/"))
        if p.is_absolute() or ".." in p.parts or re.match(r"^[A-Za-z]:", m.filename):
            raise DataError(f"压缩包内路径不安全：{m.filename[:60]}", f"unsafe path in archive: {m.filename[:60]!r}")
        total += m.file_size
        if total > limits.max_unpacked_bytes or (m.compress_size and m.file_size / m.compress_size > 200 and m.file_size > 10 * 1024 * 1024):
            raise DataError("压缩包解压后过大（疑似压缩炸弹）", "archive unpacks too large (zip bomb?)", status=413)
    return members


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DataError("不是有效的 zip 压缩包", "not a valid zip archive") from None


def _extract(zf: zipfile.ZipFile, members, tmp: Path, limits: Limits) -> list[Path]:
    out, written = [], 0
    for m in members:
        target = tmp / PurePosixPath(m.filename.replace("\\", "/")).name  # flatten: no directories from the archive
        with zf.open(m) as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > limits.max_unpacked_bytes:
                    raise DataError("压缩包解压后过大（疑似压缩炸弹）", "archive unpacks too large (zip bomb?)", status=413)
                dst.write(chunk)
        out.append(target)
    return out


def _read_kmz(tmp, filename, data, crs, limits, district_lon):
    zf = _open_zip(data)
    members = [m for m in _safe_members(zf, limits) if m.filename.lower().endswith(".kml")]
    if not members:
        raise DataError("KMZ 中没有 .kml 文件", "no .kml inside the KMZ")
    kml = zf.read(members[0])
    return _read_kml(tmp, filename, kml, crs, limits, district_lon)


def _read_zip(tmp, filename, data, crs, limits, district_lon):
    zf = _open_zip(data)
    files = _extract(zf, _safe_members(zf, limits), tmp, limits)
    shps = [f for f in files if f.suffix.lower() == ".shp"]
    if not shps:
        raise DataError("压缩包中没有 .shp 文件（Shapefile 需包含 .shp、.shx、.dbf，建议含 .prj）", "no .shp in the zip")
    if len(shps) > 1:
        raise DataError(f"压缩包中有 {len(shps)} 个 .shp，请每次上传一个图层", "several .shp files in one zip")
    shp = shps[0]
    _check_magic(".shp", shp.read_bytes()[:4], shp.name)
    if any(f.suffix.lower() in (".vrt", ".xml") for f in files):
        raise DataError("压缩包中含有 .vrt/.xml 引用文件，出于安全原因拒绝处理", "archives with .vrt/.xml files are refused")
    for ext in (".shx", ".dbf"):
        if not any(f.suffix.lower() == ext and f.stem == shp.stem for f in files):
            raise DataError(f"Shapefile 缺少 {ext} 文件", f"the shapefile is missing its {ext} file")
    dbf = next(f for f in files if f.suffix.lower() == ".dbf" and f.stem == shp.stem)
    _check_dbf(dbf)
    notes = []
    cpg = next((f for f in files if f.suffix.lower() == ".cpg" and f.stem == shp.stem), None)
    encoding = _shapefile_encoding(dbf, cpg)
    if cpg is None:
        notes.append(f"无 .cpg 文件，属性编码判定为 {encoding}")
    has_prj = any(f.suffix.lower() == ".prj" and f.stem == shp.stem for f in files)
    if not has_prj and crs is None:
        notes.append("无 .prj 文件，坐标系按坐标数值判定")
    return _read_ogr_path(shp, crs, limits, district_lon, encoding=encoding, notes=notes)


def _check_dbf(dbf: Path):
    """GDAL reads a truncated .dbf without complaint and drops attributes; refuse it instead."""
    raw = dbf.read_bytes()
    if len(raw) < 32:
        raise DataError("Shapefile 的 .dbf 文件不完整（被截断）", "the shapefile's .dbf is truncated")
    records = int.from_bytes(raw[4:8], "little")
    header_len = int.from_bytes(raw[8:10], "little")
    record_len = int.from_bytes(raw[10:12], "little")
    if len(raw) < header_len + records * record_len:
        raise DataError("Shapefile 的 .dbf 文件不完整（被截断），请重新导出", "the shapefile's .dbf is truncated")


def _shapefile_encoding(dbf: Path, cpg: Path | None) -> str:
    """.cpg if present; else the DBF language byte (0x4D = cp936); else UTF-8 if it decodes, else GBK."""
    if cpg is not None:
        name = cpg.read_text(errors="ignore").strip().upper()
        return {"936": "GBK", "CP936": "GBK", "GB2312": "GBK", "GBK": "GBK", "GB18030": "GB18030"}.get(name, name or "UTF-8")
    raw = dbf.read_bytes()
    if len(raw) > 29 and raw[29] == 0x4D:
        return "GBK"
    try:
        raw[32:].decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GBK"


def _read_ogr(tmp, filename, data, crs, limits, district_lon):
    _check_magic(PurePosixPath(filename.lower()).suffix, data, filename)
    path = tmp / ("upload" + PurePosixPath(filename.lower()).suffix)
    path.write_bytes(data)
    return _read_ogr_path(path, crs, limits, district_lon)


def _read_ogr_path(path: Path, crs, limits, district_lon, encoding=None, notes=()):
    try:
        layers = pyogrio.list_layers(path)
        if len(layers) == 0:
            raise DataError("文件中没有图层", "no layer in the file")
        kwargs = {"encoding": encoding} if encoding else {}
        gdf = pyogrio.read_dataframe(path, layer=layers[0][0], force_2d=True, **kwargs)
    except DataError:
        raise
    except Exception as exc:  # GDAL reports corrupt input through several exception types
        raise DataError("文件无法读取（格式损坏或不完整），请重新导出后上传", f"the file cannot be read: {str(exc)[:160]}") from None
    if len(gdf) == 0:
        raise DataError("文件中没有要素", "no features in the file")
    if len(gdf) > limits.max_features:
        raise DataError(f"要素数 {len(gdf)} 超过上限 {limits.max_features}", f"{len(gdf)} features exceed the limit {limits.max_features}")
    file_crs = crs
    if file_crs is None and gdf.crs is not None:
        file_crs = gdf.crs.to_epsg() or _epsg_from_wkt(gdf.crs)
    sites = []
    for i, (geom, (_, row)) in enumerate(zip(gdf.geometry, gdf.drop(columns="geometry").iterrows()), 1):
        props = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items() if v is not None and v == v}
        sites.append(_make_site(geom, file_crs, limits, f"第 {i} 个要素", props, list(notes), district_lon))
    return sites


def _epsg_from_wkt(crs) -> int | None:
    """ESRI .prj files often lack an EPSG code (e.g. CGCS2000_3_Degree_GK_Zone_35): match it."""
    match = crs.to_epsg(min_confidence=50)
    if match:
        return match
    raise DataError(f"无法把 .prj 坐标系“{crs.name}”对应到 EPSG 代码，请在 crs 参数中指定", f"cannot map the .prj CRS {crs.name!r} to EPSG; give crs")


LON_COLUMNS = ("lon", "lng", "longitude", "经度", "x")
LAT_COLUMNS = ("lat", "latitude", "纬度", "y")


def _read_csv(tmp, filename, data, crs, limits, district_lon):
    try:
        rows = list(csv.DictReader(io.StringIO(_decode(data))))
    except csv.Error as exc:
        raise DataError(f"CSV 格式错误：{exc}", f"malformed CSV: {exc}") from None
    if not rows:
        raise DataError("CSV 中没有数据行", "the CSV has no rows")
    cols = {c.strip().lower(): c for c in rows[0] if c}
    lon = next((cols[c] for c in LON_COLUMNS if c in cols), None)
    lat = next((cols[c] for c in LAT_COLUMNS if c in cols), None)
    if not lon or not lat:
        raise DataError("CSV 须有经度、纬度两列（lon/lat、经度/纬度 或 x/y）", "the CSV needs lon and lat columns")
    if len(rows) > limits.max_features:
        raise DataError(f"点数 {len(rows)} 超过上限 {limits.max_features}", f"{len(rows)} points exceed the limit")
    sites = []
    for i, r in enumerate(rows, 2):
        try:
            x, y = float(r[lon]), float(r[lat])
        except (TypeError, ValueError):
            raise DataError(f"CSV 第 {i} 行坐标不是数字", f"CSV row {i}: coordinates are not numbers") from None
        sites.append(_make_site(shapely.Point(x, y), crs, limits, f"CSV 第 {i} 行", r, [], district_lon))
    return sites


def _read_txt(tmp, filename, data, crs, limits, district_lon):
    parsed = jzd_txt.parse(_decode(data))
    zone, width, prefixed = jzd_txt.zone_from_header_or_prefix(parsed)
    if zone is not None and not (25 <= zone <= 45 if width == 3 else 13 <= zone <= 23):
        raise DataError(f"界址点文件的带号 {zone} 不在中国范围内（3° 带 25–45，6° 带 13–23）", f"zone {zone} is outside China")
    if crs is None:
        if zone is not None:
            crs = (gk3_epsg(zone, prefixed) if width == 3 else gk6_epsg(zone, prefixed)) if prefixed else (
                gk3_epsg(zone, False) if width == 3 else gk6_epsg(zone, False))
        coord_sys = parsed.header.get("坐标系", "")
        if coord_sys and "2000" not in coord_sys:
            raise DataError(f"界址点文件坐标系为“{coord_sys}”，请在 crs 参数中给出对应的 EPSG 代码",
                            f"the TXT declares {coord_sys}; give its EPSG code as crs")
    sites = []
    for parcel in parsed.parcels:
        geom = jzd_txt.parcel_geometry(parcel)
        if crs is None and not prefixed:
            crs_used = None  # detect_crs will ask for the central meridian
        else:
            crs_used = crs
        site = _make_site(geom, crs_used, limits, f"地块“{parcel.name}”", {"name": parcel.name}, parsed.notes + parcel.notes,
                          district_lon, stated_area_ha=parcel.stated_area_ha)
        sites.append(site)
    return sites


def sites_from_text(text: str, crs=None, limits: Limits = Limits(), district_lon: float | None = None) -> list[Site]:
    """Typed coordinates: GeoJSON, or one 'x,y' pair per line (1 pair: point; ≥3: polygon)."""
    text = text.strip()
    if text.startswith("{"):
        try:
            return sites_from_geojson(json.loads(text), crs, limits, district_lon)
        except json.JSONDecodeError as exc:
            raise DataError(f"GeoJSON 格式错误：{exc.msg}", f"invalid JSON: {exc.msg}") from None
    pts = []
    for n, line in enumerate(text.splitlines(), 1):
        fields = [f for f in re.split(r"[,\s，;；]+", line.strip()) if f]
        if not fields:
            continue
        if len(fields) != 2:
            raise DataError(f"第 {n} 行应为“X,Y”两个数", f"line {n}: expected two numbers 'x,y'")
        try:
            pts.append((float(fields[0]), float(fields[1])))
        except ValueError:
            raise DataError(f"第 {n} 行坐标不是数字", f"line {n}: not numbers") from None
    if len(pts) == 1:
        geom = shapely.Point(pts[0])
    elif len(pts) >= 3:
        geom = shapely.Polygon(pts)
    else:
        raise DataError("请输入 1 个点（点位）或至少 3 个点（面）", "give 1 point or at least 3 points")
    return [_make_site(geom, crs, limits, "输入的坐标", {}, [], district_lon)]
