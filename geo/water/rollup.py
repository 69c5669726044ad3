"""Sections as the district plans list them, counted by class and compared with the plans' targets.

The counts follow 《地表水环境质量评价办法（试行）》: shares of Ⅰ–Ⅲ and of 劣Ⅴ over sections that have
a class, and the class-share word (优 … 重度污染) for a river or basin of at least 5 sections.
Shares are compared with targets as exact fractions, so 14/15 = 93.33 % meets ≥93.
"""
from __future__ import annotations

import re
from collections import defaultdict
from fractions import Fraction

from geo import vocabulary
from geo.errors import ConfigError
from geo.water.table import WATER_BODY_ZH, WORSE_THAN_5, class_name, class_num, normalize_water_body, target_num

# monitoring levels (国控, 市控, 区控) in the vocabulary's order: the one place they are spelled
LEVELS = tuple(vocabulary.default().levels)
# comparison with a plan target: 达标 / 未达标 / 无法判断, from the vocabulary
_TARGET = vocabulary.default().statuses["target"]


# ---------------------------------------------------------------------------------------------
# Sections from plans
# ---------------------------------------------------------------------------------------------

def section_id(adcode: str, name: str) -> str:
    return f"{adcode}:{name}"


def sections_from_plans(plans: dict[str, dict]) -> list[dict]:
    """Monitoring sections of every plan as import/lookup dicts.

    Each: {"id": "500110:北渡", "adcode", "district", "name", "river", "water_body": "river"|"lake",
    "water_body_zh", "level", "target_class": "Ⅲ"|None, "target_class_num": 3|None, "class_2020",
    "source_line"}.
    """
    out = []
    for adcode, plan in plans.items():
        for i, s in enumerate(plan.get("monitoring_sections", [])):
            if s["level"] not in LEVELS:
                raise ConfigError(f"data/plans/{adcode}.yaml", f"monitoring_sections/{i}/level",
                                  f"断面级别 {s['level']} 不在词汇表 monitoring_levels（{'、'.join(LEVELS)}）中 / unknown monitoring level")
            wb = normalize_water_body(s["water_body"])
            out.append({"id": section_id(adcode, s["name"]), "adcode": adcode, "district": plan.get("name"),
                        "name": s["name"], "river": s.get("river"), "water_body": wb,
                        "water_body_zh": WATER_BODY_ZH[wb], "level": s["level"],
                        "target_class": s.get("target_class"),
                        "target_class_num": class_num(s["target_class"]) if s.get("target_class") else None,
                        "class_2020": s.get("class_2020"),
                        "source_line": (s.get("source") or {}).get("line")})
    return out


# ---------------------------------------------------------------------------------------------
# Rollups
# ---------------------------------------------------------------------------------------------

def _pct(n: int, d: int) -> float | None:
    return round(100 * n / d, 2) if d else None


def _quality_by_class_share(n: int, n13: int, n6: int) -> str | None:
    """评价办法 class-share rule for a river/basin; defined for ≥ 5 sections only."""
    if n < 5:
        return None
    s13, s6 = Fraction(100 * n13, n), Fraction(100 * n6, n)
    if s13 >= 90:
        return "优"
    if s13 >= 75:
        return "良好"
    if s6 < 20:
        return "轻度污染"
    if s6 < 40:
        return "中度污染"
    return "重度污染"


def _group_stats(items: list[dict]) -> dict:
    assessed = [r for r in items if r.get("class_num") is not None]
    n = len(assessed)
    n13 = sum(1 for r in assessed if r["class_num"] <= 3)
    n6 = sum(1 for r in assessed if r["class_num"] == WORSE_THAN_5)
    with_target = [r for r in assessed if r.get("target_class") not in (None, "")]
    n_ok = sum(1 for r in with_target if r["class_num"] <= target_num(r["target_class"]))
    counts = {class_name(i): sum(1 for r in assessed if r["class_num"] == i) for i in range(1, 7)}
    return {"n_sections": len(items), "n_assessed": n, "n_no_data": len(items) - n,
            "class_counts": counts,
            "n_class_1_3": n13, "share_class_1_3_pct": _pct(n13, n),
            "n_worse_than_5": n6, "share_worse_than_5_pct": _pct(n6, n),
            "n_with_target": len(with_target), "n_compliant": n_ok,
            "compliance_pct": _pct(n_ok, len(with_target)),
            "quality_by_class_share": _quality_by_class_share(n, n13, n6)}


