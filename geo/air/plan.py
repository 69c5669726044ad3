"""A district's annual air assessment against its plan's air indicators (PM2.5 年均浓度, 优良天数 / 优良天数比例).

Plans write their targets as they were printed: '≤35', '35*' (以市级下达为准), '≥322[4]' (a table note),
'≥90（330天）', '328'. The leading comparison and number are the target; a bare number is read with the
indicator's natural direction (PM2.5 at most, good days at least). The value compared is the assessment's
own figure, already rounded as the standard says (GB/T 8170: PM2.5 to an integer, the ratio to 0.1 %), and
the comparison is exact: 89.9 % does not meet ≥ 90. The plan's 2020 value is shown beside it, with the
change, when it is a plain number ('【95】' — a five-year mean — is quoted as written).
"""
from __future__ import annotations

from decimal import Decimal

from geo import vocabulary
from geo.shares.rules import figure_text, parse_figure

_TARGET = {k: vocabulary.status("target", k) for k in ("met", "not_met", "undetermined")}
_TARGET_EN = {k: vocabulary.default().statuses["target"][k]["en"] for k in _TARGET}

# plan indicator key → how its value is read from an annual assessment; the unit picks the good-days figure
INDICATORS = {
    "pm25": {"default_op": "≤", "what": "PM2.5 年平均浓度"},
    "good_air_days": {"default_op": "≥", "what": "优良天数"},
}


def _pm25_annual_mean(result: dict) -> float | None:
    stats = result["pollutants"]["PM2.5"]["statistics"]
    return next((s["value"] for s in stats if s["statistic"] == "annual_mean" and s["validity"]["ok"]), None)


def _measure(key: str, unit: str, result: dict | None) -> tuple[float | None, str, str]:
    """(value, unit shown, what was measured) of a plan indicator from an annual assessment (None when none)."""
    if key == "pm25":
        return (_pm25_annual_mean(result) if result else None), "μg/m³", "PM2.5 年平均浓度（HJ 663 年评价，修约为整数）"
    if "天" in (unit or ""):
        return (result["good_days"] if result else None), "天", "优良天数（AQI ≤ 100 的天数）"
    return (result["good_days_ratio"] if result else None), "%", "优良天数比例（保留 1 位小数）"


def _status(key: str) -> dict:
    return {"status": _TARGET[key], "status_en": _TARGET_EN[key]}


def _meets(value: float, op: str, target: Decimal) -> bool:
    v = Decimal(str(value))
    return {"≥": v >= target, "≤": v <= target, ">": v > target, "<": v < target}[op]


def compare_with_plan(result: dict | None, plan: dict, scope_zh: str) -> list[dict]:
    """One row per air indicator of the plan, judged on a district assessment (geo.air.assess_city or
    assess_station result; None when the district has no assessable data).

    Returns [{"key", "name", "category", "unit", "year", "value", "value_unit", "measured_zh", "target_text",
    "target": {"op", "value"} | None, "value_2020_text", "value_2020", "change_from_2020", "status" (达标 / 未达标 /
    无法判断), "status_en", "reason", "scope_zh", "standard_zh", "source_line", "note"}]."""
    rows = []
    for ind in plan.get("indicators", []):
        spec = INDICATORS.get(ind.get("key"))
        if spec is None:
            continue
        value, value_unit, measured = _measure(ind["key"], ind.get("unit"), result)
        target_text = figure_text(ind.get("target_2025"))
        parsed = parse_figure(target_text)
        op, target = (parsed[0] or spec["default_op"], parsed[1]) if parsed else (None, None)
        base = parse_figure(ind.get("value_2020"))
        base_is_plain = base is not None and base[0] is None and str(figure_text(ind["value_2020"])).strip()[:1].isdigit()
        row = {"key": ind["key"], "name": ind.get("name"), "category": ind.get("category"), "unit": ind.get("unit"),
               "year": result["year"] if result else None, "value": value, "value_unit": value_unit, "measured_zh": measured,
               "target_text": target_text, "target": {"op": op, "value": float(target)} if parsed else None,
               "value_2020_text": figure_text(ind.get("value_2020")),
               "value_2020": float(base[1]) if base_is_plain else None,
               "change_from_2020": (round(value - float(base[1]), 1) if base_is_plain and value is not None else None),
               "scope_zh": scope_zh, "standard_zh": result["standard_zh"] if result else None,
               "source_line": (ind.get("source") or {}).get("line"), "note": ind.get("note")}
        if parsed is None:
            row.update(_status("undetermined"), reason=f"规划目标“{target_text}”不是可比较的数值 / the target is not a comparable number")
        elif value is None:
            row.update(_status("undetermined"),
                       reason=(f"{scope_zh}没有可评价的数据（数据不足或缺项） / no assessable data" if result is not None
                               else f"{scope_zh}没有监测数据 / no monitoring data"))
        else:
            ok = _meets(value, op, target)
            row.update(_status("met" if ok else "not_met"),
                       reason=f"{result['year']} 年 {measured.split('（')[0]} {value:g} {value_unit}，目标 {op}{target} {value_unit}")
        rows.append(row)
    return rows
