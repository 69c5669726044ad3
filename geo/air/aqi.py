"""空气质量分指数 (IAQI) and 空气质量指数 (AQI) under HJ 633, edition chosen by the observation date.

IAQI_P = (IAQI_Hi − IAQI_Lo) / (BP_Hi − BP_Lo) × (C_P − BP_Lo) + IAQI_Lo between the two breakpoints
around C_P, then rounded UP to an integer (HJ 633-2012 6.2, HJ 633-2026 4.2.6). AQI is the largest
IAQI; when AQI > 50 the pollutants with that IAQI are 首要污染物 (ties all listed). HJ 633-2026 first
rounds concentrations per GB/T 8170 (integers, CO one decimal; 4.2.2), HJ 633-2012 uses them as given.
Concentrations are µg/m³, CO mg/m³. Above a table's last breakpoint: SO2 1-h > 800 and O3 8-h > 800
follow each edition's note; anything else above the 500 breakpoint gives 500 (the system's rule).

aqi() answers one set of concentrations with plain dicts; aqi_arrays() is the same arithmetic on
numpy arrays (one value per day) for the annual assessment.
"""
from __future__ import annotations

import math
import re

import numpy as np

from geo.air.standards import edition_by_id, edition_summary, parse_date, resolve, round_gbt8170, round_gbt8170_array
from geo.errors import DataError

_MISSING_TEXT = {"", "na", "n/a", "/", "—", "-", "--"}  # HJ 633 tables write NA for 缺测 and / for 未开展监测


def _norm(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(text).strip().lower()).replace("pm2_5", "pm2.5").replace("pm25", "pm2.5")


def canonical_indicator(name, ed: dict) -> str | None:
    """'pm2_5_24h', 'PM2.5-24h', 'PM25' → 'PM2.5_24h' (a bare SO2/NO2/CO/PM10/PM2.5 means its 24-h mean); None if unknown."""
    n = _norm(name)
    inds = ed["aqi"]["indicators"]
    for key in inds:
        if _norm(key) == n:
            return key
    bare = {_norm(ind["pollutant"]): key for key, ind in inds.items() if ind["averaging"] == "24h"}
    return bare.get(n)


