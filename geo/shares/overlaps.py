"""Overlaps: between layer kinds (dissolved, clipped to the district) and between features of one layer.

Method, as in QGIS "Overlap analysis" and DOPA: dissolve each layer first (shapely.union_all),
so overlapping features count once; intersect; measure on the GRS80 ellipsoid (geo.area.area_m2).
"""
from __future__ import annotations

import itertools

import numpy as np
import shapely

from geo.area import area_m2
from geo.geometry import clip, dissolve, has_polygons, intersection_by_parts, memo_area_m2, memoised, polygonal
from geo.shares.indicators import (
    KIND_NAMES_ZH,
    METHOD_DISSOLVE,
    METHOD_ELLIPSOID,
    dissolved_area,
    pct,
)

MIN_OVERLAP_M2 = 1.0  # pairs that only touch (or overlap by floating-point slivers) are ignored


def plain(v):
    """A numpy scalar as the Python value (JSON-ready); anything else as it is."""
    if hasattr(v, "item"):
        return v.item()
    return v


def _polygon_layers(layers: dict, exclude, by: dict | None) -> dict:
    """kind → GeoDataFrame for polygon layers, split by attribute where asked (key 'kind:value')."""
    out = {}
    for kind, gdf in layers.items():
        if kind in exclude or gdf is None or len(gdf) == 0:
            continue
        if not has_polygons(gdf):
            continue  # points / lines
        col = (by or {}).get(kind)
        if col and hasattr(gdf, "columns") and col in gdf.columns:
            for v, sub in gdf.groupby(col, sort=False):
                out[f"{kind}:{v}"] = sub
        else:
            out[kind] = gdf
    return out


def _kind_name(key: str, names: dict | None) -> str:
    names = {**KIND_NAMES_ZH, **(names or {})}
    base, _, sub = key.partition(":")
    return f"{names.get(base, base)}·{sub}" if sub else names.get(base, base)


def overlap_matrix(
    layers: dict,
    district_geom=None,
    exclude=("district",),
    by: dict | None = None,
    names: dict | None = None,
) -> list[dict]:
    """Dissolved overlap between every unordered pair of polygon layer kinds, clipped to the district.

    ``by`` splits a kind by an attribute, e.g. {"water_source_zone": "zone"} gives
    "water_source_zone:一级保护区" etc. Each row:
    {"a", "b", "a_name_zh", "b_name_zh", "a_m2", "b_m2", "overlap_m2", "a_in_b_pct", "b_in_a_pct", "method"};
    a_in_b_pct = share of a's (dissolved) area that lies inside b.
    """
    district = dissolve(district_geom) if district_geom is not None else None
    polys = _polygon_layers(layers, exclude, by)
    dissolved = {}
    for key, gdf in polys.items():
        u = dissolve(gdf)
        if district is not None:
            u = clip(u, district)
        dissolved[key] = (u, memo_area_m2(u))
    rows = []
    for a, b in itertools.combinations(dissolved, 2):
        (ga, ma), (gb, mb) = dissolved[a], dissolved[b]
        ov = area_m2(intersection_by_parts(ga, gb)) if shapely.intersects(ga, gb) else 0.0
        rows.append(
            {
                "a": a,
                "b": b,
                "a_name_zh": _kind_name(a, names),
                "b_name_zh": _kind_name(b, names),
                "a_m2": ma,
                "b_m2": mb,
                "overlap_m2": ov,
                "a_in_b_pct": pct(ov, ma),
                "b_in_a_pct": pct(ov, mb),
                "method": f"两图层各自{METHOD_DISSOLVE}" + ("并裁到行政区界内" if district is not None else "") + f"后求交；{METHOD_ELLIPSOID}。",
            }
        )
    return rows


def within_layer_overlaps(gdf, min_overlap_m2: float = MIN_OVERLAP_M2, id_col: str = "feature_id", name_col: str = "name") -> dict:
    """Overlapping feature pairs inside one layer (STRtree), with naive sum vs dissolved totals.

    {"pairs": [{"a_id", "b_id", "a_name", "b_name", "overlap_m2"}], "n_features",
     "naive_sum_m2", "dissolved_m2", "double_counted_m2", "overlap_union_m2"}
    """
    if gdf is None or len(gdf) == 0:
        return {"pairs": [], "n_features": 0, "naive_sum_m2": 0.0, "dissolved_m2": 0.0, "double_counted_m2": 0.0, "overlap_union_m2": 0.0}
    if hasattr(gdf, "columns"):
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        ids = list(gdf[id_col]) if id_col in gdf.columns else list(gdf.index)
        labels = list(gdf[name_col]) if name_col in gdf.columns else [None] * len(gdf)
    else:
        geoms = np.asarray(list(gdf), dtype=object)
        ids, labels = list(range(len(geoms))), [None] * len(geoms)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    pairs, parts = [], []
    if left.size:
        inter = shapely.intersection(geoms[left], geoms[right])
        for i, j, g in zip(left, right, inter):
            g = polygonal(g)
            a = area_m2(g)
            if a > min_overlap_m2:
                pairs.append({"a_id": plain(ids[i]), "b_id": plain(ids[j]), "a_name": plain(labels[i]), "b_name": plain(labels[j]), "overlap_m2": a})
                parts.append(g)
    d = dissolved_area(gdf)
    overlap_union = dissolve(parts) if parts else shapely.Polygon()
    return {
        "pairs": sorted(pairs, key=lambda p: -p["overlap_m2"]),
        "n_features": d["n_features"],
        "naive_sum_m2": d["naive_sum_m2"],
        "dissolved_m2": d["dissolved_m2"],
        "double_counted_m2": d["double_counted_m2"],
        "overlap_union_m2": area_m2(overlap_union),
    }


def memo_within_layer_overlaps(gdf) -> dict:
    """within_layer_overlaps with default settings, memoised within a geo.geometry.memo_scope()."""
    if gdf is None:
        return within_layer_overlaps(None)
    return memoised("within", (gdf,), lambda: within_layer_overlaps(gdf))
