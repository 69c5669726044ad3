"""Coordinate systems used by Chinese reviewers: CGCS2000, Gauss-Krüger zones, GCJ-02 and BD-09.

CGCS2000 (EPSG:4490) and WGS84 differ by centimetres, far below the accuracy of any
plan map, so lon/lat in either is treated as the same frame. GCJ-02 (高德/腾讯) and BD-09
(百度) are obfuscated web-map systems offset by hundreds of metres; they are undone with
prcoords (the exact iterative inverse for GCJ-02).
"""
from __future__ import annotations

import math
import threading

import numpy as np
import prcoords
import shapely
from pyproj import Geod, Transformer

GEO_EPSG = 4490
# GRS80 is the CGCS2000 ellipsoid to 1e-10 in flattening.
GEOD = Geod(ellps="GRS80")


def gk3_zone(lon: float) -> int:
    """3° zone number whose central meridian is nearest to lon (zone 35 → 105°E)."""
    return int(math.floor((lon + 1.5) / 3.0))


def gk3_epsg(zone: int, with_prefix: bool = True) -> int:
    """CGCS2000 3-degree Gauss-Krüger EPSG code (4513–4533 with zone prefix, 4534–4554 without)."""
    if not 25 <= zone <= 45:
        raise ValueError(f"3° zone {zone} is outside China (25–45)")
    return 4488 + zone if with_prefix else 4534 + (zone * 3 - 75) // 3


def gk6_epsg(zone: int, with_prefix: bool = True) -> int:
    """CGCS2000 6-degree Gauss-Krüger EPSG code (4491–4501 with prefix, 4502–4512 without)."""
    if not 13 <= zone <= 23:
        raise ValueError(f"6° zone {zone} is outside China (13–23)")
    return 4478 + zone if with_prefix else 4489 + zone


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
