"""Format readers: the features of a GeoJSON, KML/KMZ, GeoPackage, zipped Shapefile, CSV of
points or parcel vertices, 界址点坐标 TXT or typed coordinates, in the file's own coordinates.

A reader says what CRS the file declares (a .prj, a GeoJSON crs member, a TXT 带号) and
nothing more: detecting a CRS from coordinates and converting is geo.crs's, making sites
is geo.sites'. Every upload passes geo.uploads' checks before GDAL sees a byte of it.

A reader reads the whole file: every layer of a GeoPackage, every Placemark of a KML/KMZ in
every Document and Folder at any depth. What it cannot turn into a geometry (a Placemark
without one, a 3-D model, a network link, a GeoJSON feature without geometry) is listed in
Layer.skipped with the reason, never dropped without a word; a file in which nothing at all
can be read is refused with the first of those reasons.
"""
from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import shape

from geo import jzd_txt, uploads
from geo.crs import CHINA_LONLAT, NORTHING_RANGE, UNPREFIXED_EASTING, ZONE_PREFIX_UNIT, crs_label, epsg_of, gk_crs_of, parse_crs
from geo.errors import DataError, UnsupportedFormatError
from geo.uploads import DEFAULT_LIMITS, Limits


@dataclass
class Feature:
    geometry: object  # shapely, in the file's coordinates
    what: str  # how messages name it: 第 3 个要素, CSV 第 4 行, 地块“…”, 地标“…”（文件夹 A/B）
    properties: dict = field(default_factory=dict)  # attributes as read (untrusted text)
    notes: list[str] = field(default_factory=list)
    stated_area_ha: float | None = None
    stated_area_check: dict | None = None  # 界址点 TXT: jzd_txt.stated_area_check against the plane area


@dataclass
class Skipped:
    """A part of the file that is not screened, and why (error.message_zh names the part)."""

    error: DataError

    def text(self) -> str:
        return f"{self.error.message_zh}（未参与初筛） / {self.error.message_en} (not screened)"


@dataclass
class Layer:
    features: list[Feature]
    crs: int | str | None = None  # what the file declares; None leaves it to detect_crs
    crs_note: str | None = None  # said when the file's own CRS is used
    crs_error: DataError | None = None  # raised when the file's own CRS would be used: it declares one that cannot be
    skipped: list[Skipped] = field(default_factory=list)

    def skip(self, message_zh: str, message_en: str):
        self.skipped.append(Skipped(DataError(message_zh, message_en)))


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
        raise DataError(f"{unit} {n} 超过上限 {limits.max_features}{limits.raised_by('FEATURES')}",
                        f"{n} features exceed the limit {limits.max_features}{limits.raised_by_en('FEATURES')}")


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


DATAV_NOTE = ("JSON 顶层为 Feature 数组（DataV/高德等导出格式），已按 FeatureCollection 读取；这类数据常为 GCJ-02 坐标，如是请指定坐标系 GCJ02"
              " / a bare array of Features (DataV/AMap export) read as a FeatureCollection; such data is often GCJ-02")


def _geojson_members(obj) -> tuple[list[tuple[object, dict]], list[str]]:
    """(geometry, properties) pairs from a geometry, Feature, FeatureCollection or a bare array of
    Features (DataV/高德 exports), and notes on how it was read."""
    if isinstance(obj, list):
        bad = next((i for i, f in enumerate(obj, 1) if not (isinstance(f, dict) and f.get("type") == "Feature")), None)
        if bad is not None or not obj:
            raise DataError("不是 GeoJSON：顶层为数组时须为 Feature 数组（DataV/高德导出格式）" + (f"，第 {bad} 项不是 Feature" if bad else ""),
                            "not GeoJSON: a top-level array must be an array of Features" + (f" (item {bad} is not)" if bad else ""))
        return [(f.get("geometry"), _props(f)) for f in obj], [DATAV_NOTE]
    if not isinstance(obj, dict) or "type" not in obj:
        raise DataError("不是 GeoJSON：缺少 type", "not GeoJSON: no 'type' member")
    t = obj["type"]
    if t == "FeatureCollection":
        feats = obj.get("features") or []
        if not isinstance(feats, list):
            raise DataError("FeatureCollection 的 features 须为数组", "FeatureCollection.features must be an array")
        return [(f.get("geometry"), _props(f)) if isinstance(f, dict) else (None, {}) for f in feats], []
    if t == "Feature":
        return [(obj.get("geometry"), _props(obj))], []
    return [(obj, {})], []


