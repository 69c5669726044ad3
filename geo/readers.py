"""Format readers: the features of a GeoJSON, KML/KMZ, GeoPackage, zipped Shapefile, CSV of
points, 界址点坐标 TXT or typed coordinates, in the file's own coordinates.

A reader says what CRS the file declares (a .prj, a GeoJSON crs member, a TXT 带号) and
nothing more: detecting a CRS from coordinates and converting is geo.crs's, making sites
is geo.sites'. Every upload passes geo.uploads' checks before GDAL sees a byte of it.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd
import pyogrio
import shapely
from shapely.geometry import shape

from geo import jzd_txt, uploads
from geo.crs import epsg_of, gk_crs_of, parse_crs
from geo.errors import DataError, UnsupportedFormatError
from geo.uploads import DEFAULT_LIMITS, Limits


@dataclass
class Feature:
    geometry: object  # shapely, in the file's coordinates
    what: str  # how messages name it: 第 3 个要素, CSV 第 4 行, 地块“…”
    properties: dict = field(default_factory=dict)  # attributes as read (untrusted text)
    notes: list[str] = field(default_factory=list)
    stated_area_ha: float | None = None


@dataclass
class Layer:
    features: list[Feature]
    crs: int | str | None = None  # what the file declares; None leaves it to detect_crs
    crs_note: str | None = None  # said when the file's own CRS is used
    crs_error: DataError | None = None  # raised when the file's own CRS would be used: it declares one that cannot be


# ---------------------------------------------------------------- text

def decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise DataError("文本编码无法识别（支持 UTF-8、GBK/GB18030）", "unknown text encoding (UTF-8 or GBK/GB18030 expected)")


def _check_count(n: int, limits: Limits, unit: str = "要素数"):
    if n > limits.max_features:
        raise DataError(f"{unit} {n} 超过上限 {limits.max_features}", f"{n} features exceed the limit {limits.max_features}")


# ---------------------------------------------------------------- GeoJSON

def _geojson_crs(obj: dict) -> Layer:
    """The (deprecated but common) crs member: 'urn:ogc:def:crs:EPSG::4523', 'EPSG:4523' or CRS84."""
    member = obj.get("crs")
    props = member.get("properties") if isinstance(member, dict) else None
    name = props.get("name", "") if isinstance(props, dict) else ""
    layer = Layer([])
    if not isinstance(name, str):
        return layer
    m = re.search(r"EPSG::?(\d+)", name)
    if m:
        try:
            layer.crs = parse_crs(f"EPSG:{m.group(1)}")
        except DataError as exc:
            layer.crs_error = exc
    elif "CRS84" in name:
        layer.crs = 4326
    return layer


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


def _geojson_members(obj) -> list[tuple[dict, dict]]:
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


def geojson_layer(obj, limits: Limits = DEFAULT_LIMITS) -> Layer:
    """A parsed GeoJSON object (a geometry, Feature or FeatureCollection)."""
    members = _geojson_members(obj)
    if not members:
        raise DataError("GeoJSON 中没有要素", "the GeoJSON has no features")
    _check_count(len(members), limits)
    layer = _geojson_crs(obj)
    for i, (geometry, props) in enumerate(members, 1):
        what = f"第 {i} 个要素"
        if not isinstance(geometry, dict):
            raise DataError(f"{what}没有几何", f"feature {i} has no geometry")
        try:
            geom = shape(geometry)
        except Exception as exc:  # noqa: BLE001 -- shapely raises several types on malformed coordinates
            raise DataError(f"{what}的几何无法解析：{str(exc)[:80]}", f"feature {i}: malformed geometry ({str(exc)[:80]})") from None
        notes = ["多边形环未闭合，已自动闭合 / unclosed ring closed"] if _unclosed_rings(geometry) else []
        layer.features.append(Feature(geom, what, props, notes))
    return layer


def read_geojson(data: bytes, tmp: Path, limits: Limits, name: str) -> Layer:
    try:
        obj = json.loads(decode(data))
    except json.JSONDecodeError as exc:
        raise DataError(f"GeoJSON 格式错误：第 {exc.lineno} 行 {exc.msg}", f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    return geojson_layer(obj, limits)


# ---------------------------------------------------------------- GDAL formats

def read_kml(data: bytes, tmp: Path, limits: Limits, name: str) -> Layer:
    uploads.refuse_xml_entities(data)
    uploads.check_magic(".kml", data, name)
    path = tmp / "upload.kml"
    path.write_bytes(data)
    layer = _read_ogr_path(path, limits)
    layer.crs, layer.crs_error = 4326, None  # KML coordinates are WGS84 lon/lat by definition
    return layer


def read_kmz(data: bytes, tmp: Path, limits: Limits, name: str) -> Layer:
    zf = uploads.open_zip(data)
    members = [m for m in uploads.safe_members(zf, limits) if m.filename.lower().endswith(".kml")]
    if not members:
        raise DataError("KMZ 中没有 .kml 文件", "no .kml inside the KMZ")
    return read_kml(uploads.read_member(zf, members[0]), tmp, limits, name)


def read_gpkg(data: bytes, tmp: Path, limits: Limits, name: str) -> Layer:
    uploads.check_magic(".gpkg", data, name)
    path = tmp / "upload.gpkg"
    path.write_bytes(data)
    return _read_ogr_path(path, limits)


def read_shapefile_zip(data: bytes, tmp: Path, limits: Limits, name: str) -> Layer:
    zf = uploads.open_zip(data)
    files = uploads.extract(zf, uploads.safe_members(zf, limits), tmp, limits)
    shps = [f for f in files if f.suffix.lower() == ".shp"]
    if not shps:
        raise DataError("压缩包中没有 .shp 文件（Shapefile 需包含 .shp、.shx、.dbf，建议含 .prj）", "no .shp in the zip")
    if len(shps) > 1:
        raise DataError(f"压缩包中有 {len(shps)} 个 .shp，请每次上传一个图层", "several .shp files in one zip")
    shp = shps[0]
    uploads.check_magic(".shp", shp.read_bytes()[:4], shp.name)
    uploads.refuse_reference_files(files)

    def sibling(ext):
        return next((f for f in files if f.suffix.lower() == ext and f.stem == shp.stem), None)

    for ext in (".shx", ".dbf"):
        if sibling(ext) is None:
            raise DataError(f"Shapefile 缺少 {ext} 文件", f"the shapefile is missing its {ext} file")
    dbf, cpg = sibling(".dbf"), sibling(".cpg")
    _check_dbf(dbf)
    encoding = shapefile_encoding(dbf, cpg)
    notes = [] if cpg is not None else [f"无 .cpg 文件，属性编码判定为 {encoding}"]
    layer = _read_ogr_path(shp, limits, encoding=encoding, notes=notes)
    if sibling(".prj") is None:
        layer.crs_note = "无 .prj 文件，坐标系按坐标数值判定"
    return layer


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


CPG_ENCODINGS = {"936": "GBK", "CP936": "GBK", "GB2312": "GBK", "GBK": "GBK", "GB18030": "GB18030"}


def shapefile_encoding(dbf: Path, cpg: Path | None) -> str:
    """.cpg if present; else the DBF language byte (0x4D = cp936); else UTF-8 if it decodes, else GBK."""
    if cpg is not None:
        name = cpg.read_text(errors="ignore").strip().upper()
        return CPG_ENCODINGS.get(name, name or "UTF-8")
    raw = dbf.read_bytes()
    if len(raw) > 29 and raw[29] == 0x4D:
        return "GBK"
    try:
        raw[32:].decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GBK"


def _missing(value) -> bool:
    """None, NaN or NaT: an attribute the feature does not have."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and arrays: present
        return False


