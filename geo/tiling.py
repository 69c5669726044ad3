"""Do the features of a zoning layer (环境管控单元) tile the district: no gaps, no overlaps?

tiling_report() answers for lon/lat (EPSG:4490) geometries with ellipsoidal areas (geo.area):

- gaps (缝隙): parts of the district covered by no unit and enclosed by the units (a hole in
  the layer), each with its area, a location and the units around it;
- uncovered (未覆盖): parts of the district outside the layer's outer boundary — the rest of the
  district when a layer covers only part of it, or slivers where the units' outer boundary and
  the district boundary disagree — listed the same way, with the share of the district covered;
- overlaps (重叠): parts where two units' interiors meet, each with its area, location and the
  two units;
- the area of the units outside the district.

Parts at or below the tolerance are counted and summed, not listed. A location is a point inside
the part (shapely's representative point), lon/lat rounded to 6 decimals.

Speed (units of ~100 000 vertices each): the union is computed once (the caller may pass the
one it has) and the district minus it gives every gap. Overlaps: an STRtree gives the pairs
whose geometries meet; GEOS's coverage validator (one pass over all edges) marks the edges of
each unit that are not matched exactly by a neighbour's. An overlap is bounded by such edges,
so a pair where neither unit has one cannot overlap, and for the others the intersection is
computed only inside the bounding box of their unmatched edges — a shared boundary of 100 000
exactly matching vertices is never overlaid. A check that the overlaps found account for the
sum of the unit areas minus the union area falls back to whole intersections should they not.
"""
from __future__ import annotations

import numpy as np
import shapely

from geo.area import area_m2

DEFAULT_TOLERANCE_M2 = 100.0
MAX_LISTED = 100  # parts listed per category (largest first); the counts and sums cover all
MAX_IDS = 20  # units named per gap (the rest of a district can touch every unit on its edge)
_EPS_DEG = 1e-7  # ~1 cm: the clipping window is widened by this so no overlap on its edge is cut
POLYGON = 3  # shapely type id
METHOD = ("缝隙 = 区界 − 全部单元之并，按是否被单元围合分为“单元之间的缝隙”与“图层外缘未覆盖”；重叠 = 两两单元内部相交的部分；"
          "面积为 CGCS2000 椭球面积，不超过容差的部分只计数、不列出 / gaps: the district minus the union of the units (enclosed by "
          "units, or outside the layer's outer boundary); overlaps: pairwise intersections of unit interiors; ellipsoidal areas")


def _polygonal(geom):
    """The polygon parts of a geometry (a collection from an overlay may hold lines and points too)."""
    if geom is None or geom.is_empty:
        return shapely.Polygon()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _polygons(geoms) -> tuple[np.ndarray, np.ndarray]:
    """(polygon parts, index of the input each came from) of an array of geometries."""
    parts, index = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    keep = (shapely.get_type_id(parts) == POLYGON) & (shapely.area(parts) > 0)  # an overlay may leave collapsed rings
    return parts[keep], index[keep]


def _inside(geom):
    """A point inside the part (its representative point; a vertex should a sliver have none)."""
    p = shapely.point_on_surface(geom)
    return p if not p.is_empty else shapely.Point(shapely.get_coordinates(geom)[0])


def _location(geom) -> dict:
    p = _inside(geom)
    return {"lon": round(float(p.x), 6), "lat": round(float(p.y), 6)}


def _overlap_parts(geoms: np.ndarray, tree: shapely.STRtree) -> tuple[list[tuple[int, int, object]], bool]:
    """(i, j, polygon) for every part where the interiors of units i < j meet; and whether the coverage
    validator narrowed the work (False: whole intersections of every meeting pair)."""
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if not len(left):
        return [], True
    bounds = shapely.bounds(geoms)
    lo = np.maximum(bounds[left, :2], bounds[right, :2])  # the two bounding boxes' intersection
    hi = np.minimum(bounds[left, 2:], bounds[right, 2:])
    narrowed = True
    try:
        unmatched = shapely.coverage_invalid_edges(geoms)
    except (shapely.errors.GEOSException, shapely.errors.UnsupportedGEOSVersionError, AttributeError):  # GEOS < 3.12: no validator
        narrowed = False
    if narrowed:
        dirty = ~shapely.is_empty(unmatched)
        pick = dirty[left] | dirty[right]
        left, right, lo, hi = left[pick], right[pick], lo[pick], hi[pick]
        eb = shapely.bounds(unmatched)  # NaN for a unit whose edges all match
        lo = np.maximum(lo, np.fmin(eb[left, :2], eb[right, :2]))
        hi = np.minimum(hi, np.fmax(eb[left, 2:], eb[right, 2:]))
    lo, hi = lo - _EPS_DEG, hi + _EPS_DEG
    pick = (lo < hi).all(axis=1)
    left, right, lo, hi = left[pick], right[pick], lo[pick], hi[pick]
    if not len(left):
        return [], narrowed
    if narrowed:
        windows = shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1])
        a = shapely.intersection(geoms[left], windows)
        b = shapely.intersection(geoms[right], windows)
    else:
        a, b = geoms[left], geoms[right]
    parts, index = _polygons(shapely.intersection(a, b))
    return [(int(left[k]), int(right[k]), p) for p, k in zip(parts, index)], narrowed