def _to_number(raw):
    """float, None for 'not measured', or the string 'bad' for anything that is not a number."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "bad"
    if isinstance(raw, (int, float, np.integer, np.floating)):
        v = float(raw)
        return None if math.isnan(v) else (v if math.isfinite(v) else "bad")
    if isinstance(raw, str):
        s = raw.strip()
        if s.lower() in _MISSING_TEXT:
            return None
        try:
            v = float(s)
        except ValueError:
            return "bad"
        return v if math.isfinite(v) else "bad"
    return "bad"


def concentration_array(seq, what: str) -> np.ndarray:
    """Float array of concentrations, NaN for not measured (None, NaN, "NA", "/"); DataError for
    anything else that is not a finite number, or a negative one, naming the first and the count."""
    if isinstance(seq, np.ndarray) and seq.dtype.kind in "fiu":
        arr = seq.astype(float).ravel()
    else:
        seq = list(seq) if not isinstance(seq, (list, tuple, np.ndarray)) else seq
        try:
            arr = np.asarray(seq, dtype=float).ravel()
        except (TypeError, ValueError):
            conv = [_to_number(v) for v in seq]
            bad = [i for i, v in enumerate(conv) if v == "bad"]
            if bad:
                raise DataError(f"{what}第 {bad[0] + 1} 个值不是数值：{str(seq[bad[0]])[:40]!r}（共 {len(bad)} 个）",
                                f"{what}: value {bad[0] + 1} is not a number: {str(seq[bad[0]])[:40]!r} ({len(bad)} in all)")
            arr = np.array([np.nan if v is None else v for v in conv], dtype=float)
    if np.isinf(arr).any():
        i = int(np.flatnonzero(np.isinf(arr))[0])
        raise DataError(f"{what}第 {i + 1} 个值不是有限数", f"{what}: value {i + 1} is not finite")
    neg = np.flatnonzero(arr < 0)
    if neg.size:
        raise DataError(f"{what}第 {neg[0] + 1} 个值为负数：{arr[neg[0]]:g}（共 {neg.size} 个）",
                        f"{what}: value {neg[0] + 1} is negative: {arr[neg[0]]:g} ({neg.size} in all)")
    return arr


def _check(values, ed: dict) -> dict[str, float]:
    """Canonical indicator keys → floats (None values dropped); one DataError naming every problem."""
    if not isinstance(values, dict):
        raise DataError("浓度应为 {指标: 数值} 映射", "concentrations must be an {indicator: number} mapping")
    known = list(ed["aqi"]["indicators"])
    unknown, bad, clean = [], {}, {}
    for raw_key, raw_val in values.items():
        key = canonical_indicator(raw_key, ed)
        if key is None:
            unknown.append(str(raw_key)[:40])
            continue
        if key in clean or key in bad:
            bad[key] = ("指标重复（不同写法指同一指标）", "given twice (different spellings of the same indicator)")
            continue
        v = _to_number(raw_val)
        if v is None:
            continue
        if v == "bad":
            bad[key] = (f"不是数值：{str(raw_val)[:40]!r}", f"not a number: {str(raw_val)[:40]!r}")
        elif v < 0:
            bad[key] = (f"不能为负数：{raw_val!r}", f"must not be negative: {raw_val!r}")
        else:
            clean[key] = v
    if unknown or bad:
        std = ed["aqi"]["standard"]
        zh, en = [], []
        if unknown:
            zh.append(f"未知的污染物或指标：{', '.join(unknown)}（{std} 可用：{', '.join(known)}；SO2、NO2、CO、PM10、PM2.5 单写时指24小时平均）")
            en.append(f"unknown pollutants or indicators: {', '.join(unknown)} ({std} knows: {', '.join(known)}; "
                      f"a bare SO2, NO2, CO, PM10 or PM2.5 means its 24-h mean)")
        for k, (pzh, pen) in bad.items():
            zh.append(f"{k} {pzh}")
            en.append(f"{k} {pen}")
        raise DataError("；".join(zh), "; ".join(en),
                        {"unknown_indicators": unknown, "known_indicators": known,
                         "invalid_values": {k: {"problem": pzh, "problem_en": pen} for k, (pzh, pen) in bad.items()}})
    if not clean:
        raise DataError(f"没有给出任何浓度（可用指标：{', '.join(known)}）", f"no concentration given (known: {', '.join(known)})")
    return clean


def _used_concentration(ed: dict, ind: dict, c):
    """The concentration the IAQI is computed from: HJ 633-2026 rounds it first (GB/T 8170)."""
    r = ed["rounding"]
    if not r["concentrations_before_iaqi"]:
        return c
    d = r["decimals"][ind["pollutant"]]
    return round_gbt8170_array(c, d) if isinstance(c, np.ndarray) else round_gbt8170(c, d)


def _ceil(x):
    # drop binary noise first: 50/40 × 40 + 50 must stay 100, not become 101
    return np.ceil(np.round(x, 9))


def aqi_class(aqi_value, ed: dict) -> dict | None:
    """{"level_num", "level", "category", "color", "color_zh", "max_aqi"} of an AQI (HJ 633 表1/表2), None for None."""
    if aqi_value is None:
        return None
    for c in ed["aqi"]["classes"]:
        if c["max_aqi"] is None or aqi_value <= c["max_aqi"]:
            return dict(c)
    raise AssertionError("unreachable: the last class is open")


# ---------------------------------------------------------------------------------------------
# One set of concentrations
# ---------------------------------------------------------------------------------------------

def _one_iaqi(ed: dict, key: str, c_used: float) -> dict:
    """IAQI of one indicator before any rule that needs another indicator; 'pending' marks such a case."""
    ind = ed["aqi"]["indicators"][key]
    bp, lv = ind["breakpoints"], ind["levels"]
    if c_used > bp[-1]:
        rule = ind["above_top"]
        if rule is None:
            return {"iaqi": int(lv[-1]), "band": [bp[-1], None], "iaqi_band": [lv[-1], lv[-1]],
                    "rule_zh": f"浓度高于表列最高浓度限值 {bp[-1]:g} {ind['unit']}，IAQI 按 {lv[-1]:g} 计（标准未规定，本系统约定）"}
        if rule["rule"] == "fixed":
            return {"iaqi": int(rule["iaqi"]), "band": [bp[-1], None], "iaqi_band": [rule["iaqi"], rule["iaqi"]],
                    "rule_zh": ind["note"]}
        return {"iaqi": None, "pending": rule["indicator"], "band": [bp[-1], None], "iaqi_band": None, "rule_zh": ind["note"]}
    j = next(i for i in range(1, len(bp)) if c_used <= bp[i]) if c_used > 0 else 1
    raw = (lv[j] - lv[j - 1]) / (bp[j] - bp[j - 1]) * (c_used - bp[j - 1]) + lv[j - 1]
    return {"iaqi": int(_ceil(raw)), "band": [bp[j - 1], bp[j]], "iaqi_band": [lv[j - 1], lv[j]], "rule_zh": None}


def iaqi(indicator: str, concentration, on) -> dict:
    """IAQI of one indicator on a date: the aqi() entry for it plus "date", "notes" and "edition".
    Keys: "indicator", "pollutant", "name_zh", "unit", "concentration", "concentration_used", "iaqi", "band"
    ([BP_Lo, BP_Hi] used; BP_Hi None above the table), "iaqi_band", "rule_zh"."""
    res = aqi({indicator: concentration}, on)
    return {**next(iter(res["iaqi"].values())), "date": res["date"], "notes": res["notes"], "edition": res["edition"]}


def aqi(concentrations: dict, on) -> dict:
    """AQI of one set of concentrations observed on a date (the date picks the edition).

    Returns {"date", "aqi", "level", "level_num", "category", "color", "color_zh", "primary_pollutants",
    "primary_pollutants_zh", "exceeding_pollutants", "exceeding_label_zh", "exceeding_defined", "iaqi": {indicator:
    {"indicator", "pollutant", "name_zh", "unit", "concentration", "concentration_used", "iaqi", "band", "iaqi_band",
    "rule_zh"}}, "notes", "method_zh", "edition"}. Keys are indicator keys (PM2.5_24h, O3_8h, …); a bare
    SO2/NO2/CO/PM10/PM2.5 means its 24-h mean. None or "NA" means not measured. An IAQI that cannot be
    found (HJ 633-2012: O3 8-h > 800 without O3_1h) is None and named in notes.
    Raises DataError for unknown indicators (listing the known ones), non-numeric or negative values.
    """
    d = parse_date(on)
    ed, phase = resolve(d)
    clean = _check(concentrations, ed)
    inds = ed["aqi"]["indicators"]
    per, notes = {}, []
    for key, c in clean.items():
        ind = inds[key]
        used = _used_concentration(ed, ind, c)
        per[key] = {"indicator": key, "pollutant": ind["pollutant"], "name_zh": ind["name_zh"], "unit": ind["unit"],
                    "concentration": c, "concentration_used": used, **_one_iaqi(ed, key, used)}
    for key, e in per.items():
        other = e.pop("pending", None)
        if other is None:
            continue
        if other in per and per[other]["iaqi"] is not None:
            e["iaqi"], e["iaqi_band"] = per[other]["iaqi"], [per[other]["iaqi"], per[other]["iaqi"]]
        else:
            notes.append(f"{key} 浓度高于 {e['band'][0]:g} {e['unit']}，按 {ed['aqi']['standard']} 应取 {other} 的分指数，但未给出 {other}，"
                         f"{key} 的分指数无法计算 / {key} above {e['band'][0]:g} needs {other}, which was not given")
    values = [e["iaqi"] for e in per.values() if e["iaqi"] is not None]
    lo, hi = ed["aqi"]["aqi_range"]
    value = min(max(max(values), lo), hi) if values else None
    if value is not None and max(values) < lo:
        notes.append(f"{ed['aqi']['standard']} 规定 AQI 范围为 {lo}～{hi}，AQI 记为 {lo} / AQI range is {lo}–{hi}")
    primary = [k for k, e in per.items() if value is not None and value > 50 and e["iaqi"] == value]
    exceeding = [k for k, e in per.items() if e["iaqi"] is not None and e["iaqi"] > 100]
    cls = aqi_class(value, ed) or {}
    return {
        "date": d.isoformat(), "aqi": value,
        "level": cls.get("level"), "level_num": cls.get("level_num"), "category": cls.get("category"),
        "color": cls.get("color"), "color_zh": cls.get("color_zh"),
        "primary_pollutants": primary, "primary_pollutants_zh": [per[k]["name_zh"] for k in primary],
        "exceeding_pollutants": exceeding, "exceeding_label_zh": ed["aqi"]["exceeding_label_zh"],
        "exceeding_defined": ed["aqi"]["exceeding_defined"],
        "iaqi": per, "notes": notes, "method_zh": method_zh(ed), "edition": edition_summary(ed, phase),
    }


def method_zh(ed: dict) -> str:
    std = ed["aqi"]["standard"]
    rounding = ("浓度先按 GB/T 8170 修约（CO 保留 1 位小数，其余取整）；" if ed["rounding"]["concentrations_before_iaqi"]
                else "浓度按所给数值计算；")
    return (f"{std}：{rounding}IAQI = (IAQI_Hi − IAQI_Lo) / (BP_Hi − BP_Lo) × (C − BP_Lo) + IAQI_Lo，计算结果向上进位取整数；"
            f"AQI 取各 IAQI 的最大值；AQI 大于 50 时 IAQI 最大的污染物为首要污染物，并列时一并列出")


# ---------------------------------------------------------------------------------------------
# Arrays (one value per day) for the annual assessment
# ---------------------------------------------------------------------------------------------

def _iaqi_array(ed: dict, key: str, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(IAQI with NaN where missing or pending, mask of values waiting for another indicator's IAQI)."""
    ind = ed["aqi"]["indicators"][key]
    used = _used_concentration(ed, ind, c)
    bp, lv = np.array(ind["breakpoints"]), np.array(ind["levels"])
    out = _ceil(np.interp(used, bp, lv))  # above the table np.interp gives the last level: the 500 cap
    out[np.isnan(used)] = np.nan
    above = used > bp[-1]
    pending = np.zeros(c.shape, dtype=bool)
    rule = ind["above_top"]
    if rule is not None and above.any():
        if rule["rule"] == "fixed":
            out[above] = rule["iaqi"]
        else:
            out[above] = np.nan
            pending = above
    return out, pending