def _read_ogr_path(path: Path, limits: Limits, encoding: str | None = None, notes=()) -> Layer:
    try:
        layers = pyogrio.list_layers(path)
        if len(layers) == 0:
            raise DataError("文件中没有图层", "no layer in the file")
        kwargs = {"encoding": encoding} if encoding else {}
        gdf = pyogrio.read_dataframe(path, layer=layers[0][0], force_2d=True, **kwargs)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 -- GDAL reports corrupt input through several exception types
        raise DataError("文件无法读取（格式损坏或不完整），请重新导出后上传", f"the file cannot be read: {str(exc)[:160]}") from None
    if len(gdf) == 0:
        raise DataError("文件中没有要素", "no features in the file")
    _check_count(len(gdf), limits)
    layer = Layer([])
    if gdf.crs is not None:
        try:
            layer.crs = epsg_of(gdf.crs)
        except DataError as exc:
            layer.crs_error = exc
    for i, (geom, (_, row)) in enumerate(zip(gdf.geometry, gdf.drop(columns="geometry").iterrows()), 1):
        props = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items() if not _missing(v)}
        layer.features.append(Feature(geom, f"第 {i} 个要素", props, list(notes)))
    return layer


# ---------------------------------------------------------------- CSV and TXT

LON_COLUMNS = ("lon", "lng", "longitude", "经度", "x")
LAT_COLUMNS = ("lat", "latitude", "纬度", "y")


