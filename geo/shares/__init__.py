"""Area shares against the plans: red-line share, protected-area share, overlaps, conflicts.

Pure computation, no web framework: functions take GeoDataFrames / shapely geometries in
lon/lat (CGCS2000, EPSG:4490) and plan dicts (data/plans/<adcode>.yaml) and return plain
dicts that serialise to JSON as they are.

Method, as in QGIS "Overlap analysis" and DOPA (see shared/reference §1c, §3a):
  1. dissolve each layer first (shapely.union_all), so overlapping features count once;
  2. intersect with the district boundary (and with the other layer, for overlaps);
  3. measure every area on the GRS80 ellipsoid with geo.area.area_m2 (never planar degrees).

Stages: indicators (share rows against the plan), findings (the plan against itself and our
boundary), overlaps (between and within layers), conflicts (areas reviewers look for);
district_shares() runs them all for one district.
"""
from __future__ import annotations

from geo.geometry import dissolve, has_polygons, memo_area_m2, memo_scope
from geo.shares.conflicts import CORE_ZONE_COLUMNS, conflicts
from geo.shares.control_units import control_unit_shares
from geo.shares.findings import consistency_findings
from geo.shares.indicators import (
    DEFAULT_AREA_TOLERANCE_PCT,
    DEFAULT_TOLERANCE_PP,
    KIND_NAMES_ZH,
    STATUS_FAIL,
    STATUS_NONE,
    STATUS_OK,
    dissolved_area,
    forest_cover_row,
    parse_number,
    plan_check,
    protected_area_share,
    redline_share,
    stated_figures,
    status_for,
)
from geo.shares.rules import RULE_ROUNDING, RULE_TOLERANCE, figure_rule, half_unit, judge, stated_decimals
from geo.shares.overlaps import (
    MIN_OVERLAP_M2,
    memo_within_layer_overlaps,
    overlap_matrix,
    within_layer_overlaps,
)

__all__ = [
    "CORE_ZONE_COLUMNS",
    "DEFAULT_AREA_TOLERANCE_PCT",
    "DEFAULT_TOLERANCE_PP",
    "KIND_NAMES_ZH",
    "MIN_OVERLAP_M2",
    "RULE_ROUNDING",
    "RULE_TOLERANCE",
    "STATUS_FAIL",
    "STATUS_NONE",
    "STATUS_OK",
    "conflicts",
    "consistency_findings",
    "control_unit_shares",
    "dissolved_area",
    "district_shares",
    "figure_rule",
    "forest_cover_row",
    "half_unit",
    "judge",
    "overlap_matrix",
    "parse_number",
    "plan_check",
    "protected_area_share",
    "redline_share",
    "stated_decimals",
    "stated_figures",
    "status_for",
    "within_layer_overlaps",
]


def district_shares(
    layers: dict,
    plan: dict,
    tolerance: float | None = DEFAULT_TOLERANCE_PP,
    area_tolerance_pct: float = DEFAULT_AREA_TOLERANCE_PCT,
    overlap_by: dict | None = None,
    raster_path=None,
    raster_preset=None,
    kind_names: dict | None = None,
    conflict_labels: dict | None = None,
    control_units: dict | None = None,
) -> dict:
    """All shares for one district: {"indicators", "overlaps", "within_layer", "findings", "conflicts", "district_area_m2"}.

    ``tolerance`` None judges each plan figure by the rounding interval it stands for (geo.shares.rules),
    a number by ± that many percentage points. ``layers`` maps kind → GeoDataFrame (EPSG:4490) and must include "district". Indicator
    rows: redline_share, its alternative-denominator rows, protected_area_share (total, then per
    type), and forest_cover when ``raster_path`` (a land-cover GeoTIFF) is given
    (forest_cover_row, with the share inside the red line); with ``control_units`` ({"kind": the vocabulary kind,
    "published": geo.control_units.published(), "adcode"}) one row per unit class against the published 三线一单
    figures, whose differences join the findings.
    """
    with memo_scope():
        district = dissolve(layers["district"])
        district_m2 = memo_area_m2(district)
        indicators = []
        rl = redline_share(layers.get("redline"), district, plan, tolerance, area_tolerance_pct)
        indicators.append(rl)
        indicators.extend(rl["alternatives"])
        indicators.extend(protected_area_share(layers.get("protected_area"), district, plan, tolerance, area_tolerance_pct))
        unit_findings = []
        if control_units is not None:
            kind = control_units["kind"]
            rows, unit_findings = control_unit_shares(layers.get(kind.key), district, control_units["adcode"],
                                                      control_units["published"], kind, tolerance)
            indicators.extend(rows)
        within = {}
        for kind, gdf in layers.items():
            if kind == "district" or gdf is None or len(gdf) == 0:
                continue
            if not has_polygons(gdf):
                continue
            within[kind] = memo_within_layer_overlaps(gdf)
        if raster_path is not None:
            redline = layers.get("redline")
            indicators.append(
                forest_cover_row(
                    raster_path,
                    district,
                    plan,
                    preset=raster_preset,
                    tolerance=tolerance,
                    redline_geom=dissolve(redline) if redline is not None and len(redline) else None,
                )
            )
        return {
            "district_area_m2": district_m2,
            "indicators": indicators,
            "overlaps": overlap_matrix(layers, district, by=overlap_by, names=kind_names),
            "within_layer": within,
            "findings": consistency_findings(plan, district_m2) + unit_findings,
            "conflicts": conflicts(layers, plan, district, labels=conflict_labels),
        }