def aqi_arrays(values: dict[str, np.ndarray], edition_id: str) -> dict:
    """IAQI and AQI of aligned arrays of concentrations (NaN = missing) under one edition.

    values: indicator key → float array, all the same length, concentrations already checked (≥ 0).
    Returns {"iaqi": {key: array}, "aqi": array (max IAQI, clipped to the edition's AQI range; NaN where
    no IAQI at all), "complete": bool array (every given indicator has an IAQI that day)}."""
    ed = edition_by_id(edition_id)
    iaqis, pendings = {}, {}
    for key, c in values.items():
        iaqis[key], pendings[key] = _iaqi_array(ed, key, np.asarray(c, dtype=float))
    for key, pending in pendings.items():
        if pending.any():
            other = ed["aqi"]["indicators"][key]["above_top"]["indicator"]
            if other in iaqis:
                iaqis[key][pending] = iaqis[other][pending]
    stack = np.vstack(list(iaqis.values())) if iaqis else np.empty((0, 0))
    complete = ~np.isnan(stack).any(axis=0)
    with np.errstate(invalid="ignore"):
        worst = np.fmax.reduce(stack, axis=0) if len(stack) else np.empty(0)
    lo, hi = ed["aqi"]["aqi_range"]
    worst = np.where(np.isnan(worst), np.nan, np.clip(worst, lo, hi))
    return {"iaqi": iaqis, "aqi": worst, "complete": complete}
