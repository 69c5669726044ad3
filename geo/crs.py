"""Coordinate systems used by Chinese reviewers: CGCS2000, Gauss-Krüger zones, GCJ-02 and BD-09.

CGCS2000 (EPSG:4490) and WGS84 differ by centimetres, far below the accuracy of any
plan map, so lon/lat in either is treated as the same frame. GCJ-02 (高德/腾讯) and BD-09
(百度) are obfuscated web-map systems offset by hundreds of metres; they are undone with
prcoords (the exact iterative inverse for GCJ-02).

Every zone rule lives here: which 3° and 6° zones cover China, their central meridians and
EPSG codes, how a zone number written in front of an easting is read, and what the user
interface offers (ui_rules(), plain data the templates and map script read instead of
repeating the arithmetic).
"""
from __future__ import annotations

import functools
import math
import re
import threading

import numpy as np
import prcoords
import shapely
from pyproj import CRS, Geod, Transformer
from pyproj.exceptions import CRSError

from geo.errors import DataError

GEO_EPSG = 4490
# GRS80 is the CGCS2000 ellipsoid to 1e-10 in flattening.
GEOD = Geod(ellps="GRS80")

CHINA_LONLAT = (73.0, 3.0, 136.0, 54.0)  # min lon, min lat, max lon, max lat
NORTHING_RANGE = (1.5e6, 6.0e6)  # Gauss-Krüger northings over China, metres
UNPREFIXED_EASTING = (1e5, 9e5)  # eastings without a zone number: 500 km false easting ± 400 km
ZONE_PREFIX_UNIT = 1_000_000  # a zone prefix is the easting's millions: 35 557 750 is zone 35
FALSE_EASTING = 500_000

GK3_ZONES = range(25, 46)  # 3° zones over China: central meridians 75°E–135°E
GK6_ZONES = range(13, 24)  # 6° zones over China: central meridians 75°E–135°E
# Zones of the districts served (105.3°E–110.2°E and the neighbouring zone to the west):
# offered on the screening form and listed as candidates when a central meridian is unknown.
LOCAL_GK3_ZONES = (34, 35, 36, 37)
LOCAL_GK6_ZONES = (18, 19)

WEB_SYSTEMS = {"GCJ02": "GCJ-02（高德/腾讯）", "BD09": "BD-09（百度）"}


# ---------------------------------------------------------------- zones

def gk3_zone(lon: float) -> int:
    """3° zone number whose central meridian is nearest to lon (zone 35 → 105°E)."""
    return math.floor((lon + 1.5) / 3.0)


def gk6_zone(lon: float) -> int:
    """6° zone number containing lon (zone 18 spans 102°E–108°E, central meridian 105°E)."""
    return math.floor(lon / 6.0) + 1


def central_meridian(zone: int, width: int = 3) -> int:
    """Central meridian in °E of a 3° zone (3·n) or a 6° zone (6·n − 3)."""
    return zone * 3 if width == 3 else zone * 6 - 3


def zone_width(zone: int) -> int | None:
    """3 or 6 when the zone number belongs to China's 3° or 6° zones (the ranges do not overlap)."""
    return 3 if zone in GK3_ZONES else 6 if zone in GK6_ZONES else None


def check_zone(zone: int, width: int | None = None) -> int:
    """The zone's width (3 or 6) if it is a zone over China, else a DataError naming the ranges."""
    width = width or zone_width(zone)
    if (width == 3 and zone in GK3_ZONES) or (width == 6 and zone in GK6_ZONES):
        return width
    stated = f"按 {width}° 分带；" if width in (3, 6) else ""
    raise DataError(f"带号 {zone} 不在中国范围内（{stated}3° 带 {GK3_ZONES[0]}–{GK3_ZONES[-1]}，6° 带 {GK6_ZONES[0]}–{GK6_ZONES[-1]}）",
                    f"zone {zone} is outside China (3° zones {GK3_ZONES[0]}–{GK3_ZONES[-1]}, 6° zones {GK6_ZONES[0]}–{GK6_ZONES[-1]})")


def gk3_epsg(zone: int, with_prefix: bool = True) -> int:
    """CGCS2000 3-degree Gauss-Krüger EPSG code (4513–4533 with zone prefix, 4534–4554 without)."""
    if zone not in GK3_ZONES:
        raise ValueError(f"3° zone {zone} is outside China (25–45)")
    return 4488 + zone if with_prefix else 4509 + zone