def geojson_layer(obj, limits: Limits = DEFAULT_LIMITS) -> Layer:
    """A parsed GeoJSON object (a geometry, Feature, FeatureCollection or an array of Features)."""
    members, notes = _geojson_members(obj)
    if not members:
        raise DataError("GeoJSON 中没有要素", "the GeoJSON has no features")
    _check_count(len(members), limits)
    layer = _geojson_crs(obj) if isinstance(obj, dict) else Layer([])
    for i, (geometry, props) in enumerate(members, 1):
        what = f"第 {i} 个要素" + (f"“{str(props['name'])[:40]}”" if props.get("name") else "")
        if not isinstance(geometry, dict):
            layer.skip(f"{what}没有几何", f"feature {i} has no geometry")
            continue
        try:
            geom = shape(geometry)
        except Exception as exc:  # noqa: BLE001 -- shapely raises several types on malformed coordinates
            layer.skip(f"{what}的几何无法解析：{str(exc)[:80]}", f"feature {i}: malformed geometry ({str(exc)[:80]})")
            continue
        closed = ["多边形环未闭合，已自动闭合 / unclosed ring closed"] if _unclosed_rings(geometry) else []
        layer.features.append(Feature(geom, what, props, notes + closed))
    return layer


def read_geojson(data: bytes, tmp: Path, limits: Limits, name: str) -> Layer:
    try:
        obj = json.loads(decode(data))
    except json.JSONDecodeError as exc:
        raise DataError(f"GeoJSON 格式错误：第 {exc.lineno} 行 {exc.msg}", f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise DataError("GeoJSON 嵌套层数过多，无法读取", "the GeoJSON is nested too deeply to read") from None
    return geojson_layer(obj, limits)


# ---------------------------------------------------------------- GDAL formats

KML_NAMESPACES = ("http://www.opengis.net/kml/2.2", "http://earth.google.com/kml/2.0", "http://earth.google.com/kml/2.1",
                  "http://earth.google.com/kml/2.2", "http://www.google.com/kml/ext/2.2", "")
KML_CONTAINERS = ("Document", "Folder")
KML_NOT_GEOMETRY = {"NetworkLink": ("网络链接（NetworkLink，不读取其指向的文件或网址）", "a network link (never followed)"),
                    "GroundOverlay": ("地面叠加图片（GroundOverlay）", "a ground overlay image"),
                    "ScreenOverlay": ("屏幕叠加图片（ScreenOverlay）", "a screen overlay image"),
                    "PhotoOverlay": ("照片叠加（PhotoOverlay）", "a photo overlay")}
PART_LABELS = {2: ("面", "polygon"), 1: ("线", "line"), 0: ("点", "point")}
KML_FEATURES = (*KML_CONTAINERS, "Placemark", *KML_NOT_GEOMETRY)  # what a Document or Folder holds that is read


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(elem, name: str):
    return next((c for c in elem if _local(c.tag) == name), None)


def _text(elem, name: str) -> str:
    c = _child(elem, name)
    return (c.text or "").strip() if c is not None else ""


def _kml_coords(text: str | None) -> list[tuple[float, float]]:
    """'lon,lat[,alt] lon,lat[,alt] …' (writers also put spaces after the commas)."""
    tuples = re.sub(r"\s*,\s*", ",", (text or "").strip()).split()
    out = []
    for t in tuples:
        parts = [v for v in t.split(",") if v != ""]
        if len(parts) < 2:
            raise ValueError(t[:40])
        out.append((float(parts[0]), float(parts[1])))
    return out


def _kml_geometries(elem, depth: int = 0) -> tuple[list, list[str]]:
    """The shapely parts of a KML geometry element (MultiGeometry flattened) and what was not a
    geometry that can be screened."""
    kind = _local(elem.tag)
    if depth > 32:
        return [], ["MultiGeometry 嵌套过深 / MultiGeometry nested too deep"]
    try:
        if kind == "Point":
            pts = _kml_coords(_text(elem, "coordinates"))
            return ([shapely.Point(pts[0])], []) if pts else ([], ["点没有坐标 / point without coordinates"])
        if kind in ("LineString", "LinearRing"):
            pts = _kml_coords(_text(elem, "coordinates"))
            if len(set(pts)) < 2:
                return [], ["路径少于 2 个不同的点 / path with fewer than 2 distinct points"]
            return [shapely.LineString(pts)], []
        if kind == "Polygon":
            rings = []
            for boundary in ("outerBoundaryIs", "innerBoundaryIs"):
                for b in (c for c in elem if _local(c.tag) == boundary):
                    ring = _child(b, "LinearRing")
                    rings.append((boundary, _kml_coords(_text(ring, "coordinates")) if ring is not None else []))
            outer = [r for b, r in rings if b == "outerBoundaryIs"]
            if not outer or len(set(outer[0])) < 3:
                return [], ["多边形外环少于 3 个点 / polygon whose outer ring has fewer than 3 points"]
            holes = [r for b, r in rings if b == "innerBoundaryIs" and len(set(r)) >= 3]
            return [shapely.Polygon(outer[0], holes)], []
        if kind == "Track":  # gx:Track: <gx:coord>lon lat alt</gx:coord> …
            pts = [tuple(float(v) for v in (c.text or "").split()[:2]) for c in elem if _local(c.tag) == "coord"]
            pts = [p for p in pts if len(p) == 2]
            if len(set(pts)) < 2:
                return [], ["轨迹少于 2 个点 / track with fewer than 2 points"]
            return [shapely.LineString(pts)], []
    except ValueError as exc:
        return [], [f"{kind} 的坐标不是数字（{str(exc)[:40]}） / {kind} coordinates are not numbers"]
    if kind in ("MultiGeometry", "MultiTrack"):
        parts, skipped = [], []
        for c in elem:
            if _local(c.tag) in KML_GEOMETRY_TAGS:
                p, s = _kml_geometries(c, depth + 1)
                parts += p
                skipped += s
        return parts, skipped
    if kind == "Model":
        return [], ["三维模型（Model）无法初筛 / a 3-D model cannot be screened"]
    return [], [f"几何类型 {kind} 无法初筛 / geometry type {kind} cannot be screened"]


KML_GEOMETRY_TAGS = ("Point", "LineString", "LinearRing", "Polygon", "MultiGeometry", "Model", "Track", "MultiTrack")


def _kml_properties(placemark, name: str, folders: list[str]) -> dict:
    props = {"name": name} if name else {}
    if folders:
        props["folder"] = "/".join(folders)
    desc = _text(placemark, "description")
    if desc:
        props["description"] = desc
    ext = _child(placemark, "ExtendedData")
    if ext is not None:
        for el in ext.iter():
            tag = _local(el.tag)
            if tag == "Data" and el.get("name"):
                props.setdefault(el.get("name"), _text(el, "value"))
            elif tag == "SimpleData" and el.get("name"):
                props.setdefault(el.get("name"), (el.text or "").strip())
    return props


def kml_layer(data: bytes, limits: Limits, name: str, source: str = "", require: bool = True) -> Layer:
    """Every Placemark of a KML document, in every Document and Folder at any depth.

    A safe XML walk (DOCTYPE and entities refused first, the root must be <kml>): GDAL's KML
    drivers report each folder as a separate layer and would read only the first. A Placemark's
    parts are grouped by dimension, each group one feature: polygons, lines (LineString,
    LinearRing, gx:Track) and points, so a MultiGeometry of a parcel and its label point gives
    a parcel and a point. The folder path is kept in `what` and properties["folder"].
    """
    uploads.refuse_xml_entities(data)
    uploads.check_magic(".kml", data, name)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else "?"
        raise DataError(f"{name[:60]} 不是有效的 KML（XML 第 {line} 行格式错误）", f"{name[:60]} is not valid KML XML (line {line})") from None
    if _local(root.tag) != "kml":
        raise DataError(f"{name[:60]} 不是 KML 文件（根元素为 {_local(root.tag)[:40]}，应为 kml）",
                        f"{name[:60]} is not KML (root element {_local(root.tag)[:40]!r})")
    layer = Layer([], crs=4326)  # KML coordinates are WGS84 lon/lat by definition
    prefix = f"{source}：" if source else ""
    n_placemarks = 0
    stack = [(root, [])]  # explicit stack: folders nested thousands deep cannot exhaust recursion
    while stack:
        elem, folders = stack.pop()
        tag = _local(elem.tag)
        if tag in KML_CONTAINERS or elem is root:
            label = _text(elem, "name")[:60] or ("文件夹" if tag == "Folder" else "")
            inner = folders + [label] if label and elem is not root else folders
            stack += [(child, inner) for child in reversed(list(elem)) if _local(child.tag) in KML_FEATURES]  # reversed: document order
            continue
        if tag in KML_NOT_GEOMETRY:
            zh, en = KML_NOT_GEOMETRY[tag]
            where = f"（{'/'.join(folders)}）" if folders else ""
            label = _text(elem, "name")[:40]
            layer.skip(f"{prefix}{zh}{f'“{label}”' if label else ''}{where}不是可初筛的几何",
                       f"{prefix}{en} {label!r} is not a geometry that can be screened")
            continue
        n_placemarks += 1
        pm_name = _text(elem, "name")
        where = f"（{'/'.join(folders)}）" if folders else ""
        what = f"{prefix}地标“{pm_name[:60]}”{where}" if pm_name else f"{prefix}第 {n_placemarks} 个地标{where}"
        what_en = f"placemark {pm_name[:60]!r}" if pm_name else f"placemark {n_placemarks}"
        geoms = [c for c in elem if _local(c.tag) in KML_GEOMETRY_TAGS]
        if not geoms:
            layer.skip(f"{what}没有几何（只有名称或说明）", f"{what_en} has no geometry")
            continue
        parts, reasons = [], []
        for g in geoms:
            p, r = _kml_geometries(g)
            parts += p
            reasons += r
        for r in reasons:
            zh, _, en = r.partition(" / ")
            if parts:
                layer.skip(f"{what}的一部分：{zh}", f"part of {what_en}: {en or zh}")
            else:
                layer.skip(f"{what}：{zh}", f"{what_en}: {en or zh}")
        props = _kml_properties(elem, pm_name, folders)
        by_dim = {}
        for part in parts:
            by_dim.setdefault(shapely.get_dimensions(part), []).append(part)
        for dim in sorted(by_dim, reverse=True):
            group = by_dim[dim]
            geom = group[0] if len(group) == 1 else (shapely.MultiPolygon(group) if dim == 2 else
                                                      shapely.MultiLineString(group) if dim == 1 else shapely.MultiPoint(group))
            label = f"{what}的{PART_LABELS[dim][0]}部分" if len(by_dim) > 1 else what
            notes = ([f"该地标同时含{'、'.join(PART_LABELS[d][0] for d in sorted(by_dim, reverse=True))}，按几何类型分别初筛"
                      f" / the placemark mixes {', '.join(PART_LABELS[d][1] for d in sorted(by_dim, reverse=True))}: screened separately"]
                     if len(by_dim) > 1 else [])
            layer.features.append(Feature(geom, label, dict(props), notes))
    if require and n_placemarks == 0 and not layer.skipped:
        raise DataError(f"{prefix}KML 中没有地标（Placemark）", "no Placemark in the KML")
    _check_count(len(layer.features), limits)
    return layer


def read_kml(data: bytes, tmp: Path, limits: Limits, name: str) -> Layer:
    return kml_layer(data, limits, name)


def read_kmz(data: bytes, tmp: Path, limits: Limits, name: str) -> Layer:
    """Every .kml in the archive (doc.kml first), each read completely."""
    zf = uploads.open_zip(data)
    members = [m for m in uploads.safe_members(zf, limits) if m.filename.lower().endswith(".kml")]
    if not members:
        raise DataError("KMZ 中没有 .kml 文件", "no .kml inside the KMZ")
    members.sort(key=lambda m: (PurePosixPath(m.filename).name.lower() != "doc.kml", m.filename.count("/"), m.filename))
    out = Layer([], crs=4326)
    for m in members:
        part = kml_layer(uploads.read_member(zf, m), limits, m.filename, m.filename if len(members) > 1 else "",
                         require=len(members) == 1)
        out.features += part.features
        out.skipped += part.skipped
    if not out.features and not out.skipped:
        raise DataError("KMZ 中没有地标（Placemark）", "no Placemark in the KMZ")
    _check_count(len(out.features), limits)
    return out


def read_gpkg(data: bytes, tmp: Path, limits: Limits, name: str) -> Layer:
    uploads.check_magic(".gpkg", data, name)
    path = tmp / "upload.gpkg"
    path.write_bytes(data)
    uploads.check_gpkg(path, name)
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
    others = [f.name for f in files if f != shp and not f.name.lower().endswith(uploads.SHAPEFILE_SIDECARS)]
    if others:  # ArcGIS sidecars (.shp.xml, .sbn, …) are expected and not mentioned; anything else is said
        notes.append(f"压缩包中的其他文件未读取：{'、'.join(o[:40] for o in others[:5])}{' 等' if len(others) > 5 else ''}"
                     " / other files in the archive were not read")
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


CPG_ENCODINGS = {"936": "GBK", "CP936": "GBK", "ANSI 936": "GBK", "GB2312": "GBK", "GBK": "GBK", "GB18030": "GB18030",
                 "65001": "UTF-8", "UTF8": "UTF-8", "UTF-8": "UTF-8"}


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


GPKG_METADATA_TABLES = {"layer_styles", "qgis_projects"}  # QGIS's own tables: not data


def _read_ogr_path(path: Path, limits: Limits, encoding: str | None = None, notes=()) -> Layer:
    """Every layer with geometry (a GeoPackage may hold several); tables without geometry are listed as skipped."""
    layer = Layer([])
    kwargs = {"encoding": encoding} if encoding else {}
    try:
        listed = pyogrio.list_layers(path)
        if len(listed) == 0:
            raise DataError("文件中没有图层", "no layer in the file")
        spatial = [str(n) for n, g in listed if g is not None]
        for n, g in listed:
            if g is None and str(n) not in GPKG_METADATA_TABLES:
                layer.skip(f"表“{str(n)[:40]}”没有几何列", f"table {str(n)[:40]!r} has no geometry column")
        frames = [(n, pyogrio.read_dataframe(path, layer=n, force_2d=True, **kwargs)) for n in spatial]
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 -- GDAL reports corrupt input through several exception types
        raise DataError("文件无法读取（格式损坏或不完整），请重新导出后上传", f"the file cannot be read: {str(exc)[:160]}") from None
    total = sum(len(gdf) for _, gdf in frames)
    if total == 0:
        if layer.skipped:
            raise DataError("文件中没有带几何的图层", "no layer with geometry in the file")
        raise DataError("文件中没有要素", "no features in the file")
    _check_count(total, limits)
    epsgs = {}
    for lname, gdf in frames:
        if gdf.crs is not None and len(gdf):
            try:
                epsgs[lname] = epsg_of(gdf.crs)
            except DataError as exc:
                layer.crs_error = exc
    if len(set(epsgs.values())) > 1:
        said = "、".join(f"{n}（EPSG:{e}）" for n, e in list(epsgs.items())[:4])
        raise DataError(f"文件中各图层的坐标系不同：{said}，请分图层上传", f"the layers use different CRSs ({said}); upload them separately")
    if epsgs and layer.crs_error is None:
        layer.crs = next(iter(epsgs.values()))
    several = sum(1 for _, gdf in frames if len(gdf)) > 1
    for lname, gdf in frames:
        attrs = gdf.drop(columns="geometry")
        for i, (geom, (_, row)) in enumerate(zip(gdf.geometry, attrs.iterrows()), 1):
            what = f"图层“{lname[:40]}”第 {i} 个要素" if several else f"第 {i} 个要素"
            if geom is None:
                layer.skip(f"{what}没有几何", f"feature {i}{f' of layer {lname[:40]!r}' if several else ''} has no geometry")
                continue
            props = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items() if not _missing(v)}
            layer.features.append(Feature(geom, what, props, list(notes)))
    return layer


