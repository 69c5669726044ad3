"""Single-factor class of a sample, a month or a year, and 超标倍数 against a target class.

Method (《地表水环境质量评价办法（试行）》, single-factor): each assessed parameter gets the best class
whose limit it meets (limits inclusive: ≤ for pollutants, ≥ for DO; shared limits such as COD 15 for
Ⅰ and Ⅱ give the better class); the section's class is the worst of them; beyond Ⅴ is 劣Ⅴ. pH inside
6–9 counts as Ⅰ, outside as 劣Ⅴ. TP has separate river and lake/reservoir limits; TN is assessed for
lakes/reservoirs only.

Values are mg/L except pH (dimensionless); the dict key `values_mg_l` follows that convention.
"""
from __future__ import annotations

import math
from collections import defaultdict

from geo.errors import DataError
from geo.water.table import (PARAMETER_KEYS, WATER_BODY_ZH, WORSE_THAN_5, class_info, class_name,
                             expected_parameters, load_table, normalize_water_body, target_num)
from geo.water.values import check_values


def _parameter_class(p: dict, wb: str, v: float) -> tuple[int, object]:
    """(class_num, limit_for_class) for one parameter; for 劣Ⅴ the limit is the Ⅴ limit it fails."""
    if p["direction"] == "range":
        lo, hi = p["range"]
        return (1 if lo <= v <= hi else WORSE_THAN_5), [lo, hi]
    limits = p["limits"][wb]
    for i, lim in enumerate(limits):
        if (v <= lim) if p["direction"] == "max" else (v >= lim):
            return i + 1, lim
    return WORSE_THAN_5, limits[-1]


def _classify_clean(clean: dict[str, float], wb: str) -> dict:
    params = load_table()["parameters"]
    per, not_assessed = {}, []
    for key in PARAMETER_KEYS:
        if key not in clean:
            continue
        p = params[key]
        if wb not in p["applies_to"]:
            not_assessed.append(key)
            continue
        num, limit = _parameter_class(p, wb, clean[key])
        per[key] = {"name_zh": p["name_zh"], "value": clean[key], "unit": p["unit"],
                    "class_num": num, "class": class_name(num), "color": class_info(num)["color"], "limit_for_class": limit}
    worst = max((e["class_num"] for e in per.values()), default=None)
    out = {"water_body": wb, "class": None, "class_num": None, "color": None, "quality": None,
           "deciding_parameters": [k for k, e in per.items() if e["class_num"] == worst] if worst else [],
           "per_parameter": per,
           "missing_parameters": [k for k in expected_parameters(wb) if k not in clean],
           "not_assessed": not_assessed}
    if worst is not None:
        info = class_info(worst)
        out.update({"class": info["name"], "class_num": worst, "color": info["color"], "quality": info["quality"]})
    return out


def classify(values: dict, water_body: str) -> dict:
    """Single-factor class of one sample (or one period's means).

    Returns {"water_body": "river"|"lake", "class": "Ⅲ", "class_num": 3, "color": "#37b70c",
    "quality": "良好", "deciding_parameters": [...], "per_parameter": {key: {"name_zh", "value", "unit",
    "class_num", "class", "color" (of that parameter's own class), "limit_for_class"}}, "missing_parameters": [...], "not_assessed": [...]}.
    limit_for_class is the limit of the assigned class (for 劣Ⅴ: the Ⅴ limit it fails; for pH: [6, 9]).
    not_assessed lists parameters given but not applicable (TN for a river).
    Raises DataError for unknown keys, non-numeric or negative values, or nothing to assess.
    """
    wb = normalize_water_body(water_body)
    result = _classify_clean(check_values(values), wb)
    if result["class_num"] is None:
        raise DataError(f"没有可参与评价的参数（{WATER_BODY_ZH[wb]}评价参数：{', '.join(expected_parameters(wb))}）",
                        f"no assessable parameter given (for a {wb}: {', '.join(expected_parameters(wb))})")
    return result


def _exceedance_clean(clean: dict[str, float], wb: str, target: int) -> dict:
    params = load_table()["parameters"]
    out = {}
    for key in PARAMETER_KEYS:
        if key not in clean or wb not in params[key]["applies_to"]:
            continue
        p, v = params[key], clean[key]
        if p["direction"] == "range":
            lo, hi = p["range"]
            if not lo <= v <= hi:
                out[key] = {"value": v, "limit": [lo, hi], "exceedance_ratio": None,
                            "note": "pH 超出 6–9，不计算超标倍数 / pH outside 6–9: no exceedance ratio"}
            continue
        cs = p["limits"][wb][target - 1]
        if p["direction"] == "max" and v > cs:
            out[key] = {"value": v, "limit": cs, "exceedance_ratio": round((v - cs) / cs, 3)}
        elif p["direction"] == "min" and v < cs:
            out[key] = {"value": v, "limit": cs, "exceedance_ratio": round((cs - v) / cs, 3)}
    return out


