"""Area shares against the plans (issue 4): red-line share, protected-area share, overlaps, conflicts.

Pure computation, no web framework: functions take GeoDataFrames / shapely geometries in
lon/lat (CGCS2000, EPSG:4490) and plan dicts (data/plans/<adcode>.yaml) and return plain
dicts that serialise to JSON as they are.

Method, as in QGIS "Overlap analysis" and DOPA (see shared/reference §1c, §3a):
  1. dissolve each layer first (shapely.union_all), so overlapping features count once;
  2. intersect with the district boundary (and with the other layer, for overlaps);
  3. measure every area on the GRS80 ellipsoid with geo.area.area_m2 (never planar degrees).

Every row says its numerator, denominator, method and the plan line the target comes from.
"""
from __future__ import annotations

import contextvars
import itertools
import re
from decimal import Decimal

import numpy as np
import shapely
import shapely.geometry

from geo.area import M2_PER_KM2, area_m2

DEFAULT_TOLERANCE_PP = 0.05  # percentage points, for shares
DEFAULT_AREA_TOLERANCE_PCT = 0.1  # % of the stated area
MIN_OVERLAP_M2 = 1.0  # pairs that only touch (or overlap by floating-point slivers) are ignored

STATUS_OK = "符合"
STATUS_FAIL = "不符合"
STATUS_NONE = "无目标"

KIND_NAMES_ZH = {
    "district": "行政区界",
    "redline": "生态保护红线",
    "water_source_zone": "饮用水水源保护区",
    "protected_area": "自然保护地",
    "monitoring_section": "监测断面",
}

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


def _geom_array(obj) -> np.ndarray:
    """Polygonal geometries of a GeoDataFrame / GeoSeries / sequence / single geometry, as an array."""
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


# Within one district_shares() call the same dissolves, clips and areas recur (the district
# area in every row, the dissolved red line in the share, the overlap matrix and the conflicts).
# A per-call memo keyed by object identity avoids recomputing them; it holds a reference to each
# key object, so an id cannot be reused while the memo lives. Outside district_shares() nothing is cached.
_MEMO: contextvars.ContextVar[dict | None] = contextvars.ContextVar("geo_shares_memo", default=None)


def _memo(tag: str, objs: tuple, fn):
    memo = _MEMO.get()
    if memo is None:
        return fn()
    key = (tag, *map(id, objs))
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = (objs, fn())
    return hit[1]


def _area(geom) -> float:
    """geo.area.area_m2 (ellipsoidal), memoised within a district_shares() call."""
    return _memo("area", (geom,), lambda: area_m2(geom))


def _feature_areas(obj) -> np.ndarray:
    """Per-feature ellipsoidal areas: the store's area_m2 column (computed with geo.area.area_m2) when present."""
    if hasattr(obj, "columns") and "area_m2" in obj.columns and not obj["area_m2"].isna().any():
        return obj["area_m2"].to_numpy(dtype=np.float64)
    return np.array([area_m2(g) for g in _geom_array(obj)], dtype=np.float64)


def _union(obj):
    """Dissolved (union_all) geometry of anything _geom_array accepts; an empty polygon if nothing."""
    if isinstance(obj, shapely.Geometry):
        return obj

    def run():
        arr = _geom_array(obj)
        if arr.size == 0:
            return shapely.Polygon()
        if arr.size == 1:
            return arr[0]
        return shapely.union_all(arr)

    return _memo("union", (obj,), run)


def _clip(geom, district):
    """Polygonal part of geom ∩ district, memoised within a district_shares() call."""
    return _memo("clip", (geom, district), lambda: _polygonal(shapely.intersection(geom, district)))


def _polygonal(geom):
    """Keep only the polygonal part of an overlay result (drop touching lines/points)."""
    if geom is None or geom.is_empty:
        return shapely.Polygon()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(polys) if polys else shapely.Polygon()
    return shapely.Polygon()


def _pct(num: float, den: float) -> float | None:
    return None if not den else num / den * 100.0


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


def _half_unit(x: float) -> float:
    """Half a unit in the last printed decimal: 7.62 → 0.005, 9.3 → 0.05, 10.6 → 0.05."""
    exp = Decimal(str(x)).normalize().as_tuple().exponent
    return 0.5 * 10.0 ** min(int(exp), 0)


