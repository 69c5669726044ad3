"""Share rows against the plan: red-line share (with the stated-area check and alternative
denominators), protected-area share (total, then by type), forest cover from a land-cover raster.

Every row says its numerator, denominator, method and the plan line the target comes from:
{"indicator", "name_zh", "short_zh", "computed_pct", "plan_figure", "plan_pct", "diff_pct_points",
"tolerance_pct_points", "rule", "rule_zh", "accepted_range_pct", "status", "numerator_m2",
"denominator_m2", "method", "source", "value_2020_text", "target_2025_text", "target_2025_pct",
"target_2025_status", "target_2025_rule_zh"}, plus fields of its own.

A plan figure is judged against the interval it stands for as a rounded figure (geo.shares.rules)
unless a tolerance is given; the row says which rule it used.
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
    intersection_by_parts,
    memo_area_m2,
)
from geo.plans import indicator
from geo.shares.rules import STATUS_FAIL, STATUS_NONE, STATUS_OK, figure_rule, figure_text, judge

DEFAULT_TOLERANCE_PP = None  # percentage points; None: judge by the rounding interval of the stated figure
DEFAULT_AREA_TOLERANCE_PCT = 0.1  # % of the stated area

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


def status_for(computed: float | None, target, tolerance: float | None = DEFAULT_TOLERANCE_PP) -> str:
    """符合 / 不符合 / 无目标 of a computed share against a plan figure (rounding interval, or ± tolerance)."""
    return judge(computed, figure_rule(target, tolerance))


def parse_number(text) -> float | None:
    """First number in a plan value as written ('≥7.62' → 7.62, '92（339天）' → 92, '以国家批准值为准' → None)."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return float(text)
    m = re.search(r"-?\d+(?:\.\d+)?", str(text))
    return float(m.group()) if m else None


def _row(indicator, name_zh, short_zh, numerator_m2, denominator_m2, figure, tolerance, method, source) -> dict:
    """An indicator row; ``figure`` is the plan figure as the plan data writes it (7.62, '≥7.62', '9.3[3]')."""
    computed = pct(numerator_m2, denominator_m2)
    rule = figure_rule(figure, tolerance)
    plan_pct = rule["value"] if rule else None
    diff = None if (computed is None or plan_pct is None) else computed - plan_pct
    return {
        "indicator": indicator,
        "name_zh": name_zh,
        "short_zh": short_zh,
        "computed_pct": computed,
        "plan_figure": figure_text(figure),
        "plan_pct": plan_pct,
        "diff_pct_points": diff,
        "tolerance_pct_points": rule["half_width_pct_points"] if rule else tolerance,
        "rule": rule["rule"] if rule else None,
        "rule_zh": rule["rule_zh"] if rule else None,
        "accepted_range_pct": [rule["lower_pct"], rule["upper_pct"]] if rule else None,
        "status": judge(computed, rule),
        "numerator_m2": numerator_m2,
        "denominator_m2": denominator_m2,
        "method": method,
        "source": source,
    }


def _with_years(row: dict, value_2020, target_2025, tolerance) -> dict:
    """The plan's 2020 (base-year) value and 2025 target as written, and the computed value against the target."""
    target = figure_rule(target_2025, tolerance, what="2025 年目标")
    row.update({
        "value_2020_text": figure_text(value_2020),
        "target_2025_text": figure_text(target_2025),
        "target_2025_pct": target["value"] if target else None,
        "target_2025_status": judge(row["computed_pct"], target, "target"),
        "target_2025_rule_zh": target["rule_zh"] if target else None,
    })
    return row


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


