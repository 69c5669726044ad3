"""Share rows against the plan: red-line share (with the stated-area check and alternative
denominators), protected-area share (total, then by type), forest cover from a land-cover raster.

Every row says its numerator, denominator, method and the plan line the target comes from:
{"indicator", "name_zh", "computed_pct", "plan_pct", "diff_pct_points", "tolerance_pct_points",
"status", "numerator_m2", "denominator_m2", "method", "source"}, plus fields of its own.
"""
from __future__ import annotations

import re

import shapely

from geo import vocabulary
from geo.area import M2_PER_KM2, area_m2
from geo.geometry import (
    clip,
    dissolve,
    feature_areas,
    geom_array,
    memo_area_m2,
    polygonal,
)
from geo.plans import indicator

DEFAULT_TOLERANCE_PP = 0.05  # percentage points, for shares
DEFAULT_AREA_TOLERANCE_PCT = 0.1  # % of the stated area

STATUS_OK = vocabulary.status("share", "ok")
STATUS_FAIL = vocabulary.status("share", "fail")
STATUS_NONE = vocabulary.status("share", "none")

KIND_NAMES_ZH = {k: v.name_zh for k, v in vocabulary.default().kinds.items()}

METHOD_DISSOLVE = "先融合（dissolve）同一图层的全部图斑，重叠部分只计一次"
METHOD_ELLIPSOID = "面积为 CGCS2000/GRS80 椭球面积（pyproj.Geod，Karney 测地线多边形算法），不用经纬度或投影平面面积"

METHOD_REDLINE = (
    f"生态保护红线{METHOD_DISSOLVE}，再与行政区界求交；占比 = 融合后红线∩区界面积 ÷ 区界面积。{METHOD_ELLIPSOID}。"
)
METHOD_PA_TOTAL = (
    f"自然保护地各类型合并后{METHOD_DISSOLVE}（如风景名胜区内的自然保护区不重复计算），再与行政区界求交；"
    f"占比 = 融合后保护地∩区界面积 ÷ 区界面积。{METHOD_ELLIPSOID}。"
)


# ---------------------------------------------------------------------------
# small helpers


def pct(num: float, den: float) -> float | None:
    """num ÷ den in %, None when den is 0 or missing."""
    return None if not den else num / den * 100.0


def to_km2(m2: float) -> float:
    return m2 / M2_PER_KM2


def fmt_number(x: float, nd: int = 1) -> str:
    """A number as printed in the Chinese texts: nd decimals, no thousands separator."""
    return f"{x:,.{nd}f}".replace(",", "")


def plan_source(plan: dict, src: dict | None) -> dict:
    """{"seed", "line"}: the plan's seed text and the line a figure comes from."""
    return {"seed": plan.get("seed"), "line": (src or {}).get("line")}


def plan_indicator(plan: dict, key: str) -> dict | None:
    """geo.plans.indicator, or None for a plan dict without an indicator table."""
    return indicator(plan, key) if "indicators" in plan else None


def status_for(computed: float | None, target: float | None, tolerance: float) -> str:
    """符合 when |computed − target| ≤ tolerance, 不符合 otherwise, 无目标 when there is no target."""
    if target is None or computed is None:
        return STATUS_NONE
    return STATUS_OK if abs(computed - target) <= tolerance + 1e-9 else STATUS_FAIL