# ---------------------------------------------------------------- CSV and TXT

CSV_MODE_WORDS = {"": None, "auto": None, "自动": None, "自动判断": None,
                  "points": "points", "point": "points", "点位": "points", "每行一个点位": "points",
                  "parcel": "parcel", "polygon": "parcel", "地块": "parcel", "各行为一个地块的拐点": "parcel"}
# (kind, first-axis names, second-axis names), compared after _column_key: lower case, no spaces,
# no bracketed unit. "lonlat" and "en" say what each column is; "xy" is decided by magnitude:
# the Chinese survey order 点号,X,Y has X = northing, GIS files have x = easting or longitude.
COORD_COLUMNS = (
    ("lonlat", ("经度", "lon", "lng", "long", "longitude", "东经", "经度x"), ("纬度", "lat", "latitude", "北纬", "纬度y")),
    ("en", ("东坐标", "东", "e", "east", "easting", "横坐标", "东坐标y", "y东", "东y"),
     ("北坐标", "北", "n", "north", "northing", "纵坐标", "北坐标x", "x北", "北x")),
    ("xy", ("x", "x坐标", "坐标x", "xcoord", "pointx"), ("y", "y坐标", "坐标y", "ycoord", "pointy")),
)
GROUP_COLUMNS = ("地块号", "地块编号", "地块", "宗地号", "宗地编号", "宗地代码", "图斑号", "图斑编号", "parcel", "parcelid", "parcelno", "dkbh")
RING_COLUMNS = ("圈号", "环号", "ring", "ringno", "ringid")
PARCEL_NAME_COLUMNS = ("地块名称", "名称", "name", "项目名称", "xmmc", "dkmc")