def tiling_report(geoms, ids, district_geom, tolerance_m2: float = DEFAULT_TOLERANCE_M2, union=None,
                  max_listed: int = MAX_LISTED) -> dict:
    """How the units (lon/lat shapely (Multi)Polygons, valid) tile the district; ids name them in the report.

    Returns a plain dict: tolerance_m2, method, unit_count, district_m2, covered_m2, coverage_pct (of the district),
    outside_district_m2 (units outside the district), and for each of gaps, uncovered and overlaps a list of parts above
    the tolerance
    ({"area_m2", "lon", "lat", "ids", "n_ids"}; overlaps name the two units), largest first and at most
    max_listed, with <name>_count and <name>_m2 (all parts above the tolerance), below_tolerance (count and m² per
    category), uncovered_total_m2 (the district minus the units, all parts) and overlap_total_m2 (all overlaps)."""
    geoms = np.array([_polygonal(g) for g in geoms], dtype=object)
    ids = list(ids)
    if len(ids) != len(geoms):
        raise ValueError("one id per geometry")
    if union is None:
        union = shapely.union_all(geoms) if len(geoms) else shapely.Polygon()
    union = _polygonal(union)
    district = _polygonal(district_geom)
    shapely.prepare(geoms)
    tree = shapely.STRtree(geoms)
    district_m2 = area_m2(district)

    def listing(entries: list[dict], name: str) -> dict:
        above = [e for e in entries if e["area_m2"] > tolerance_m2]
        below = [e for e in entries if e["area_m2"] <= tolerance_m2]
        above.sort(key=lambda e: -e["area_m2"])
        counts[name] = len(below)
        counts[name + "_m2"] = round(sum(e["area_m2"] for e in below), 2)
        return {name: above[:max_listed], name + "_count": len(above), name + "_m2": round(sum(e["area_m2"] for e in above), 2)}

    counts: dict = {}
    # overlaps: pairs of units whose interiors meet
    found, narrowed = _overlap_parts(geoms, tree)
    overlaps = [{"area_m2": area_m2(p), **_location(p), "ids": [ids[i], ids[j]], "n_ids": 2, "_geom": p} for i, j, p in found]
    # Σ unit areas − union area = the overlapping area counted once per extra unit ≤ Σ pairwise overlaps: in the plane
    # of the coordinates, where the overlay was computed (ellipsoidal areas with geodesic edges differ from it by more
    # than a sliver for units with long straight edges)
    naive_deg = float(shapely.area(geoms).sum())
    missed_deg = (naive_deg - union.area) - sum(p.area for _, _, p in found)
    m2_per_deg2 = area_m2(union) / union.area if union.area else 0.0
    if narrowed and missed_deg * m2_per_deg2 > max(1e-3, tolerance_m2 / 100):  # the narrowed search missed some: in full
        found, _ = _overlap_parts_whole(geoms, tree)
        overlaps = [{"area_m2": area_m2(p), **_location(p), "ids": [ids[i], ids[j]], "n_ids": 2, "_geom": p} for i, j, p in found]
    overlap_total_m2 = sum(e["area_m2"] for e in overlaps)
    # gaps: the district minus the union, enclosed by the units or outside their outer boundary
    rest, _ = _polygons([shapely.difference(district, union)]) if not district.is_empty else (np.array([], dtype=object), None)
    outer, _ = _polygons([union])
    filled = shapely.union_all(shapely.polygons(shapely.get_exterior_ring(outer))) if len(outer) else shapely.Polygon()
    shapely.prepare(filled)
    gaps, uncovered = [], []
    for part in rest:  # a part lies wholly in a hole of the layer or wholly outside its outer boundary
        inside = _inside(part)
        entry = {"area_m2": area_m2(part), "lon": round(float(inside.x), 6), "lat": round(float(inside.y), 6), "_geom": part}
        (gaps if filled.contains(inside) else uncovered).append(entry)
    out = {"tolerance_m2": tolerance_m2, "method": METHOD, "unit_count": len(geoms)}
    out.update(listing(gaps, "gaps"))
    out.update(listing(uncovered, "uncovered"))
    out.update(listing(overlaps, "overlaps"))
    for entry in out["gaps"] + out["uncovered"]:  # the units around each listed gap
        near = sorted(tree.query(entry["_geom"], predicate="intersects").tolist())
        entry["ids"], entry["n_ids"] = [ids[k] for k in near[:MAX_IDS]], len(near)
    for entry in out["gaps"] + out["uncovered"] + out["overlaps"]:
        entry.pop("_geom", None)
        entry["area_m2"] = round(entry["area_m2"], 2)
    uncovered_m2 = sum(area_m2(p) for p in rest)
    out.update({
        "district_m2": round(district_m2, 2),
        "covered_m2": round(district_m2 - uncovered_m2, 2),
        "coverage_pct": round((district_m2 - uncovered_m2) / district_m2 * 100, 4) if district_m2 else None,
        "uncovered_total_m2": round(uncovered_m2, 2),
        "outside_district_m2": round(area_m2(shapely.difference(union, district)), 2) if not union.is_empty else 0.0,
        "overlap_total_m2": round(overlap_total_m2, 2),  # every pairwise overlap, above the tolerance or not
        "below_tolerance": counts,
    })
    return out


def _overlap_parts_whole(geoms: np.ndarray, tree: shapely.STRtree):
    """Every meeting pair intersected whole (the slow, certain path)."""
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    parts, index = _polygons(shapely.intersection(geoms[left], geoms[right])) if len(left) else (np.array([], dtype=object), [])
    return [(int(left[k]), int(right[k]), p) for p, k in zip(parts, index)], False
