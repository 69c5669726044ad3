"""Conflict areas reviewers look for: 自然保护区 outside the red line (core zones first),
一级保护区 outside the red line, and red-line polygons that overlap each other.
"""
from __future__ import annotations

import numpy as np
import shapely

from geo import vocabulary
from geo.area import area_m2
from geo.control_units import CLASS_ATTRIBUTE, KIND as UNIT_KIND, PRIORITY_CLASS
from geo.geometry import dissolve, geojson_geometry, intersection_by_parts, polygonal
from geo.shares.indicators import pct, plan_source
from geo.shares.overlaps import MIN_OVERLAP_M2, memo_within_layer_overlaps, plain

CORE_ZONE_COLUMNS = ("functional_zone", "功能分区", "pa_zone", "zone")
CONFLICT_LABELS = {k: v["label"] for k, v in vocabulary.default().conflicts.items()}


def _is_core(row) -> bool:
    """Whether any zone column of a protected-area row names a core zone (核心区, 核心保护区, …)."""
    for c in CORE_ZONE_COLUMNS:
        v = row.get(c) if hasattr(row, "get") else None
        if isinstance(v, str) and "核心" in v:
            return True
    return False


def _outside_row(r, district, rl_union, feature_geometries: bool) -> tuple[dict, object]:
    """A feature (clipped to the district when given) and its part outside the red line, with areas."""
    g = polygonal(shapely.intersection(r.geometry, district)) if district is not None else r.geometry
    outside = polygonal(shapely.difference(g, rl_union)) if not rl_union.is_empty else g
    a_all, a_out = area_m2(g), area_m2(outside)
    return {"feature_id": plain(r.get("feature_id")), "name": plain(r.get("name")), "area_m2": a_all, "outside_m2": a_out,
            "outside_pct": pct(a_out, a_all), "geometry": geojson_geometry(outside) if feature_geometries else None}, outside