def parse_csv_mode(value) -> str | None:
    """csv_mode: "points" (every row a point), "parcel" (the rows are the vertices of one parcel,
    or of one parcel per 地块/圈号 group) or None / "auto" (guessed, and said in the site notes)."""
    if value is None:
        return None
    key = str(value).strip().lower() if isinstance(value, str) else None
    if key not in CSV_MODE_WORDS:
        raise DataError(f"csv_mode 只能是 auto（自动判断）、points（每行一个点位）或 parcel（各行为一个地块的拐点），收到：{str(value)[:40]}",
                        f"csv_mode must be auto, points or parcel, got {str(value)[:40]!r}")
    return CSV_MODE_WORDS[key]


def _column_key(name: str) -> str:
    key = name.strip().lstrip("\ufeff").lower()
    key = re.sub(r"[（(\[【].*?[)）\]】]", "", key)
    return re.sub(r"[\s_\-]", "", key)


def _lonlat_ok(x: np.ndarray, y: np.ndarray) -> bool:
    return bool(((CHINA_LONLAT[0] <= x) & (x <= CHINA_LONLAT[2]) & (CHINA_LONLAT[1] <= y) & (y <= CHINA_LONLAT[3])).all())


def _northing_ok(v: np.ndarray) -> bool:
    return bool(((NORTHING_RANGE[0] <= v) & (v <= NORTHING_RANGE[1])).all())