def rollup(results: list[dict]) -> dict:
    """Counts and shares over sections, overall, by level (国控/市控/区控) and by district.

    results: [{"level", "target_class" ('Ⅲ', 3 or None), "class_num" (1–6 or None = no data),
    optional "adcode"}]. Shares use sections WITH a class as the denominator; compliance uses those
    with both a class and a target (class_num ≤ target). Percentages are rounded to 2 decimals.

    Returns {"overall": stats, "by_level": {"国控": stats, ...}, "by_district": {adcode: stats}}
    with stats = {"n_sections", "n_assessed", "n_no_data", "class_counts": {"Ⅰ": n, ...},
    "n_class_1_3", "share_class_1_3_pct", "n_worse_than_5", "share_worse_than_5_pct",
    "n_with_target", "n_compliant", "compliance_pct", "quality_by_class_share"}.
    """
    by_level: dict[str, list[dict]] = defaultdict(list)
    by_district: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        by_level[r.get("level") or "未定级"].append(r)
        if r.get("adcode"):
            by_district[r["adcode"]].append(r)
    levels = [lv for lv in LEVELS if lv in by_level] + sorted(lv for lv in by_level if lv not in LEVELS)
    return {"overall": _group_stats(results),
            "by_level": {lv: _group_stats(by_level[lv]) for lv in levels},
            "by_district": {a: _group_stats(v) for a, v in sorted(by_district.items())}}


# ---------------------------------------------------------------------------------------------
# Comparison with the plan
# ---------------------------------------------------------------------------------------------

_TARGET_RE = re.compile(r"^(≥|>=|＞=|≤|<=|＜=|>|＞|<|＜)?\s*(\d+(?:\.\d+)?)\s*[%％]?$")
_OPS = {"≥": "≥", ">=": "≥", "＞=": "≥", "≤": "≤", "<=": "≤", "＜=": "≤", ">": ">", "＞": ">", "<": "<", "＜": "<"}
_PLAN_KEYS = {
    "surface_water_class_1_3": {"count": "n_class_1_3", "default_op": "≥", "what": "达到或优于Ⅲ类"},
    "surface_water_worse_than_5": {"count": "n_worse_than_5", "default_op": "≤", "what": "劣Ⅴ类"},
}


def parse_target(text, default_op: str = "≥") -> dict | None:
    """'100' → {'op': default_op, 'value_pct': 100}; '≥93', '≤5', '0'; anything else (力争…) → None."""
    if text is None:
        return None
    m = _TARGET_RE.match(str(text).strip())
    if not m:
        return None
    return {"op": _OPS[m.group(1)] if m.group(1) else default_op, "value_pct": Fraction(m.group(2))}


def _meets(actual: Fraction, op: str, target: Fraction) -> bool:
    return {"≥": actual >= target, "≤": actual <= target, ">": actual > target, "<": actual < target}[op]


def _status(key: str) -> dict:
    """{"status", "status_en"} of one of the vocabulary's target words (met, not_met, undetermined)."""
    return {"status": _TARGET[key]["label"], "status_en": _TARGET[key]["en"]}


def compare_with_plan(rollup_result: dict, plan: dict) -> list[dict]:
    """Status of the plan's section indicators against a rollup of that district's sections.

    Handles indicators keyed surface_water_class_1_3 (share at Ⅰ–Ⅲ) and surface_water_worse_than_5
    (share at 劣Ⅴ). Scope: a level's group when the indicator's name mentions that level (国控), else all sections.
    A bare number means ≥ for the Ⅰ–Ⅲ share and ≤ for the 劣Ⅴ share. Comparison is exact
    (fractions), so 14/15 = 93.33 % meets ≥93.

    Returns [{"key", "name", "category", "value_2020", "target_text", "target": {"op", "value_pct"}|None,
    "scope", "n_assessed", "n_matching", "actual_pct", "status": the vocabulary's target word (达标 | 未达标 | 无法判断),
    "status_en", "reason", "source_line"}].
    """
    out = []
    for ind in plan.get("indicators", []):
        spec = _PLAN_KEYS.get(ind.get("key"))
        if spec is None:
            continue
        scope = next((lv for lv in LEVELS if lv in ind.get("name", "")), "全部")  # e.g. 地表水国控断面… → the 国控 group
        stats = rollup_result["overall"] if scope == "全部" else rollup_result["by_level"].get(scope)
        target_text = ind.get("target_2025")
        target = parse_target(target_text, spec["default_op"])
        n = stats["n_assessed"] if stats else 0
        k = stats[spec["count"]] if stats else 0
        row = {"key": ind["key"], "name": ind.get("name"), "category": ind.get("category"),
               "value_2020": ind.get("value_2020"), "target_text": target_text,
               "target": {"op": target["op"], "value_pct": float(target["value_pct"])} if target else None,
               "scope": scope, "n_assessed": n, "n_matching": k, "actual_pct": _pct(k, n),
               "source_line": (ind.get("source") or {}).get("line")}
        if target is None:
            row.update(_status("undetermined"), reason=f"目标“{target_text}”不是可比较的数值 / target is not a comparable number")
        elif n == 0:
            row.update(_status("undetermined"), reason=f"范围（{scope}断面）内没有有水质类别的断面 / no classified section in scope")
        else:
            ok = _meets(Fraction(100 * k, n), target["op"], target["value_pct"])
            row.update(_status("met" if ok else "not_met"),
                       reason=f"{spec['what']} {k}/{n} = {_pct(k, n)}%，目标 {target['op']}{float(target['value_pct']):g}%")
        out.append(row)
    return out