def conflicts(
    layers: dict,
    plan: dict | None = None,
    district_geom=None,
    min_area_m2: float = MIN_OVERLAP_M2,
    feature_geometries: bool = True,
    labels: dict | None = None,
) -> dict:
    """Conflict areas reviewers look for, as GeoJSON-ready geometries with ellipsoidal areas.

    ``labels`` names each conflict (the configured vocabulary's ``conflicts``; default: the shipped one).

    Keys (each {"label", "area_m2", "geometry", "features": [...], ...}):
      reserve_outside_redline   parts of 自然保护区 not inside the red line (core zones first when a zone column says 核心)
      grade1_outside_redline    一级保护区 outside the red line (expected_in_redline says whether the plan requires it)
      redline_internal_overlaps areas covered by two or more red-line polygons (naive sum vs dissolved)
      redline_outside_priority_units  red line (in the district) not inside any 优先保护单元; "available" False
                                when no control units are loaded (then nothing is said about it)
    Geometries are lon/lat GeoJSON dicts rounded to 6 decimals (≈0.1 m); areas are computed before rounding.
    feature_geometries=False leaves out the per-feature geometries (the union is always given).
    """
    labels = {**CONFLICT_LABELS, **(labels or {})}
    plan = plan or {}
    district = dissolve(district_geom if district_geom is not None else layers.get("district"))
    redline = layers.get("redline")
    rl_union = dissolve(redline) if redline is not None and len(redline) else shapely.Polygon()
    has_district = not district.is_empty
    out = {}

    # 1. 自然保护区 outside the red line
    pa = layers.get("protected_area")
    feats, parts, total_reserve = [], [], 0.0
    if pa is not None and len(pa) and "pa_type" in pa.columns:
        reserves = pa[pa["pa_type"] == "自然保护区"]
        for _, r in reserves.iterrows():
            row, outside = _outside_row(r, district if has_district else None, rl_union, feature_geometries)
            total_reserve += row["area_m2"]
            if row["outside_m2"] > min_area_m2:
                parts.append(outside)
                feats.append({**row, "level": plain(r.get("level")), "core_zone": _is_core(r)})
    feats.sort(key=lambda f: (not f["core_zone"], -f["outside_m2"]))
    union_out = dissolve(parts) if parts else shapely.Polygon()
    a = area_m2(union_out)
    out["reserve_outside_redline"] = {
        "label": labels["reserve_outside_redline"],
        "area_m2": a,
        "reserve_area_m2": total_reserve,
        "share_of_reserves_pct": pct(a, total_reserve),
        "geometry": geojson_geometry(union_out),
        "features": feats,
        "note": "自然保护区（核心保护区优先）原则上应全部划入生态保护红线；此处列出未被红线覆盖的部分。",
    }

    # 2. 一级保护区 outside the red line
    wz = layers.get("water_source_zone")
    feats, parts = [], []
    if wz is not None and len(wz) and "zone" in wz.columns:
        for _, r in wz[wz["zone"] == "一级保护区"].iterrows():
            row, outside = _outside_row(r, district if has_district else None, rl_union, feature_geometries)
            if row["outside_m2"] > min_area_m2:
                parts.append(outside)
                feats.append({**row, "source_name": plain(r.get("source_name"))})
    feats.sort(key=lambda f: -f["outside_m2"])
    rules = [
        rule
        for rules in (plan.get("control_rules") or {}).values()
        for rule in rules
        if "一级保护区" in rule.get("text", "") and "红线" in rule.get("text", "")
    ]
    union_out = dissolve(parts) if parts else shapely.Polygon()
    out["grade1_outside_redline"] = {
        "label": labels["grade1_outside_redline"],
        "area_m2": area_m2(union_out),
        "geometry": geojson_geometry(union_out),
        "features": feats,
        "expected_in_redline": True if rules else None,
        "rule_sources": [plan_source(plan, r.get("source")) for r in rules],
        "note": (
            "规划管控要求写明一级保护区与生态保护红线的关系，见所列行号。"
            if rules
            else "规划未写明一级保护区是否应划入生态保护红线；此处列出供核对。"
        ),
    }

    # 3. overlaps inside the red-line layer
    wl = memo_within_layer_overlaps(redline)
    overlap_geom = shapely.Polygon()
    if wl["pairs"] and redline is not None:
        geoms = np.asarray(redline.geometry.values, dtype=object)
        ids = list(redline["feature_id"]) if "feature_id" in redline.columns else list(range(len(redline)))
        idx = {plain(v): i for i, v in enumerate(ids)}
        overlap_geom = dissolve(
            [polygonal(shapely.intersection(geoms[idx[p["a_id"]]], geoms[idx[p["b_id"]]])) for p in wl["pairs"]]
        )
    out["redline_internal_overlaps"] = {
        "label": labels["redline_internal_overlaps"],
        "area_m2": area_m2(overlap_geom),
        "geometry": geojson_geometry(overlap_geom),
        "pairs": wl["pairs"],
        "naive_sum_m2": wl["naive_sum_m2"],
        "dissolved_m2": wl["dissolved_m2"],
        "double_counted_m2": wl["double_counted_m2"],
    }

    # 4. red line outside the 优先保护单元 (三线一单: the red line is a priority-protection unit)
    units = layers.get(UNIT_KIND)
    available = units is not None and len(units) > 0 and CLASS_ATTRIBUTE in units.columns
    outside = shapely.Polygon()
    if available and not rl_union.is_empty:
        priority = dissolve(units[units[CLASS_ATTRIBUTE] == PRIORITY_CLASS])
        rl_in = intersection_by_parts(rl_union, district) if has_district else rl_union
        outside = polygonal(shapely.difference(rl_in, priority)) if not priority.is_empty else rl_in
        if area_m2(outside) <= min_area_m2:
            outside = shapely.Polygon()
    a = area_m2(outside)
    out["redline_outside_priority_units"] = {
        "label": labels["redline_outside_priority_units"],
        "available": available,
        "area_m2": a,
        "share_of_redline_pct": pct(a, area_m2(rl_union)) if available and not rl_union.is_empty else None,
        "geometry": geojson_geometry(outside),
        "note": ("生态保护红线应划为优先保护单元；此处列出红线落在优先保护单元以外的部分。" if available
                 else "未加载环境管控单元，无法核对红线是否均在优先保护单元内。"),
    }
    return out