def redline_share(redline_gdf, district_geom, plan: dict, tolerance: float | None = DEFAULT_TOLERANCE_PP,
                  area_tolerance_pct: float = DEFAULT_AREA_TOLERANCE_PCT) -> dict:
    """Dissolved red line ∩ district ÷ district area, against the plan's stated share and area.

    Returns the indicator row (module docstring; status against the stated share ``redline.share_pct``,
    2020 value ``share_pct_2020`` or the indicator table's, 2025 target from the indicator table) plus:
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
    ind = plan_indicator(plan, "redline_share") or {}
    value_2020 = rl.get("share_pct_2020") if rl.get("share_pct_2020") is not None else ind.get("value_2020")
    row = _row("redline_share", "生态保护红线面积比例", "红线占比", numerator, denominator, rl.get("share_pct"), tolerance,
               METHOD_REDLINE, source)
    _with_years(row, value_2020, ind.get("target_2025"), tolerance)
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
        a = _row("redline_share_alt", f"生态保护红线面积比例（分母：{alt['label']}）", "红线占比（替代分母）", numerator, den,
                 rl.get("share_pct"), tolerance, method, source)
        _with_years(a, value_2020, ind.get("target_2025"), tolerance)
        a["denominator_label"] = alt["label"]
        a["denominator_reason"] = alt["reason"]
        alts.append(a)
    row["alternatives"] = alts
    return row


# ---------------------------------------------------------------------------
# protected areas


def _pa_figure(plan: dict) -> tuple[object, dict]:
    """The protected-area share the plan states (protected_area_share.share_pct, else the indicator's 2020 value) and its source."""
    pas = plan.get("protected_area_share") or {}
    ind = plan_indicator(plan, "protected_area_share")
    figure, src = pas.get("share_pct"), pas.get("source")
    if figure is None and ind is not None:
        figure, src = ind.get("value_2020"), ind.get("source")
    if src is None and ind is not None:
        src = ind.get("source")
    return figure, plan_source(plan, src)


def protected_area_share(
    pa_gdf,
    district_geom,
    plan: dict,
    tolerance: float | None = DEFAULT_TOLERANCE_PP,
    area_tolerance_pct: float = DEFAULT_AREA_TOLERANCE_PCT,
    type_col: str = "pa_type",
) -> list[dict]:
    """Protected-area share, total first (indicator "protected_area_share", dissolved across types),
    then one row per type (indicator "protected_area_share:<type>", status 无目标: plans give no per-type figure).

    The total row carries the stated-area comparison (plan_area_km2 …) and naive_sum_m2 / dissolved_m2.
    """
    pas = plan.get("protected_area_share") or {}
    ind = plan_indicator(plan, "protected_area_share")
    figure, source = _pa_figure(plan)
    district = dissolve(district_geom)
    denominator = memo_area_m2(district)
    arr = geom_array(pa_gdf)
    inside_total = clip(dissolve(pa_gdf), district) if arr.size else shapely.Polygon()
    total = _row("protected_area_share", "自然保护地面积占比", "保护地占比", memo_area_m2(inside_total), denominator, figure, tolerance,
                 METHOD_PA_TOTAL, source)
    _with_years(total, (ind or {}).get("value_2020"), pas.get("target") or (ind or {}).get("target_2025"), tolerance)
    total.update(_area_comparison(total["numerator_m2"], pas.get("area_km2"), area_tolerance_pct, source))
    d = dissolved_area(pa_gdf)
    total["naive_sum_m2"] = d["naive_sum_m2"]
    total["dissolved_m2"] = d["dissolved_m2"]
    total["note"] = pas.get("note")
    rows = [total]
    if pa_gdf is not None and hasattr(pa_gdf, "columns") and type_col in pa_gdf.columns and len(pa_gdf):
        for t, sub in pa_gdf.groupby(type_col, sort=False):
            inside = clip(dissolve(sub), district)
            method = f"类型“{t}”的图斑{METHOD_DISSOLVE}，再与行政区界求交，÷ 区界面积。{METHOD_ELLIPSOID}。规划未给分类型目标。"
            r = _with_years(_row(f"protected_area_share:{t}", f"自然保护地面积占比（{t}）", f"保护地占比（{t}）", area_m2(inside),
                                 denominator, None, tolerance, method, source), None, None, tolerance)
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
    tolerance: float | None = DEFAULT_TOLERANCE_PP,
    redline_geom=None,
    compare_with: str = "value_2020",
    engine: str = "auto",
) -> dict:
    """Indicator row for 森林覆盖率 from a land-cover raster (geo.raster_share.class_shares).

    The status is against the plan's forest_cover ``value_2020`` (or ``target_2025`` with compare_with="target_2025");
    both are given as value_2020_text / target_2025_text, with target_2025_status. ``inside_redline`` holds the
    share inside the (dissolved) red line when redline_geom is given. ``raster`` holds the full class_share result.
    """
    # imported here so that rasterio loads only when a raster is asked for
    from geo.raster_share import class_shares

    district = dissolve(district_geom)
    polys = {"district": district}
    if redline_geom is not None:
        rl = dissolve(redline_geom)
        rl = intersection_by_parts(rl, district)
        if not rl.is_empty:
            polys["redline"] = rl
    res = class_shares(raster_path, polys, preset, ("forest",), engine)
    d = res["district"]
    ind = plan_indicator(plan, "forest_cover") or {}
    figure = ind.get("value_2020") if compare_with == "value_2020" else ind.get("target_2025")
    demo = "（示意栅格，非遥感数据）" if d["is_demo"] else ""
    row = _row(
        "forest_cover",
        f"森林覆盖率（土地覆盖栅格：{'、'.join(d['class_names_zh'])}）{demo}",
        "森林覆盖率",
        d["class_m2"],
        d["valid_m2"],
        figure,
        tolerance,
        d["method"] + f"分类预设：{d['preset_name_zh']}，林地编码 {d['codes']}。注意：林业统计的森林覆盖率含国家特别规定的灌木林地等，"
        "与土地覆盖产品的林地类口径不完全相同。",
        plan_source(plan, ind.get("source")),
    )
    _with_years(row, ind.get("value_2020"), ind.get("target_2025"), tolerance)
    t2025 = row["target_2025_pct"]
    row.update({
        "compared_with": compare_with,
        "gap_to_target_2025_pct_points": None if row["computed_pct"] is None or t2025 is None else row["computed_pct"] - t2025,
        "inside_redline": res.get("redline"),
        "raster": d,
    })
    return row