def _implied_denominator_km2(area_km2: float, share_pct: float) -> dict:
    """Area ÷ share, and the range allowed by the rounding of the printed share."""
    h = _half_unit(share_pct)
    return {
        "implied_km2": area_km2 / share_pct * 100.0,
        "range_km2": [area_km2 / (share_pct + h) * 100.0, area_km2 / (share_pct - h) * 100.0],
    }


def _source(plan: dict, src: dict | None) -> dict:
    return {"seed": plan.get("seed"), "line": (src or {}).get("line")}


def _indicator(plan: dict, key: str) -> dict | None:
    return next((i for i in plan.get("indicators", []) if i.get("key") == key), None)


def _km2(m2: float) -> float:
    return m2 / M2_PER_KM2


def _fmt(x: float, nd: int = 1) -> str:
    return f"{x:,.{nd}f}".replace(",", "")


def _row(indicator, name_zh, numerator_m2, denominator_m2, plan_pct, tolerance, method, source) -> dict:
    computed = _pct(numerator_m2, denominator_m2)
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
    computed_km2 = _km2(computed_m2)
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
    arr = _geom_array(gdf_or_geoms)
    naive = float(_feature_areas(gdf_or_geoms).sum()) if arr.size else 0.0
    dissolved = _area(_union(gdf_or_geoms)) if arr.size else 0.0
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
    district = _union(district_geom)
    dissolved = _union(redline_gdf)
    inside = _clip(dissolved, district)
    numerator = _area(inside)
    denominator = _area(district)
    d = dissolved_area(redline_gdf)
    source = _source(plan, rl.get("source"))
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
    row.update(_area_comparison(numerator, rl.get("area_km2"), area_tolerance_pct, _source(plan, rl.get("area_source") or rl.get("source"))))
    row["naive_sum_m2"] = d["naive_sum_m2"]
    row["dissolved_m2"] = d["dissolved_m2"]
    row["outside_district_m2"] = max(d["dissolved_m2"] - numerator, 0.0)
    row["note"] = rl.get("note")
    alts = []
    for alt in rl.get("alternative_denominators") or []:
        den = float(alt["area_km2"]) * M2_PER_KM2
        method = (
            f"分子同上（融合后红线∩行政区界，椭球面积）；分母为规划数据声明的替代分母“{alt['label']}”"
            f"{_fmt(alt['area_km2'])}平方公里（不是本服务测量的区界面积）。理由：{alt['reason']}"
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
    ind = _indicator(plan, "protected_area_share")
    plan_pct = pas.get("share_pct")
    src = pas.get("source")
    if plan_pct is None and ind is not None:
        plan_pct = parse_number(ind.get("value_2020"))
        src = ind.get("source")
    if src is None and ind is not None:
        src = ind.get("source")
    source = _source(plan, src)
    district = _union(district_geom)
    denominator = _area(district)
    arr = _geom_array(pa_gdf)
    inside_total = _clip(_union(pa_gdf), district) if arr.size else shapely.Polygon()
    total = _row("protected_area_share", "自然保护地面积占比", _area(inside_total), denominator, plan_pct, tolerance, METHOD_PA_TOTAL, source)
    total.update(_area_comparison(total["numerator_m2"], pas.get("area_km2"), area_tolerance_pct, source))
    d = dissolved_area(pa_gdf)
    total["naive_sum_m2"] = d["naive_sum_m2"]
    total["dissolved_m2"] = d["dissolved_m2"]
    total["target_text"] = pas.get("target") or (ind or {}).get("target_2025")
    total["note"] = pas.get("note")
    rows = [total]
    if pa_gdf is not None and hasattr(pa_gdf, "columns") and type_col in pa_gdf.columns and len(pa_gdf):
        for t, sub in pa_gdf.groupby(type_col, sort=False):
            inside = _clip(_union(sub), district)
            method = f"类型“{t}”的图斑{METHOD_DISSOLVE}，再与行政区界求交，÷ 区界面积。{METHOD_ELLIPSOID}。规划未给分类型目标。"
            r = _row(f"protected_area_share:{t}", f"自然保护地面积占比（{t}）", area_m2(inside), denominator, None, tolerance, method, source)
            r["pa_type"] = t
            r["n_features"] = int(len(sub))
            rows.append(r)
    return rows


# ---------------------------------------------------------------------------
# plan self-consistency


def consistency_findings(plan: dict, district_area_m2: float | None) -> list[dict]:
    """Does the plan agree with itself and with our boundary? Findings in Chinese, with numbers and seed lines.

    Each finding: {"kind", "text", "severity" (high/medium/low/info), "numbers": {...}, "source": {"seed", "line"}}.
    Computed findings come first; the plan file's own ``findings`` follow (kind "plan_finding").
    """
    out: list[dict] = []
    rl = plan.get("redline") or {}
    boundary_km2 = _km2(district_area_m2) if district_area_m2 else None
    rl_area, rl_share = rl.get("area_km2"), rl.get("share_pct")
    rl_src = _source(plan, rl.get("source"))
    rl_implied = None

    # 1. red line: stated area ÷ stated share vs our boundary
    if rl_area and rl_share:
        rl_implied = _implied_denominator_km2(rl_area, rl_share)
        imp, (lo, hi) = rl_implied["implied_km2"], rl_implied["range_km2"]
        nums = {
            "stated_area_km2": rl_area,
            "stated_share_pct": rl_share,
            "implied_denominator_km2": round(imp, 2),
            "implied_range_km2": [round(lo, 1), round(hi, 1)],
        }
        area_line = (rl.get("area_source") or {}).get("line")
        where = f"（面积见第{area_line}行，占比见第{rl_src['line']}行）" if area_line and area_line != rl_src["line"] else f"（第{rl_src['line']}行）"
        text = (
            f"规划红线面积{_fmt(rl_area, 2)}平方公里、占比{rl_share}%{where}，"
            f"隐含分母约{_fmt(imp)}平方公里（占比按四舍五入，范围约{_fmt(lo)}–{_fmt(hi)}平方公里）。"
        )
        severity = "info"
        if boundary_km2:
            diff = boundary_km2 - imp
            rel = diff / imp * 100.0
            share_on_boundary = rl_area / boundary_km2 * 100.0
            nums.update(
                boundary_area_km2=round(boundary_km2, 2),
                diff_km2=round(diff, 2),
                diff_pct=round(rel, 2),
                share_on_boundary_pct=round(share_on_boundary, 3),
            )
            if lo <= boundary_km2 <= hi:
                text += f"本服务行政区界椭球面积约{_fmt(boundary_km2)}平方公里，在此范围内，两者自洽。"
            else:
                severity = "high" if abs(rel) > 2 else ("medium" if abs(rel) > 0.5 else "low")
                text += (
                    f"本服务行政区界椭球面积约{_fmt(boundary_km2)}平方公里，比隐含分母{'大' if diff > 0 else '小'}"
                    f"约{_fmt(abs(diff))}平方公里（{_fmt(abs(rel), 1 if abs(rel) >= 1 else 2)}%）；按行政区界计，红线{_fmt(rl_area, 2)}平方公里"
                    f"占约{_fmt(share_on_boundary, 2)}%（规划为{rl_share}%）。"
                )
                if severity != "high":
                    text += "差异很小，可能来自区界数据来源不同（本服务区界为高德行政区划转换，非官方勘界数据）。"
        for alt in rl.get("alternative_denominators") or []:
            alt_share = rl_area / alt["area_km2"] * 100.0
            text += (
                f"规划数据另给出替代分母“{alt['label']}”{_fmt(alt['area_km2'])}平方公里，按其计红线占比约{_fmt(alt_share, 2)}%，"
                f"与规划{rl_share}%{'相符' if abs(alt_share - rl_share) <= _half_unit(rl_share) + 1e-9 else '不符'}；两种分母的结果并列给出。"
            )
            nums.setdefault("alternative_denominators", []).append(
                {"label": alt["label"], "area_km2": alt["area_km2"], "share_pct": round(alt_share, 3)}
            )
        out.append({"kind": "redline_implied_denominator", "text": text, "severity": severity, "numbers": nums, "source": rl_src})
    elif rl_share and boundary_km2:
        est = rl_share / 100.0 * boundary_km2
        out.append(
            {
                "kind": "redline_area_not_stated",
                "text": (
                    f"规划只给红线占比{rl_share}%（第{rl_src['line']}行），未给面积；按本服务行政区界椭球面积约{_fmt(boundary_km2)}平方公里计，"
                    f"相当于红线约{_fmt(est)}平方公里。"
                ),
                "severity": "info",
                "numbers": {"stated_share_pct": rl_share, "boundary_area_km2": round(boundary_km2, 2), "implied_area_km2": round(est, 2)},
                "source": rl_src,
            }
        )

    # 2. 2020 share vs the current one
    ind = _indicator(plan, "redline_share")
    share_2020 = rl.get("share_pct_2020")
    if share_2020 is None and ind is not None:
        share_2020 = parse_number(ind.get("value_2020"))
    if rl_share is not None and share_2020 is not None and abs(share_2020 - rl_share) > 1e-9:
        diff = rl_share - share_2020
        rel = diff / share_2020 * 100.0
        ind_line = (ind or {}).get("source", {}).get("line")
        nums = {"share_2020_pct": share_2020, "share_current_pct": rl_share, "diff_pct_points": round(diff, 2), "relative_change_pct": round(rel, 1)}
        text = (
            f"生态保护红线面积比例2020年现状值{share_2020}%"
            + (f"（指标表第{ind_line}行）" if ind_line else "")
            + f"，规划现行值{rl_share}%（第{rl_src['line']}行），{'下降' if diff < 0 else '上升'}{_fmt(abs(diff), 2)}个百分点"
            f"（相对{'减少' if diff < 0 else '增加'}约{_fmt(abs(rel), 1)}%）"
        )
        if boundary_km2:
            a20, anow = share_2020 / 100 * boundary_km2, rl_share / 100 * boundary_km2
            nums.update(boundary_area_km2=round(boundary_km2, 2), area_2020_km2=round(a20, 1), area_current_km2=round(anow, 1))
            text += f"；按行政区界约{_fmt(boundary_km2)}平方公里计，分别约{_fmt(a20)}和{_fmt(anow)}平方公里"
        text += "。本服务按现行值比对。"
        if diff < 0:
            text += "“面积不减少”类要求与比例下降并存，需核实是否为评估调整后的口径。"
        out.append(
            {
                "kind": "redline_share_2020_vs_current",
                "text": text,
                "severity": "high" if abs(diff) > 1 else "medium",
                "numbers": nums,
                "source": rl_src,
            }
        )

    # 3. protected-area stated area ÷ share vs the red line's implied denominator (and our boundary)
    pas = plan.get("protected_area_share") or {}
    pa_area, pa_share = pas.get("area_km2"), pas.get("share_pct")
    pa_src = _source(plan, pas.get("source"))
    if pa_area and pa_share:
        pa_imp = _implied_denominator_km2(pa_area, pa_share)
        imp, (lo, hi) = pa_imp["implied_km2"], pa_imp["range_km2"]
        nums = {
            "pa_area_km2": pa_area,
            "pa_share_pct": pa_share,
            "pa_implied_denominator_km2": round(imp, 2),
            "pa_implied_range_km2": [round(lo, 1), round(hi, 1)],
        }
        text = (
            f"自然保护地面积{pa_area}平方公里、占比{pa_share}%（第{pa_src['line']}行），隐含分母约{_fmt(imp)}平方公里"
            f"（范围约{_fmt(lo)}–{_fmt(hi)}）"
        )
        severity = "info"
        if rl_implied:
            r_imp, (r_lo, r_hi) = rl_implied["implied_km2"], rl_implied["range_km2"]
            overlap = max(lo, r_lo) <= min(hi, r_hi)
            recomputed = pa_area / r_imp * 100.0
            nums.update(
                redline_implied_denominator_km2=round(r_imp, 2),
                redline_implied_range_km2=[round(r_lo, 1), round(r_hi, 1)],
                diff_km2=round(imp - r_imp, 2),
                pa_share_on_redline_denominator_pct=round(recomputed, 3),
            )
            text += (
                f"；红线（{_fmt(rl_area, 2)}平方公里占{rl_share}%）隐含约{_fmt(r_imp)}平方公里（范围约{_fmt(r_lo)}–{_fmt(r_hi)}），"
                f"相差约{_fmt(imp - r_imp)}平方公里，"
            )
            if overlap:
                text += "两个范围有重叠，在四舍五入误差内一致。"
            else:
                severity = "medium"
                text += f"两个范围不重叠，两处用的分母不同。按红线隐含分母计，保护地占比应为约{_fmt(recomputed, 2)}%。"
        else:
            text += "。"
        if boundary_km2:
            nums["boundary_area_km2"] = round(boundary_km2, 2)
            nums["pa_share_on_boundary_pct"] = round(pa_area / boundary_km2 * 100.0, 3)
            text += f"按本服务行政区界约{_fmt(boundary_km2)}平方公里计，保护地占比约{_fmt(pa_area / boundary_km2 * 100.0, 2)}%。"
        out.append({"kind": "pa_vs_redline_denominator", "text": text, "severity": severity, "numbers": nums, "source": pa_src})
    elif pa_share and boundary_km2:
        est = pa_share / 100.0 * boundary_km2
        out.append(
            {
                "kind": "pa_area_not_stated",
                "text": (
                    f"规划只给自然保护地面积占比{pa_share}%（第{pa_src['line']}行），未给面积；按本服务行政区界椭球面积约"
                    f"{_fmt(boundary_km2)}平方公里计，相当于约{_fmt(est)}平方公里。"
                ),
                "severity": "info",
                "numbers": {"pa_share_pct": pa_share, "boundary_area_km2": round(boundary_km2, 2), "implied_area_km2": round(est, 2)},
                "source": pa_src,
            }
        )

    # 4. the plan file's own findings, passed through
    for f in plan.get("findings") or []:
        out.append({"kind": "plan_finding", "text": f["text"], "severity": "info", "numbers": {}, "source": _source(plan, f.get("source"))})
    return out


# ---------------------------------------------------------------------------
# overlaps


def _polygon_layers(layers: dict, exclude, by: dict | None) -> dict:
    """kind → GeoDataFrame for polygon layers, split by attribute where asked (key 'kind:value')."""
    out = {}
    for kind, gdf in layers.items():
        if kind in exclude or gdf is None or len(gdf) == 0:
            continue
        arr = _geom_array(gdf)
        if arr.size == 0 or not np.isin(shapely.get_type_id(arr), (3, 6)).any():
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
    district = _union(district_geom) if district_geom is not None else None
    polys = _polygon_layers(layers, exclude, by)
    dissolved = {}
    for key, gdf in polys.items():
        u = _union(gdf)
        if district is not None:
            u = _clip(u, district)
        dissolved[key] = (u, _area(u))
    rows = []
    for a, b in itertools.combinations(dissolved, 2):
        (ga, ma), (gb, mb) = dissolved[a], dissolved[b]
        ov = area_m2(_polygonal(shapely.intersection(ga, gb))) if shapely.intersects(ga, gb) else 0.0
        rows.append(
            {
                "a": a,
                "b": b,
                "a_name_zh": _kind_name(a, names),
                "b_name_zh": _kind_name(b, names),
                "a_m2": ma,
                "b_m2": mb,
                "overlap_m2": ov,
                "a_in_b_pct": _pct(ov, ma),
                "b_in_a_pct": _pct(ov, mb),
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
            g = _polygonal(g)
            a = area_m2(g)
            if a > min_overlap_m2:
                pairs.append({"a_id": _plain(ids[i]), "b_id": _plain(ids[j]), "a_name": _plain(labels[i]), "b_name": _plain(labels[j]), "overlap_m2": a})
                parts.append(g)
    d = dissolved_area(gdf)
    overlap_union = _union(parts) if parts else shapely.Polygon()
    return {
        "pairs": sorted(pairs, key=lambda p: -p["overlap_m2"]),
        "n_features": d["n_features"],
        "naive_sum_m2": d["naive_sum_m2"],
        "dissolved_m2": d["dissolved_m2"],
        "double_counted_m2": d["double_counted_m2"],
        "overlap_union_m2": area_m2(overlap_union),
    }


def _within(gdf) -> dict:
    """within_layer_overlaps with default settings, memoised within a district_shares() call."""
    if gdf is None:
        return within_layer_overlaps(None)
    return _memo("within", (gdf,), lambda: within_layer_overlaps(gdf))


def _plain(v):
    if hasattr(v, "item"):
        return v.item()
    return v


# ---------------------------------------------------------------------------
# conflicts


def geojson_geometry(geom, decimals: int = 6):
    """GeoJSON geometry dict (lon, lat) with rounded coordinates, or None when empty."""
    if geom is None or geom.is_empty:
        return None
    return shapely.geometry.mapping(shapely.transform(geom, lambda xy: xy.round(decimals)))


CORE_ZONE_COLUMNS = ("functional_zone", "功能分区", "pa_zone", "zone")


def _is_core(row) -> bool:
    for c in CORE_ZONE_COLUMNS:
        v = row.get(c) if hasattr(row, "get") else None
        if isinstance(v, str) and "核心" in v:
            return True
    return False


def conflicts(
    layers: dict,
    plan: dict | None = None,
    district_geom=None,
    min_area_m2: float = MIN_OVERLAP_M2,
    feature_geometries: bool = True,
) -> dict:
    """Conflict areas reviewers look for, as GeoJSON-ready geometries with ellipsoidal areas.

    Keys (each {"label", "area_m2", "geometry", "features": [...], ...}):
      reserve_outside_redline   parts of 自然保护区 not inside the red line (core zones first when a zone column says 核心)
      grade1_outside_redline    一级保护区 outside the red line (expected_in_redline says whether the plan requires it)
      redline_internal_overlaps areas covered by two or more red-line polygons (naive sum vs dissolved)
    Geometries are lon/lat GeoJSON dicts rounded to 6 decimals (≈0.1 m); areas are computed before rounding.
    feature_geometries=False leaves out the per-feature geometries (the union is always given).
    """
    plan = plan or {}
    district = _union(district_geom if district_geom is not None else layers.get("district"))
    redline = layers.get("redline")
    rl_union = _union(redline) if redline is not None and len(redline) else shapely.Polygon()
    has_district = not district.is_empty
    out = {}

    # 1. 自然保护区 outside the red line
    pa = layers.get("protected_area")
    feats, parts, total_reserve = [], [], 0.0
    if pa is not None and len(pa) and "pa_type" in pa.columns:
        reserves = pa[pa["pa_type"] == "自然保护区"]
        for _, r in reserves.iterrows():
            g = r.geometry
            if has_district:
                g = _polygonal(shapely.intersection(g, district))
            a_all = area_m2(g)
            total_reserve += a_all
            outside = _polygonal(shapely.difference(g, rl_union)) if not rl_union.is_empty else g
            a_out = area_m2(outside)
            if a_out > min_area_m2:
                parts.append(outside)
                feats.append(
                    {
                        "feature_id": _plain(r.get("feature_id")),
                        "name": _plain(r.get("name")),
                        "level": _plain(r.get("level")),
                        "core_zone": _is_core(r),
                        "area_m2": a_all,
                        "outside_m2": a_out,
                        "outside_pct": _pct(a_out, a_all),
                        "geometry": geojson_geometry(outside) if feature_geometries else None,
                    }
                )
    feats.sort(key=lambda f: (not f["core_zone"], -f["outside_m2"]))
    union_out = _union(parts) if parts else shapely.Polygon()
    a = area_m2(union_out)
    out["reserve_outside_redline"] = {
        "label": "自然保护区位于生态保护红线外的部分",
        "area_m2": a,
        "reserve_area_m2": total_reserve,
        "share_of_reserves_pct": _pct(a, total_reserve),
        "geometry": geojson_geometry(union_out),
        "features": feats,
        "note": "自然保护区（核心保护区优先）原则上应全部划入生态保护红线；此处列出未被红线覆盖的部分。",
    }

    # 2. 一级保护区 outside the red line
    wz = layers.get("water_source_zone")
    feats, parts = [], []
    if wz is not None and len(wz) and "zone" in wz.columns:
        for _, r in wz[wz["zone"] == "一级保护区"].iterrows():
            g = r.geometry
            if has_district:
                g = _polygonal(shapely.intersection(g, district))
            outside = _polygonal(shapely.difference(g, rl_union)) if not rl_union.is_empty else g
            a_out, a_all = area_m2(outside), area_m2(g)
            if a_out > min_area_m2:
                parts.append(outside)
                feats.append(
                    {
                        "feature_id": _plain(r.get("feature_id")),
                        "name": _plain(r.get("name")),
                        "source_name": _plain(r.get("source_name")),
                        "area_m2": a_all,
                        "outside_m2": a_out,
                        "outside_pct": _pct(a_out, a_all),
                        "geometry": geojson_geometry(outside) if feature_geometries else None,
                    }
                )
    feats.sort(key=lambda f: -f["outside_m2"])
    rules = [
        rule
        for rules in (plan.get("control_rules") or {}).values()
        for rule in rules
        if "一级保护区" in rule.get("text", "") and "红线" in rule.get("text", "")
    ]
    union_out = _union(parts) if parts else shapely.Polygon()
    out["grade1_outside_redline"] = {
        "label": "饮用水水源一级保护区位于生态保护红线外的部分",
        "area_m2": area_m2(union_out),
        "geometry": geojson_geometry(union_out),
        "features": feats,
        "expected_in_redline": True if rules else None,
        "rule_sources": [_source(plan, r.get("source")) for r in rules],
        "note": (
            "规划管控要求写明一级保护区与生态保护红线的关系，见所列行号。"
            if rules
            else "规划未写明一级保护区是否应划入生态保护红线；此处列出供核对。"
        ),
    }

    # 3. overlaps inside the red-line layer
    wl = _within(redline)
    overlap_geom = shapely.Polygon()
    if wl["pairs"] and redline is not None:
        geoms = np.asarray(redline.geometry.values, dtype=object)
        ids = list(redline["feature_id"]) if "feature_id" in redline.columns else list(range(len(redline)))
        idx = {_plain(v): i for i, v in enumerate(ids)}
        overlap_geom = _union(
            [_polygonal(shapely.intersection(geoms[idx[p["a_id"]]], geoms[idx[p["b_id"]]])) for p in wl["pairs"]]
        )
    out["redline_internal_overlaps"] = {
        "label": "生态保护红线图斑相互重叠（朴素求和会重复计算）",
        "area_m2": area_m2(overlap_geom),
        "geometry": geojson_geometry(overlap_geom),
        "pairs": wl["pairs"],
        "naive_sum_m2": wl["naive_sum_m2"],
        "dissolved_m2": wl["dissolved_m2"],
        "double_counted_m2": wl["double_counted_m2"],
    }
    return out


# ---------------------------------------------------------------------------
# everything for one district


def district_shares(
    layers: dict,
    plan: dict,
    tolerance: float = DEFAULT_TOLERANCE_PP,
    area_tolerance_pct: float = DEFAULT_AREA_TOLERANCE_PCT,
    overlap_by: dict | None = None,
    raster_path=None,
    raster_preset=None,
) -> dict:
    """All shares for one district: {"indicators", "overlaps", "within_layer", "findings", "conflicts", "district_area_m2"}.

    ``layers`` maps kind → GeoDataFrame (EPSG:4490) and must include "district". Indicator
    rows: redline_share, its alternative-denominator rows, protected_area_share (total, then per
    type), and forest_cover when ``raster_path`` (a land-cover GeoTIFF) is given
    (geo.raster_share.forest_cover_row, with the share inside the red line).
    """
    token = _MEMO.set({})
    try:
        district = _union(layers["district"])
        district_m2 = _area(district)
        indicators = []
        rl = redline_share(layers.get("redline"), district, plan, tolerance, area_tolerance_pct)
        indicators.append(rl)
        indicators.extend(rl["alternatives"])
        indicators.extend(protected_area_share(layers.get("protected_area"), district, plan, tolerance, area_tolerance_pct))
        within = {}
        for kind, gdf in layers.items():
            if kind == "district" or gdf is None or len(gdf) == 0:
                continue
            if not np.isin(shapely.get_type_id(_geom_array(gdf)), (3, 6)).any():
                continue
            within[kind] = _within(gdf)
        if raster_path is not None:
            from geo.raster_share import forest_cover_row  # rasterio only when a raster is asked for

            redline = layers.get("redline")
            indicators.append(
                forest_cover_row(
                    raster_path,
                    district,
                    plan,
                    preset=raster_preset,
                    tolerance=tolerance,
                    redline_geom=_union(redline) if redline is not None and len(redline) else None,
                )
            )
        return {
            "district_area_m2": district_m2,
            "indicators": indicators,
            "overlaps": overlap_matrix(layers, district, by=overlap_by),
            "within_layer": within,
            "findings": consistency_findings(plan, district_m2),
            "conflicts": conflicts(layers, plan, district),
        }
    finally:
        _MEMO.reset(token)
