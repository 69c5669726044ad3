"""Environmental control units (环境管控单元) against the published 三线一单 figures: each class's dissolved
area share of the district and its number of units, and the findings when they differ.

The published shares are printed to 0.1 %, so they are judged like the plan's figures (geo.shares.rules:
the rounding interval, or ± the configured tolerance). Counts are exact.
"""
from __future__ import annotations

from geo.geometry import clip, dissolve, memo_area_m2
from geo.shares.indicators import METHOD_DISSOLVE, METHOD_ELLIPSOID, _row, _with_years
from geo.shares.rules import STATUS_FAIL, figure_text

INDICATOR = "control_unit_share"


def published_source(published: dict) -> dict:
    src = published["source"]
    return {"document": f"《{src['title']}》（{src['issuer']}，{src['date']}）{src['table']}", "seed": None, "line": None}


def control_unit_shares(units_gdf, district_geom, adcode: str, published: dict, kind, tolerance: float | None) -> tuple[list[dict], list[dict]]:
    """(indicator rows, findings) of one district's units by class. kind: the vocabulary kind (class attribute
    and values). A district the published table does not list gets rows without a figure (无目标)."""
    class_attr = kind.group_by
    figures = (published["districts"].get(adcode) or {})
    classes = figures.get("classes") or {}
    scope = figures.get("scope")
    source = published_source(published)
    district = dissolve(district_geom)
    denominator = memo_area_m2(district)
    rows, findings = [], []
    if units_gdf is None or not len(units_gdf):
        return rows, findings
    values = list(kind.attribute(class_attr).values)
    present = [v for v in values if (units_gdf[class_attr] == v).any()] + sorted(set(units_gdf[class_attr]) - set(values))
    for cls in dict.fromkeys(values + present):
        sub = units_gdf[units_gdf[class_attr] == cls]
        stated = classes.get(cls)
        if not len(sub) and not stated:
            continue
        inside = clip(dissolve(sub), district) if len(sub) else None
        method = (f"管控类别为“{cls}”的单元{METHOD_DISSOLVE}，再与行政区界求交，÷ 区界面积。{METHOD_ELLIPSOID}。"
                  f"对照公布数字：{source['document']}" + (f"。口径：{scope}" if scope else ""))
        row = _with_years(_row(f"{INDICATOR}:{cls}", f"{kind.name_zh}面积占比（{cls}）", f"{cls}占比",
                               memo_area_m2(inside) if inside is not None else 0.0, denominator,
                               stated["share_pct"] if stated else None, tolerance, method, source), None, None, tolerance)
        row.update({"unit_class": cls, "n_units": int(len(sub)), "published_count": stated["count"] if stated else None,
                    "scope": scope})
        rows.append(row)
        if stated and row["status"] == STATUS_FAIL:
            findings.append({
                "kind": "control_unit_share",
                "text": (f"{cls}面积占比计算为 {row['computed_pct']:.2f}%，公布为 {figure_text(stated['share_pct'])}%（{row['rule_zh']}），"
                         f"相差 {row['diff_pct_points']:+.2f} 个百分点" + (f"；{scope}" if scope else "") + "。"),
                "severity": "medium", "numbers": {"computed_pct": row["computed_pct"], "published_pct": stated["share_pct"]},
                "source": source})
        if stated and stated["count"] != len(sub):
            findings.append({
                "kind": "control_unit_count",
                "text": f"{cls}有 {len(sub)} 个，公布为 {stated['count']} 个" + (f"（{scope}）" if scope else "") + "。",
                "severity": "low", "numbers": {"count": int(len(sub)), "published_count": stated["count"]}, "source": source})
    return rows, findings