# ---------------------------------------------------------------------------
# a layer against the plan's figures (the publishing report)


def stated_figures(plan: dict, kind: str) -> dict | None:
    """The share and area the plan states for a layer kind, {"share", "area_km2", "source", "area_source"}; None for
    a kind the plans state no figure for (only the red line and the protected areas have them)."""
    if kind == "redline":
        rl = plan.get("redline") or {}
        return {"share": rl.get("share_pct"), "area_km2": rl.get("area_km2"), "source": plan_source(plan, rl.get("source")),
                "area_source": plan_source(plan, rl.get("area_source") or rl.get("source"))}
    if kind == "protected_area":
        figure, source = _pa_figure(plan)
        return {"share": figure, "area_km2": (plan.get("protected_area_share") or {}).get("area_km2"), "source": source, "area_source": source}
    return None


def plan_check(plan: dict, kind: str, inside_m2: float, district_m2: float, tolerance: float | None = DEFAULT_TOLERANCE_PP,
               area_tolerance_pct: float = DEFAULT_AREA_TOLERANCE_PCT) -> dict | None:
    """A layer's dissolved area inside the district against the plan's stated share and area, judged as the shares
    page judges them: {"plan_figure", "computed_pct", "share_status", "rule_zh", "source", plan_area_km2,
    computed_area_km2, area_diff_pct, area_tolerance_pct, area_status, area_source}; None when the plan states nothing."""
    figures = stated_figures(plan, kind)
    if figures is None or (figures["share"] is None and not figures["area_km2"]):
        return None
    rule = figure_rule(figures["share"], tolerance)
    share = pct(inside_m2, district_m2)
    out = {"plan_figure": figure_text(figures["share"]), "computed_pct": share, "share_status": judge(share, rule),
           "rule_zh": rule["rule_zh"] if rule else None, "source": figures["source"]}
    out.update(_area_comparison(inside_m2, figures["area_km2"], area_tolerance_pct, figures["area_source"]))
    return out