def _easting_ok(v: np.ndarray) -> bool:
    """Eastings with no zone prefix (100–900 km) or with one of China's 3°/6° zone numbers (13–45)."""
    zone, rest = np.divmod(v, ZONE_PREFIX_UNIT)
    prefixed = (13 <= zone) & (zone <= 45) & (UNPREFIXED_EASTING[0] <= rest) & (rest <= UNPREFIXED_EASTING[1])
    plain = (UNPREFIXED_EASTING[0] <= v) & (v <= UNPREFIXED_EASTING[1])
    return bool((prefixed | plain).all())


def _orient(kind: str, a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray, str | None]:
    """(x = easting or longitude, y = northing or latitude, note) from the two coordinate columns."""
    na, nb = names
    if kind == "lonlat":
        if not _lonlat_ok(a, b) and _lonlat_ok(b, a):
            return b, a, f"“{na}”“{nb}”两列的数值互换（经度应在 73–136 之间），已按数值纠正 / longitude and latitude columns swapped; corrected"
        return a, b, None
    if kind == "en":
        if _northing_ok(a) and _easting_ok(b) and not (_easting_ok(a) and _northing_ok(b)):
            return b, a, f"“{na}”列为北坐标、“{nb}”列为东坐标（两列互换），已按数值纠正 / east and north columns swapped; corrected"
        return a, b, None
    if _lonlat_ok(a, b):
        return a, b, None  # x, y = longitude, latitude: nothing to say
    if _northing_ok(a) and _easting_ok(b):
        return b, a, (f"“{na}”列为北坐标、“{nb}”列为东坐标（测量坐标顺序：点号,X,Y，X 为北），已按此读取"
                      " / survey order: X is the northing, Y the easting")
    if _easting_ok(a) and _northing_ok(b):
        return a, b, f"“{na}”列为东坐标、“{nb}”列为北坐标 / X is the easting, Y the northing"
    if _lonlat_ok(b, a):
        return b, a, f"“{na}”列为纬度、“{nb}”列为经度，已按此读取 / X is the latitude, Y the longitude"
    return a, b, None