def gk6_epsg(zone: int, with_prefix: bool = True) -> int:
    """CGCS2000 6-degree Gauss-Krüger EPSG code (4491–4501 with prefix, 4502–4512 without)."""
    if zone not in GK6_ZONES:
        raise ValueError(f"6° zone {zone} is outside China (13–23)")
    return 4478 + zone if with_prefix else 4489 + zone


def gk_epsg(zone: int, width: int, with_prefix: bool = True) -> int:
    return gk3_epsg(zone, with_prefix) if width == 3 else gk6_epsg(zone, with_prefix)


def false_easting(zone: int, with_prefix: bool = True) -> int:
    return zone * ZONE_PREFIX_UNIT + FALSE_EASTING if with_prefix else FALSE_EASTING


def zone_prefix(eastings) -> int | None:
    """The zone number written in front of every easting (35 in 35 557 750), None when they carry none.

    Eastings that all carry a prefix but not the same one are an error: one site does not
    straddle two zones, so the file mixes coordinates from different projections.
    """
    eastings = np.asarray(eastings, dtype=float)
    if eastings.size == 0 or eastings.min() < 10 * ZONE_PREFIX_UNIT:
        return None
    prefixes = np.unique(eastings // ZONE_PREFIX_UNIT).astype(int)
    if len(prefixes) > 1:
        raise DataError(f"东坐标的带号前缀不一致（{'、'.join(map(str, prefixes[:5]))}），同一地块应在同一投影带内",
                        f"eastings carry different zone prefixes ({', '.join(map(str, prefixes[:5]))})")
    return int(prefixes[0])


def gk_crs_of(eastings, zone: int | None = None, width: int | None = None) -> int | None:
    """EPSG of CGCS2000 Gauss-Krüger coordinates from what a file states (zone number, 3° or 6°)
    and what its eastings carry (a zone prefix); None when neither tells the zone, which leaves
    the central meridian to detect_crs."""
    prefix = zone_prefix(eastings)
    if zone is not None and prefix is not None and zone != prefix:
        raise DataError(f"声明的带号 {zone} 与东坐标的带号前缀 {prefix} 不一致，请核对",
                        f"the stated zone {zone} differs from the eastings' zone prefix {prefix}")
    zone = zone if zone is not None else prefix
    if zone is None:
        return None
    width = check_zone(zone, width)
    return gk_epsg(zone, width, with_prefix=prefix is not None)


def gk_proj4(zone: int, width: int = 3, with_prefix: bool = True) -> str:
    """PROJ string of a CGCS2000 Gauss-Krüger zone (the ellipsoid's datum is not shifted)."""
    return (f"+proj=tmerc +lat_0=0 +lon_0={central_meridian(zone, width)} +k=1 +x_0={false_easting(zone, with_prefix)} "
            "+y_0=0 +ellps=GRS80 +units=m +no_defs")


# ---------------------------------------------------------------- transforms

_per_thread = threading.local()


def transformer(src_epsg: int, dst_epsg: int) -> Transformer:
    """Cached transformer with x/y = easting/northing or lon/lat whatever the EPSG axis order.

    Cached per thread: a pyproj Transformer must not be used by two threads at once (the
    server answers requests in parallel threads), and building one costs milliseconds.
    """
    cache = getattr(_per_thread, "transformers", None)
    if cache is None:
        cache = _per_thread.transformers = {}
    key = (src_epsg, dst_epsg)
    if key not in cache:
        cache[key] = Transformer.from_crs(src_epsg, dst_epsg, always_xy=True)
    return cache[key]


def lonlat_to_gk3(lon: float, lat: float, zone: int | None = None) -> dict:
    """GK 3° coordinates of a point, with zone prefix on the easting as surveyors write it."""
    zone = zone or gk3_zone(lon)
    easting, northing = transformer(GEO_EPSG, gk3_epsg(zone)).transform(lon, lat)
    return {"zone": zone, "epsg": gk3_epsg(zone), "x_north_m": northing, "y_east_m": easting}


def reproject(geom, src_epsg: int, dst_epsg: int = GEO_EPSG):
    """Reproject a shapely geometry, x first (longitude or easting) on both sides."""
    if src_epsg == dst_epsg:
        return geom
    t = transformer(src_epsg, dst_epsg)
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def gcj02_to_wgs84(geom):
    """Undo the GCJ-02 offset exactly (iterative inverse, < 1 mm residual)."""
    return _per_point(geom, prcoords.gcj_wgs_bored)


def bd09_to_wgs84(geom):
    """Undo BD-09 (Baidu) offsets: BD-09 → GCJ-02 → WGS84 (exact inverse)."""
    return _per_point(geom, prcoords.bd_wgs_bored)


def wgs84_to_gcj02(geom):
    return _per_point(geom, prcoords.wgs_gcj)


def _per_point(geom, fn):
    def convert(xy):
        out = np.empty_like(xy)
        for i, (lon, lat) in enumerate(xy):
            c = fn(prcoords.Coords(lat, lon), False)
            out[i] = (c.lon, c.lat)
        return out

    return shapely.transform(geom, convert)


# ---------------------------------------------------------------- reading a CRS

def parse_crs(text: str | None) -> str | int | None:
    """'EPSG:4523' → 4523, 'GCJ02'/'BD09' as is, empty → None (detect)."""
    if text is None or not str(text).strip():
        return None
    t = str(text).strip().upper().replace("-", "").replace("_", "")
    if t in WEB_SYSTEMS:
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


def epsg_of(crs: CRS) -> int:
    """EPSG code of a CRS read from a file; ESRI .prj files often carry none (e.g.
    CGCS2000_3_Degree_GK_Zone_35), so the definition is matched against the registry."""
    match = crs.to_epsg() or crs.to_epsg(min_confidence=50)
    if match:
        return match
    raise DataError(f"无法把 .prj 坐标系“{crs.name}”对应到 EPSG 代码，请在 crs 参数中指定",
                    f"cannot map the .prj CRS {crs.name!r} to EPSG; give crs")


@functools.lru_cache(maxsize=256)
def crs_label(crs) -> str:
    """'EPSG:4523 CGCS2000 / 3-degree Gauss-Kruger zone 35', or the web-map system's name."""
    if crs in WEB_SYSTEMS:
        return WEB_SYSTEMS[crs]
    return f"EPSG:{crs} {CRS.from_epsg(crs).name}"


def _zh_names() -> dict[int, str]:
    names = {GEO_EPSG: "CGCS2000 经纬度", 4326: "WGS84 经纬度"}
    for z in GK3_ZONES:
        cm = central_meridian(z, 3)
        names[gk3_epsg(z)] = f"CGCS2000 高斯-克吕格 3° 带第 {z} 带（中央经线 {cm}°E，含带号）"
        names[gk3_epsg(z, False)] = f"CGCS2000 高斯-克吕格 3° 带（中央经线 {cm}°E，不含带号）"
    for z in GK6_ZONES:
        cm = central_meridian(z, 6)
        names[gk_epsg(z, 6)] = f"CGCS2000 高斯-克吕格 6° 带第 {z} 带（中央经线 {cm}°E，含带号）"
        names[gk_epsg(z, 6, False)] = f"CGCS2000 高斯-克吕格 6° 带（中央经线 {cm}°E，不含带号）"
    return names


CRS_NAMES_ZH = _zh_names()
_LABEL = re.compile(r"^EPSG:(\d+) ")


def label_zh(label) -> str:
    """A CRS label (crs_label's 'EPSG:4523 CGCS2000 / 3-degree Gauss-Kruger zone 35') in reviewers' words for pages and
    reports; the API keeps the EPSG registry's name. Systems without a Chinese name keep theirs."""
    text = str(label or "")
    if " → " in text:  # a conversion note: 'EPSG:4523 … → CGCS2000 经纬度（…）'
        return " → ".join(label_zh(part) for part in text.split(" → "))
    m = _LABEL.match(text)
    if not m or int(m.group(1)) not in CRS_NAMES_ZH:
        return text
    return f"{CRS_NAMES_ZH[int(m.group(1))]}（EPSG:{m.group(1)}）"


def in_china_lonlat(geom) -> bool:
    minx, miny, maxx, maxy = geom.bounds
    return CHINA_LONLAT[0] <= minx and maxx <= CHINA_LONLAT[2] and CHINA_LONLAT[1] <= miny and maxy <= CHINA_LONLAT[3]


def detect_crs(geom, district_lon: float | None = None) -> tuple[int, str]:
    """Guess the CRS from coordinate magnitudes; a DataError listing candidates when undecidable."""
    minx, miny, maxx, maxy = geom.bounds
    if in_china_lonlat(geom):
        return GEO_EPSG, "坐标为经纬度，按 CGCS2000（EPSG:4490）处理；若取自高德/腾讯或百度地图，请指定 GCJ02 或 BD09"
    northing = NORTHING_RANGE[0] <= miny and maxy <= NORTHING_RANGE[1]
    unprefixed = UNPREFIXED_EASTING[0] <= minx and maxx <= UNPREFIXED_EASTING[1]
    if northing:
        prefix = int(minx // ZONE_PREFIX_UNIT)
        if minx >= 10 * ZONE_PREFIX_UNIT and prefix == int(maxx // ZONE_PREFIX_UNIT):
            width = zone_width(prefix)
            if width is not None:
                epsg = gk_epsg(prefix, width)
                return epsg, f"东坐标带号前缀 {prefix}，按 CGCS2000 {width}° 带第 {prefix} 带（EPSG:{epsg}）处理"
        if unprefixed:
            if district_lon is not None:
                zone = gk3_zone(district_lon)
                epsg = gk3_epsg(zone, False)
                return epsg, (f"坐标为无带号高斯-克吕格坐标，按所选区县所在 3° 带中央经线 {central_meridian(zone)}°E"
                              f"（EPSG:{epsg}）处理，请核对")
            raise DataError("坐标为无带号的高斯-克吕格平面坐标，无法判断中央经线，请指定坐标系（crs）",
                            "projected coordinates without zone prefix: the central meridian is ambiguous; give the CRS",
                            details={"candidates": [f"EPSG:{gk3_epsg(z, False)}" for z in LOCAL_GK3_ZONES] +
                                     [f"EPSG:{gk6_epsg(z, False)}" for z in LOCAL_GK6_ZONES]})
    swapped_north = NORTHING_RANGE[0] <= minx and maxx <= NORTHING_RANGE[1]
    swapped_east = (UNPREFIXED_EASTING[0] <= miny and maxy <= UNPREFIXED_EASTING[1]) or miny >= 10 * ZONE_PREFIX_UNIT
    if swapped_north and swapped_east:
        raise DataError("坐标的 X/Y 似乎互换（北坐标应为 Y 值），请交换两列或在 GeoJSON 中以东坐标在前",
                        "X/Y appear swapped: northing found in the first coordinate; GeoJSON puts easting first")
    raise DataError("坐标不符合任何支持的坐标系（经纬度、CGCS2000 高斯-克吕格 3°/6° 带）",
                    "coordinates fit no supported CRS (lon/lat or CGCS2000 Gauss-Krüger 3°/6° zones)")


def to_lonlat(geom, crs, district_lon: float | None = None) -> tuple[object, dict]:
    """Convert to CGCS2000 lon/lat and describe what was read, assumed and applied."""
    info = {"as_read": crs_label(crs) if crs else "未提供", "assumed": None, "conversions": []}
    if crs is None:
        crs, note = detect_crs(geom, district_lon)
        info["assumed"] = crs_label(crs)
        info["conversions"].append(note)
    convert, applied = _conversion(crs)
    info["conversions"] += applied
    out = convert(geom)
    if not in_china_lonlat(out):
        raise DataError(f"按 {crs_label(crs)} 换算后坐标不在中国范围内，请检查坐标系或 X/Y 顺序",
                        f"after {crs} the site is outside China: check the CRS or the X/Y order")
    return out, info


def points_to_lonlat(points, crs) -> tuple[np.ndarray, np.ndarray, dict | None]:
    """Many points converted as to_lonlat converts each one: (converted points, which of them to_lonlat would
    take without a question, the description it gives them — the same for all). The others (a point it would
    refuse, or whose CRS it would detect differently) are to_lonlat's to answer one by one."""
    points = np.asarray(points, dtype=object)
    # unstated: detect_crs takes a point inside China's lon/lat box as CGCS2000 lon/lat, left as it is
    out = points if crs is None else _conversion(crs)[0](points)
    lon, lat = shapely.get_x(out), shapely.get_y(out)
    ok = (CHINA_LONLAT[0] <= lon) & (lon <= CHINA_LONLAT[2]) & (CHINA_LONLAT[1] <= lat) & (lat <= CHINA_LONLAT[3])
    sample = np.flatnonzero(ok)
    info = to_lonlat(points[sample[0]], crs)[1] if len(sample) else None
    return out, ok, info


@functools.lru_cache(maxsize=64)
def _conversion(crs) -> tuple[object, list[str]]:
    """How a geometry (or an array of them) in crs becomes CGCS2000 lon/lat, and what that is called."""
    if crs == "GCJ02":
        return gcj02_to_wgs84, ["GCJ-02 → WGS84/CGCS2000（精确反算，prcoords）"]
    if crs == "BD09":
        return bd09_to_wgs84, ["BD-09 → GCJ-02 → WGS84/CGCS2000（精确反算，prcoords）"]
    if CRS.from_epsg(crs).is_geographic:
        applied = ["WGS84 与 CGCS2000 差异为厘米级，按同一经纬度处理"] if crs == 4326 else []
        return ((lambda g: g) if crs in (GEO_EPSG, 4326) else functools.partial(reproject, src_epsg=crs)), applied
    applied = [f"{crs_label(crs)} → CGCS2000 经纬度（按该坐标系参数严密换算）"]
    datum = CRS.from_epsg(crs).geodetic_crs.name
    if "2000" not in datum and "WGS 84" not in datum:
        applied.append(f"注意：坐标基准为 {datum}，转换到 CGCS2000 未使用官方转换参数（七参数），位置可能偏差数十米，请核对 / "
                       "datum shift without official parameters: positions may be tens of metres off")
    return functools.partial(reproject, src_epsg=crs), applied


# ---------------------------------------------------------------- what the user interface needs

def _zone_rows(width: int) -> list[dict]:
    zones = GK3_ZONES if width == 3 else GK6_ZONES
    rows = []
    for z in zones:
        cm = central_meridian(z, width)
        rows.append({"zone": z, "central_meridian": cm, "lon_min": cm - width / 2, "lon_max": cm + width / 2,
                     "epsg": gk_epsg(z, width), "epsg_no_prefix": gk_epsg(z, width, False),
                     "false_easting_m": false_easting(z), "proj4": gk_proj4(z, width)})
    return rows


def crs_choices() -> list[dict]:
    """The CRS a reviewer can pick on the screening form, in order: value (what parse_crs reads) and label."""
    choices = [{"value": "", "label": "自动判定（按坐标数值，并说明判定结果）"},
               {"value": f"EPSG:{GEO_EPSG}", "label": f"CGCS2000 经纬度（EPSG:{GEO_EPSG}）"},
               {"value": "EPSG:4326", "label": "WGS84 经纬度（EPSG:4326）"},
               {"value": "GCJ02", "label": "GCJ-02（高德、腾讯地图拾取）"},
               {"value": "BD09", "label": "BD-09（百度地图拾取）"}]
    for z in LOCAL_GK3_ZONES:
        with_prefix, without = gk3_epsg(z), gk3_epsg(z, False)
        choices.append({"value": f"EPSG:{with_prefix}", "label": f"CGCS2000 3° 带第 {z} 带（含带号，EPSG:{with_prefix}）"})
        choices.append({"value": f"EPSG:{without}", "label": f"CGCS2000 3° 带中央经线 {central_meridian(z)}°E（无带号，EPSG:{without}）"})
    return choices


def ui_rules() -> dict:
    """Plain data (JSON-ready) for the pages: the form's CRS choices and the zone table.

    {"geographic_epsg": 4490,
     "china_lonlat": [min_lon, min_lat, max_lon, max_lat],
     "choices": [{"value": "EPSG:4523", "label": "CGCS2000 3° 带第 35 带（含带号，EPSG:4523）"}, ...],
     "gk3": {"width_deg": 3, "zones": [ZONE, ...]},   # zones 25–45
     "gk6": {"width_deg": 6, "zones": [ZONE, ...]}}   # zones 13–23
    ZONE = {"zone": 35, "central_meridian": 105, "lon_min": 103.5, "lon_max": 106.5,  # lon_min ≤ lon < lon_max
            "epsg": 4523, "epsg_no_prefix": 4544, "false_easting_m": 35500000,       # with the zone prefix
            "proj4": "+proj=tmerc +lat_0=0 +lon_0=105 +k=1 +x_0=35500000 ..."}       # the prefixed zone's definition
    """
    return {"geographic_epsg": GEO_EPSG, "china_lonlat": list(CHINA_LONLAT), "choices": crs_choices(),
            "gk3": {"width_deg": 3, "zones": _zone_rows(3)}, "gk6": {"width_deg": 6, "zones": _zone_rows(6)}}