def exceedance(values: dict, water_body: str, target_class_num) -> dict:
    """超标倍数 of every parameter worse than the target class limit Cs.

    Formula (as used in Chinese monitoring reports): pollutants (≤ limits) (C − Cs) / Cs;
    DO (≥ limits) (Cs − C) / Cs. A value exactly on Cs meets the target (limits inclusive).
    pH outside 6–9 is listed with exceedance_ratio None: a ratio is not defined for pH.
    Ratios are rounded to 3 decimals.

    Returns {"target_class": "Ⅲ", "target_class_num": 3, "compliant": bool,
    "parameters": {key: {"value", "limit", "exceedance_ratio"}}}.
    target_class_num accepts 1–5 or a class name ('Ⅲ', 'III').
    """
    wb = normalize_water_body(water_body)
    target = target_num(target_class_num)
    ex = _exceedance_clean(check_values(values), wb, target)
    return {"target_class": class_name(target), "target_class_num": target, "compliant": not ex, "parameters": ex}


def _mean(xs: list[float]) -> float:
    # round to 6 decimals only to drop binary noise (0.3+0.3+… ≠ 0.9 exactly) before inclusive limits
    return round(math.fsum(xs) / len(xs), 6)


def _period_of(rec: dict) -> str:
    return rec.get("period") or str(rec["date"])[:7]


def classify_periods(records: list[dict], water_body: str, target_class_num=None) -> dict:
    """Monthly and annual classes of ONE section.

    Monthly: the mean of each parameter over that month's samples. Annual: the mean of the monthly
    means (each month weighs the same, so an extra sample in a bad month does not skew the year),
    then the single-factor class; this can be better than the worst month, as the 评价办法 intends.

    Returns {"monthly": [{"period": "2024-07", "n_samples", "values_mg_l", "class", "class_num",
    "color", "quality", "deciding_parameters", "per_parameter", "missing_parameters", "not_assessed",
    "exceedance", "compliant"}], "annual": [{"year": "2024", "n_months", "months", "values_mg_l",
    ..., "worst_month_class_num", "worst_month"}]}. exceedance/compliant are None without a target;
    class fields are None for a period with no assessable parameter.
    """
    wb = normalize_water_body(water_body)
    target = target_num(target_class_num) if target_class_num not in (None, "") else None
    by_month: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    n_samples: dict[str, int] = defaultdict(int)
    for rec in records:
        p = _period_of(rec)
        n_samples[p] += 1
        month = by_month[p]  # created even if every value is blank, so the month still shows
        for k, v in check_values(rec["values"]).items():
            month[k].append(v)

    def period_result(means: dict[str, float]) -> dict:
        res = _classify_clean(means, wb)
        res["values_mg_l"] = dict(means)
        if target is not None and res["class_num"] is not None:
            res["exceedance"] = _exceedance_clean(means, wb, target)
            res["compliant"] = res["class_num"] <= target
        else:
            res["exceedance"], res["compliant"] = None, None
        return res

    monthly = []
    for p in sorted(by_month):
        means = {k: _mean(v) for k, v in by_month[p].items()}
        monthly.append({"period": p, "n_samples": n_samples[p], **period_result(means)})

    annual = []
    by_year: dict[str, list[dict]] = defaultdict(list)
    for m in monthly:
        by_year[m["period"][:4]].append(m)
    for y, months in sorted(by_year.items()):
        acc: dict[str, list[float]] = defaultdict(list)
        for m in months:
            for k, v in m["values_mg_l"].items():
                acc[k].append(v)
        res = period_result({k: _mean(v) for k, v in acc.items()})
        classed = [m for m in months if m["class_num"] is not None]
        worst = max(classed, key=lambda m: m["class_num"], default=None)
        annual.append({"year": y, "n_months": len(months), "months": [m["period"] for m in months], **res,
                       "worst_month_class_num": worst["class_num"] if worst else None,
                       "worst_month": worst["period"] if worst else None})
    return {"monthly": monthly, "annual": annual}
