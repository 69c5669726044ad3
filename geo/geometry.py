"""Geometry helpers for area work on lon/lat (CGCS2000) polygons: geometry arrays, dissolves,
clipping to a district, the polygonal part of overlay results, GeoJSON output.

Within a ``memo_scope()`` the same dissolves, clips and areas are computed once (a district's
area recurs in every share row, its dissolved red line in the share, the overlap matrix and the
conflicts). The memo is keyed by object identity and holds a reference to each key object, so
an id cannot be reused while the scope lives. Outside a scope nothing is cached.
"""
from __future__ import annotations

import contextlib
import contextvars

import numpy as np
import shapely
import shapely.geometry

from geo.area import area_m2

POLYGONAL_TYPE_IDS = (3, 6)  # shapely type ids of Polygon and MultiPolygon

_MEMO: contextvars.ContextVar[dict | None] = contextvars.ContextVar("geo_geometry_memo", default=None)


@contextlib.contextmanager
def memo_scope():
    """Memoise dissolve / clip / memo_area_m2 (and memoised()) calls until the block ends."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def memoised(tag: str, objs: tuple, fn):
    """fn() once per (tag, identity of objs) inside a memo_scope(); simply fn() outside one."""
    memo = _MEMO.get()
    if memo is None:
        return fn()
    key = (tag, *map(id, objs))
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = (objs, fn())
    return hit[1]


def geom_array(obj) -> np.ndarray:
    """Non-empty geometries of a GeoDataFrame / GeoSeries / sequence / single geometry, as an array."""
    if obj is None:
        return np.array([], dtype=object)
    if hasattr(obj, "geometry") and hasattr(obj, "columns"):  # GeoDataFrame
        arr = np.asarray(obj.geometry.values, dtype=object)
    elif hasattr(obj, "values") and not isinstance(obj, shapely.Geometry):  # GeoSeries
        arr = np.asarray(obj.values, dtype=object)
    elif isinstance(obj, shapely.Geometry):
        arr = np.array([obj], dtype=object)
    else:
        arr = np.asarray(list(obj), dtype=object)
    if arr.size == 0:
        return arr
    keep = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    return arr[keep]


def has_polygons(obj) -> bool:
    """Whether anything geom_array accepts holds at least one (Multi)Polygon (not only points / lines)."""
    arr = geom_array(obj)
    return bool(arr.size) and bool(np.isin(shapely.get_type_id(arr), POLYGONAL_TYPE_IDS).any())


def memo_area_m2(geom) -> float:
    """geo.area.area_m2 (ellipsoidal), memoised within a memo_scope()."""
    return memoised("area", (geom,), lambda: area_m2(geom))


def feature_areas(obj) -> np.ndarray:
    """Per-feature ellipsoidal areas: the store's area_m2 column (computed with geo.area.area_m2) when present."""
    if hasattr(obj, "columns") and "area_m2" in obj.columns and not obj["area_m2"].isna().any():
        return obj["area_m2"].to_numpy(dtype=np.float64)
    return np.array([area_m2(g) for g in geom_array(obj)], dtype=np.float64)


def dissolve(obj):
    """Dissolved (union_all) geometry of anything geom_array accepts; an empty polygon if nothing.

    A single geometry is returned as it is; otherwise memoised within a memo_scope().
    """
    if isinstance(obj, shapely.Geometry):
        return obj

    def run():
        arr = geom_array(obj)
        if arr.size == 0:
            return shapely.Polygon()
        if arr.size == 1:
            return arr[0]
        return union_by_component(arr)

    return memoised("union", (obj,), run)


def union_by_component(arr: np.ndarray):
    """union_all of valid polygons, uniting only the groups that meet (connected by intersects, touching included):
    a red line of 3,000 patches that mostly lie apart took 37 s as one union_all and 0.07 s so. Groups that do not
    meet cannot share more than nothing, so their parts side by side are the same valid (Multi)Polygon."""
    arr = np.asarray(arr, dtype=object)
    if not len(arr):
        return shapely.Polygon()
    if not (np.isin(shapely.get_type_id(arr), (3, 6)).all() and shapely.is_valid(arr).all()):
        return shapely.union_all(arr)  # lines, points, collections or invalid input: GEOS unites them as before
    a, b = shapely.STRtree(arr).query(arr, predicate="intersects")
    a, b = a[a != b], b[a != b]
    group = np.arange(len(arr))
    while len(a):  # each geometry takes the smallest group number among those it meets, until none changes
        before = group.copy()
        np.minimum.at(group, a, group[b])
        group = group[group]
        if (group == before).all():
            break
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, group[order][1:] != group[order][:-1]])
    pieces = [arr[m[0]] if len(m) == 1 else shapely.union_all(arr[m]) for m in np.split(order, starts[1:])]
    if len(pieces) == 1:
        return pieces[0]
    return shapely.multipolygons(shapely.get_parts(np.array(pieces, dtype=object)))


def polygonal(geom):
    """Keep only the polygonal part of an overlay result (drop touching lines/points)."""
    if geom is None or geom.is_empty:
        return shapely.Polygon()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(polys) if polys else shapely.Polygon()
    return shapely.Polygon()


def clip(geom, district):
    """Polygonal part of geom ∩ district, memoised within a memo_scope()."""
    return memoised("clip", (geom, district), lambda: intersection_by_parts(geom, district))


def intersection_by_parts(a, b):
    """Polygonal part of a ∩ b, part by part: a part of one lying wholly inside a part of the other is kept as it
    is, parts that do not meet are skipped, and GEOS overlays only the pairs that cross (a 5 M-vertex red line
    against its district: one overlay of everything took 1-2 s per call). The parts of a valid (Multi)Polygon
    share no edge, so neither do the pieces: side by side they are the same valid (Multi)Polygon."""
    pa, pb = (shapely.get_parts(polygonal(g)) for g in (a, b))
    if len(pa) * len(pb) <= 4:
        return polygonal(shapely.intersection(a, b))
    if len(pa) < len(pb):
        pa, pb = pb, pa  # the tree over the side with fewer parts; the many parts are its queries
    own = shapely.from_wkb(shapely.to_wkb(pb))  # prepared copies: shared layer geometries are never prepared
    shapely.prepare(own)
    i, j = shapely.STRtree(pb).query(pa, predicate="intersects")
    inside = shapely.contains_properly(own[j], pa[i])
    pieces = list(pa[i[inside]])
    cross = ~inside
    if cross.any():
        pieces += [g for g in shapely.get_parts(shapely.intersection(pa[i[cross]], pb[j[cross]])) if g.geom_type == "Polygon" and not g.is_empty]
    if not pieces:
        return shapely.Polygon()
    return pieces[0] if len(pieces) == 1 else shapely.multipolygons(pieces)


def geojson_geometry(geom, decimals: int = 6):
    """GeoJSON geometry dict (lon, lat) with rounded coordinates, or None when empty."""
    if geom is None or geom.is_empty:
        return None
    return shapely.geometry.mapping(shapely.transform(geom, lambda xy: xy.round(decimals)))