def _csv_number(text, row: int) -> float:
    try:
        value = float(str(text).strip())
    except (TypeError, ValueError):
        raise DataError(f"CSV 第 {row} 行坐标不是数字", f"CSV row {row}: coordinates are not numbers") from None
    if not np.isfinite(value):
        raise DataError(f"CSV 第 {row} 行坐标不是有限数值", f"CSV row {row}: coordinates are not finite numbers")
    return value


def read_csv(data: bytes, tmp: Path, limits: Limits, name: str, csv_mode: str | None = None) -> Layer:
    """Points (one a row) or parcels (the rows are the vertices of one parcel, or of one parcel per
    地块/圈号 group), in lon/lat or plane coordinates under any common header spelling."""
    try:
        reader = csv.DictReader(io.StringIO(decode(data)))
        rows = [(i, {k: v for k, v in r.items() if isinstance(k, str)}) for i, r in enumerate(reader, 2)]
    except csv.Error as exc:
        raise DataError(f"CSV 格式错误：{exc}", f"malformed CSV: {exc}") from None
    rows = [(i, r) for i, r in rows if any(isinstance(v, str) and v.strip() for v in r.values())]  # blank rows (,,) from spreadsheets
    if not rows or not reader.fieldnames:
        raise DataError("CSV 中没有数据行", "the CSV has no rows")
    cols = {}
    for c in reader.fieldnames:
        if c:
            cols.setdefault(_column_key(c), c)
    found = next(((kind, cols[a], cols[b]) for kind, xs, ys in COORD_COLUMNS
                  for a in xs if a in cols for b in ys if b in cols), None)
    if found is None:
        raise DataError("CSV 须有两列坐标：经度、纬度（lon/lat），或东坐标、北坐标（E/N），或 X、Y（测量坐标 X 为北）",
                        "the CSV needs two coordinate columns: lon/lat, east/north (E/N) or X/Y")
    kind, col_a, col_b = found
    a = np.array([_csv_number(r.get(col_a), i) for i, r in rows])
    b = np.array([_csv_number(r.get(col_b), i) for i, r in rows])
    xs, ys, axis_note = _orient(kind, a, b, (col_a.strip(), col_b.strip()))
    layer = Layer([])
    if not (_lonlat_ok(xs, ys) or (_easting_ok(xs) and _northing_ok(ys))):
        bad = next(n for n in range(len(rows)) if not (_lonlat_ok(xs[n:n + 1], ys[n:n + 1]) or
                                                       (_easting_ok(xs[n:n + 1]) and _northing_ok(ys[n:n + 1]))))
        layer.crs_error = DataError(
            f"CSV 的坐标列（{col_a.strip()}、{col_b.strip()}）取值既不是中国范围内的经度、纬度，也不是高斯-克吕格平面坐标"
            f"（第 {rows[bad][0]} 行：{a[bad]:g}, {b[bad]:g}）；请检查列名与数值，或在 crs 参数中给出坐标系",
            f"the CSV columns {col_a.strip()!r}, {col_b.strip()!r} hold neither lon/lat in China nor Gauss-Krüger coordinates "
            f"(row {rows[bad][0]}: {a[bad]:g}, {b[bad]:g}); check them or give the CRS")
    key_cols = {_column_key(c): c for c in reader.fieldnames if c}
    group_col = next((key_cols[k] for k in GROUP_COLUMNS if k in key_cols), None)
    ring_col = next((key_cols[k] for k in RING_COLUMNS if k in key_cols), None)
    name_col = next((key_cols[k] for k in PARCEL_NAME_COLUMNS if k in key_cols), None)
    pts = list(zip(xs.tolist(), ys.tolist()))
    groups: dict[str, list[int]] = {}
    for n, (_, r) in enumerate(rows):
        groups.setdefault(str(r.get(group_col) or "").strip() if group_col else "", []).append(n)
    mode, how = csv_mode, None
    if mode is None:
        by = "、".join(f"“{c.strip()}”" for c in (group_col, ring_col) if c)
        if by and any(len({pts[n] for n in members}) >= 3 for members in groups.values()):
            mode, how = "parcel", (f"按{by}列分组，每组各行为一个地块的拐点（自动判断；如各行为独立点位，请选择“每行一个点位” / csv_mode=points）"
                                   f" / rows grouped by {by} into parcels (guessed; csv_mode=points reads them as points)")
        elif len(pts) >= 4 and pts[0] == pts[-1] and len(set(pts)) >= 3:
            mode, how = "parcel", ("末行与首行坐标相同（闭合），判定为一个地块的各拐点（自动判断；如为独立点位，请选择“每行一个点位” / csv_mode=points）"
                                   " / the last row repeats the first: read as the vertices of one parcel (guessed)")
        else:
            mode = "points"
            if len(pts) >= 3:
                how = ("每行按一个点位处理（自动判断：首末行不闭合，也没有地块/圈号列；如各行为一个地块的拐点，请选择“各行为一个地块的拐点” / csv_mode=parcel）"
                       " / each row read as a point (guessed; csv_mode=parcel reads the rows as one parcel)")
    else:
        how = ("按所选方式：每行一个点位 / each row a point, as chosen" if mode == "points" else
               "按所选方式：各行为一个地块的拐点" + (f"（按“{group_col.strip()}”列分组）" if group_col else "") + " / rows are parcel vertices, as chosen")
    notes = [n for n in (axis_note, how) if n]
    if mode == "points":
        _check_count(len(rows), limits, "点数")
        for (i, r), pt in zip(rows, pts):
            layer.features.append(Feature(shapely.Point(pt), f"CSV 第 {i} 行", r, list(notes)))
        return layer
    _check_count(len(groups), limits, "地块数")
    for key, members in groups.items():
        first = rows[members[0]][1]
        label = str(first.get(name_col) or "").strip() if name_col else ""
        label = label or ((f"地块 {key}" if key.isdigit() else key) if group_col else "")
        what = f"CSV 地块“{label[:60]}”" if label else "CSV 各行组成的地块"
        rings: dict[int, list[tuple[float, float]]] = {}
        try:
            for n in members:
                i, r = rows[n]
                ring = 1
                if ring_col:
                    ring_text = str(r.get(ring_col) or "1").strip()
                    if not re.fullmatch(r"\d{1,5}", ring_text) or int(ring_text) < 1:
                        raise DataError(f"CSV 第 {i} 行：圈号应为正整数", f"CSV row {i}: the ring number must be a positive integer")
                    ring = int(ring_text)
                rings.setdefault(ring, []).append(pts[n])
            parcel = jzd_txt.Parcel(name=label or "CSV 地块", number=key, stated_area_ha=None, rings=rings)
            geom = jzd_txt.parcel_geometry(parcel, limits.repair_budget_s)
        except DataError as exc:
            layer.skipped.append(Skipped(DataError(f"{what}：{exc.message_zh}", exc.message_en)))
            continue
        props = {"name": label} if label else {}
        if group_col:
            props[group_col.strip()] = key
        layer.features.append(Feature(geom, what, props, notes + parcel.notes))
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
    basis = "高斯-克吕格平面面积，按文件坐标" + (f"，{crs_label(layer.crs)}" if isinstance(layer.crs, int) else "")
    for parcel in parsed.parcels:
        geom = jzd_txt.parcel_geometry(parcel, limits.repair_budget_s)  # adds the parcel's repair notes
        planar = geom is not None and max(abs(v) for v in geom.bounds) > 1000  # plane metres, not degrees
        check = jzd_txt.stated_area_check(parcel.stated_area_ha, geom.area, parcel.stated_area_text, basis) if planar else None
        props = {"name": parcel.name, **({"number": parcel.number} if parcel.number else {})}
        layer.features.append(Feature(geom, f"地块“{parcel.name}”", props, parsed.notes + parcel.notes,
                                      parcel.stated_area_ha, check))
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
    if len(pts) == 2 or not pts:
        raise DataError("请输入 1 个点（点位）或至少 3 个点（面）", "give 1 point or at least 3 points")
    # the order is told by the values, as for CSV columns: 纬度,经度 or the survey order X(北),Y(东) are read the right way round
    a, b = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    x, y, note = _orient("xy", a, b, ("每行第 1 个数", "每行第 2 个数"))
    pts = list(zip(x.tolist(), y.tolist()))
    geom = shapely.Point(pts[0]) if len(pts) == 1 else shapely.Polygon(pts)
    notes = [note] if note and not note.startswith("“每行第 1 个数”列为东坐标") else []  # easting first is the expected order
    return Layer([Feature(geom, "输入的坐标", notes=[n.replace("列为", "为").replace("两列", "两个数") for n in notes])])


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


def read_upload(filename: str, data: bytes, tmp: Path, limits: Limits = DEFAULT_LIMITS, csv_mode: str | None = None) -> Layer:
    """The features of an uploaded file, its temporary files written under tmp. csv_mode (CSV
    only): "points", "parcel" or None to guess (parse_csv_mode reads what a form or API sends)."""
    reader = reader_for(filename)
    if reader is read_csv:
        return read_csv(data, tmp, limits, filename, csv_mode=parse_csv_mode(csv_mode))
    return reader(data, tmp, limits, filename)