def parse_number(text) -> float | None:
    """First number in a plan value as written ('≥7.62' → 7.62, '92（339天）' → 92, '以国家批准值为准' → None)."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return float(text)
    m = re.search(r"-?\d+(?:\.\d+)?", str(text))
    return float(m.group()) if m else None


def _row(indicator, name_zh, numerator_m2, denominator_m2, plan_pct, tolerance, method, source) -> dict:
    computed = pct(numerator_m2, denominator_m2)
    diff = None if (computed is None or plan_pct is None) else computed - plan_pct
    return {
        "indicator": indicator,
        "name_zh": name_zh,
        "computed_pct": computed,
        "plan_pct": plan_pct,
        "diff_pct_points": diff,
        "tolerance_pct_points": tolerance,
        "status": status_for(computed, plan_pct, tolerance),
        "numerator_m2": numerator_m2,
        "denominator_m2": denominator_m2,
        "method": method,
        "source": source,
    }


def _area_comparison(computed_m2: float, plan_area_km2: float | None, area_tolerance_pct: float, source: dict) -> dict:
    computed_km2 = to_km2(computed_m2)
    if plan_area_km2:
        diff_pct = (computed_km2 - plan_area_km2) / plan_area_km2 * 100.0
        status = STATUS_OK if abs(diff_pct) <= area_tolerance_pct + 1e-9 else STATUS_FAIL
    else:
        diff_pct, status = None, STATUS_NONE
    return {
        "plan_area_km2": plan_area_km2,
        "computed_area_km2": computed_km2,
        "area_diff_pct": diff_pct,
        "area_tolerance_pct": area_tolerance_pct,
        "area_status": status,
        "area_source": source,
    }


# ---------------------------------------------------------------------------
# dissolve


def dissolved_area(gdf_or_geoms) -> dict:
    """Naive sum of feature areas vs the area of their union (ellipsoidal m²).

    {"n_features", "naive_sum_m2", "dissolved_m2", "double_counted_m2"}
    """
    arr = geom_array(gdf_or_geoms)
    naive = float(feature_areas(gdf_or_geoms).sum()) if arr.size else 0.0
    dissolved = memo_area_m2(dissolve(gdf_or_geoms)) if arr.size else 0.0
    return {
        "n_features": int(arr.size),
        "naive_sum_m2": naive,
        "dissolved_m2": dissolved,
        "double_counted_m2": max(naive - dissolved, 0.0),
    }


# ---------------------------------------------------------------------------
# red line


def redline_share(
    redline_gdf,
    district_geom,
    plan: dict,
    tolerance: float = DEFAULT_TOLERANCE_PP,
    area_tolerance_pct: float = DEFAULT_AREA_TOLERANCE_PCT,
) -> dict:
    """Dissolved red line ∩ district ÷ district area, against the plan's stated share and area.

    Returns the indicator row (indicator, name_zh, computed_pct, plan_pct, diff_pct_points,
    tolerance_pct_points, status, numerator_m2, denominator_m2, method, source) plus:
    plan_area_km2, computed_area_km2, area_diff_pct, area_tolerance_pct, area_status, area_source
    (stated-area comparison), naive_sum_m2 / dissolved_m2 / outside_district_m2, note, and
    ``alternatives``: one row of the same shape per ``redline.alternative_denominators`` entry
    (indicator "redline_share_alt", plus denominator_label / denominator_reason).
    """
    rl = plan.get("redline") or {}
    district = dissolve(district_geom)
    dissolved = dissolve(redline_gdf)
    inside = clip(dissolved, district)
    numerator = memo_area_m2(inside)
    denominator = memo_area_m2(district)
    d = dissolved_area(redline_gdf)
    source = plan_source(plan, rl.get("source"))
    row = _row(
        "redline_share",
        "生态保护红线面积比例",
        numerator,
        denominator,
        rl.get("share_pct"),
        tolerance,
        METHOD_REDLINE,
        source,
    )
    row.update(_area_comparison(numerator, rl.get("area_km2"), area_tolerance_pct, plan_source(plan, rl.get("area_source") or rl.get("source"))))
    row["naive_sum_m2"] = d["naive_sum_m2"]
    row["dissolved_m2"] = d["dissolved_m2"]
    row["outside_district_m2"] = max(d["dissolved_m2"] - numerator, 0.0)
    row["note"] = rl.get("note")
    alts = []
    for alt in rl.get("alternative_denominators") or []:
        den = float(alt["area_km2"]) * M2_PER_KM2
        method = (
            f"分子同上（融合后红线∩行政区界，椭球面积）；分母为规划数据声明的替代分母“{alt['label']}”"
            f"{fmt_number(alt['area_km2'])}平方公里（不是本服务测量的区界面积）。理由：{alt['reason']}"
        )
        a = _row("redline_share_alt", f"生态保护红线面积比例（分母：{alt['label']}）", numerator, den, rl.get("share_pct"), tolerance, method, source)
        a["denominator_label"] = alt["label"]
        a["denominator_reason"] = alt["reason"]
        alts.append(a)
    row["alternatives"] = alts
    return row


# ---------------------------------------------------------------------------
# protected areas


def protected_area_share(
    pa_gdf,
    district_geom,
    plan: dict,
    tolerance: float = DEFAULT_TOLERANCE_PP,
    area_tolerance_pct: float = DEFAULT_AREA_TOLERANCE_PCT,
    type_col: str = "pa_type",
) -> list[dict]:
    """Protected-area share, total first (indicator "protected_area_share", dissolved across types),
    then one row per type (indicator "protected_area_share:<type>", status 无目标: plans give no per-type figure).

    The total row carries the stated-area comparison (plan_area_km2 …) and naive_sum_m2 / dissolved_m2.
    """
    pas = plan.get("protected_area_share") or {}
    ind = plan_indicator(plan, "protected_area_share")
    plan_pct = pas.get("share_pct")
    src = pas.get("source")
    if plan_pct is None and ind is not None:
        plan_pct = parse_number(ind.get("value_2020"))
        src = ind.get("source")
    if src is None and ind is not None:
        src = ind.get("source")
    source = plan_source(plan, src)
    district = dissolve(district_geom)
    denominator = memo_area_m2(district)
    arr = geom_array(pa_gdf)
    inside_total = clip(dissolve(pa_gdf), district) if arr.size else shapely.Polygon()
    total = _row("protected_area_share", "自然保护地面积占比", memo_area_m2(inside_total), denominator, plan_pct, tolerance, METHOD_PA_TOTAL, source)
    total.update(_area_comparison(total["numerator_m2"], pas.get("area_km2"), area_tolerance_pct, source))
    d = dissolved_area(pa_gdf)
    total["naive_sum_m2"] = d["naive_sum_m2"]
    total["dissolved_m2"] = d["dissolved_m2"]
    total["target_text"] = pas.get("target") or (ind or {}).get("target_2025")
    total["note"] = pas.get("note")
    rows = [total]
    if pa_gdf is not None and hasattr(pa_gdf, "columns") and type_col in pa_gdf.columns and len(pa_gdf):
        for t, sub in pa_gdf.groupby(type_col, sort=False):
            inside = clip(dissolve(sub), district)
            method = f"类型“{t}”的图斑{METHOD_DISSOLVE}，再与行政区界求交，÷ 区界面积。{METHOD_ELLIPSOID}。规划未给分类型目标。"
            r = _row(f"protected_area_share:{t}", f"自然保护地面积占比（{t}）", area_m2(inside), denominator, None, tolerance, method, source)
            r["pa_type"] = t
            r["n_features"] = len(sub)
            rows.append(r)
    return rows


# ---------------------------------------------------------------------------
# forest cover from a land-cover raster


def forest_cover_row(
    raster_path,
    district_geom,
    plan: dict,
    preset=None,
    tolerance: float = DEFAULT_TOLERANCE_PP,
    redline_geom=None,
    compare_with: str = "value_2020",
    engine: str = "auto",
) -> dict:
    """Indicator row for 森林覆盖率 from a land-cover raster (geo.raster_share.class_shares).

    plan_pct is the plan's forest_cover ``value_2020`` (or ``target_2025`` with compare_with="target_2025");
    the other figure is given as plan_value_2020 / target_2025_text. ``inside_redline`` holds the
    share inside the (dissolved) red line when redline_geom is given. ``raster`` holds the full class_share result.
    """
    # imported here so that rasterio loads only when a raster is asked for
    from geo.raster_share import class_shares

    district = dissolve(district_geom)
    polys = {"district": district}
    if redline_geom is not None:
        rl = dissolve(redline_geom)
        rl = polygonal(shapely.intersection(rl, district))
        if not rl.is_empty:
            polys["redline"] = rl
    res = class_shares(raster_path, polys, preset, ("forest",), engine)
    d = res["district"]
    ind = plan_indicator(plan, "forest_cover") or {}
    v2020 = parse_number(ind.get("value_2020"))
    t2025 = parse_number(ind.get("target_2025"))
    plan_pct = v2020 if compare_with == "value_2020" else t2025
    computed = d["share_pct"]
    diff = None if computed is None or plan_pct is None else computed - plan_pct
    demo = "（示意栅格，非遥感数据）" if d["is_demo"] else ""
    return {
        "indicator": "forest_cover",
        "name_zh": f"森林覆盖率（土地覆盖栅格：{'、'.join(d['class_names_zh'])}）{demo}",
        "computed_pct": computed,
        "plan_pct": plan_pct,
        "diff_pct_points": diff,
        "tolerance_pct_points": tolerance,
        "status": status_for(computed, plan_pct, tolerance),
        "numerator_m2": d["class_m2"],
        "denominator_m2": d["valid_m2"],
        "method": d["method"]
        + f"分类预设：{d['preset_name_zh']}，林地编码 {d['codes']}。注意：林业统计的森林覆盖率含国家特别规定的灌木林地等，"
        "与土地覆盖产品的林地类口径不完全相同。",
        "source": plan_source(plan, ind.get("source")),
        "compared_with": compare_with,
        "plan_value_2020": ind.get("value_2020"),
        "target_2025_text": ind.get("target_2025"),
        "target_2025_pct": t2025,
        "gap_to_target_2025_pct_points": None if computed is None or t2025 is None else computed - t2025,
        "inside_redline": res.get("redline"),
        "raster": d,
    }