def read_csv(data: bytes, tmp: Path, limits: Limits, name: str) -> Layer:
    try:
        rows = list(csv.DictReader(io.StringIO(decode(data))))
    except csv.Error as exc:
        raise DataError(f"CSV 格式错误：{exc}", f"malformed CSV: {exc}") from None
    if not rows:
        raise DataError("CSV 中没有数据行", "the CSV has no rows")
    cols = {c.strip().lower(): c for c in rows[0] if c}
    lon = next((cols[c] for c in LON_COLUMNS if c in cols), None)
    lat = next((cols[c] for c in LAT_COLUMNS if c in cols), None)
    if not lon or not lat:
        raise DataError("CSV 须有经度、纬度两列（lon/lat、经度/纬度 或 x/y）", "the CSV needs lon and lat columns")
    _check_count(len(rows), limits, "点数")
    layer = Layer([])
    for i, r in enumerate(rows, 2):
        try:
            x, y = float(r[lon]), float(r[lat])
        except (TypeError, ValueError):
            raise DataError(f"CSV 第 {i} 行坐标不是数字", f"CSV row {i}: coordinates are not numbers") from None
        layer.features.append(Feature(shapely.Point(x, y), f"CSV 第 {i} 行", r))
    return layer


def read_txt(data: bytes, tmp: Path, limits: Limits, name: str) -> Layer:
    """界址点坐标 TXT: the zone from 带号/几度分带 in the header or the eastings' zone prefix."""
    parsed = jzd_txt.parse(decode(data))
    _check_count(len(parsed.parcels), limits, "地块数")
    band = re.sub(r"\D", "", parsed.header.get("带号", ""))
    width_text = parsed.header.get("几度分带", "").strip()
    width = 6 if width_text.startswith("6") else 3 if width_text.startswith("3") else None
    eastings = [e for p in parsed.parcels for ring in p.rings.values() for e, _ in ring]
    layer = Layer([])
    try:
        layer.crs = gk_crs_of(eastings, int(band) if band else None, width)
    except DataError as exc:
        layer.crs_error = exc
    coord_sys = parsed.header.get("坐标系", "")
    if coord_sys and "2000" not in coord_sys and layer.crs_error is None:
        layer.crs_error = DataError(f"界址点文件坐标系为“{coord_sys[:40]}”，请在 crs 参数中给出对应的 EPSG 代码",
                                    f"the TXT declares {coord_sys[:40]}; give its EPSG code as crs")
    for parcel in parsed.parcels:
        geom = jzd_txt.parcel_geometry(parcel)  # adds the parcel's repair notes
        layer.features.append(Feature(geom, f"地块“{parcel.name}”", {"name": parcel.name}, parsed.notes + parcel.notes,
                                      parcel.stated_area_ha))
    return layer


def typed_coordinates(text: str, limits: Limits = DEFAULT_LIMITS) -> Layer:
    """Typed coordinates: GeoJSON, or one 'x,y' pair per line (1 pair: point; ≥3: polygon)."""
    text = text.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"GeoJSON 格式错误：{exc.msg}", f"invalid JSON: {exc.msg}") from None
        return geojson_layer(obj, limits)
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
    return Layer([Feature(geom, "输入的坐标")])


# ---------------------------------------------------------------- dispatch

Reader = Callable[[bytes, Path, Limits, str], Layer]
READERS: dict[str, Reader] = {
    ".geojson": read_geojson, ".json": read_geojson, ".kml": read_kml, ".kmz": read_kmz, ".gpkg": read_gpkg,
    ".zip": read_shapefile_zip, ".csv": read_csv, ".txt": read_txt,
}


def reader_for(filename: str) -> Reader:
    ext = PurePosixPath(filename.lower()).suffix
    if ext not in READERS:
        raise UnsupportedFormatError(
            f"不支持的文件类型“{ext or '无扩展名'}”（支持 GeoJSON、KML、KMZ、GeoPackage、Shapefile 压缩包 .zip、CSV、界址点 TXT）",
            f"unsupported file type {ext!r}")
    return READERS[ext]


def read_upload(filename: str, data: bytes, tmp: Path, limits: Limits = DEFAULT_LIMITS) -> Layer:
    """The features of an uploaded file, its temporary files written under tmp."""
    return reader_for(filename)(data, tmp, limits, filename)
