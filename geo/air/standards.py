"""The air-quality standards (data/air_standards.yaml) by edition, validated on load, and GB/T 8170 rounding.

An observation date picks the edition: HJ 633-2012 / GB 3095-2012 / HJ 663-2013 up to 2026-02-28,
HJ 633-2026 / GB 3095-2026 / HJ 663-2026 from 2026-03-01 (GB 3095-2026 transitional limits until
2030-12-31, its final limits from 2031-01-01). The figures are data, not code: a wrong breakpoint
would mis-state every AQI a reviewer quotes, so a bad file stops start-up naming the file and field.
"""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import numpy as np

from geo.data_files import load_yaml
from geo.errors import ConfigError, DataError

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"
STANDARDS_PATH = DATA_DIR / "air_standards.yaml"
SCHEMA_PATH = DATA_DIR / "air_standards.schema.json"

POLLUTANTS = ("SO2", "NO2", "PM10", "PM2.5", "CO", "O3")
POLLUTANT_ZH = {"SO2": "二氧化硫", "NO2": "二氧化氮", "PM10": "可吸入颗粒物（PM10）", "PM2.5": "细颗粒物（PM2.5）",
                "CO": "一氧化碳", "O3": "臭氧"}
UNITS = {p: ("mg/m³" if p == "CO" else "µg/m³") for p in POLLUTANTS}
AIR_CLASS_ZH = {1: "一类区（一级浓度限值）", 2: "二类区（二级浓度限值）"}
LIMIT_ZH = {"annual": "年平均", "24h": "24小时平均", "8h": "日最大8小时平均", "1h": "1小时平均"}


# ---------------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------------

def _date(text, path, field) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(path, field, f"不是有效日期 / not a valid date: {text!r}") from exc


def _check_indicators(aqi: dict, path: Path, where: str) -> None:
    """Breakpoints increasing from 0, short tables saying what lies above them, references that resolve."""
    inds, n_levels = aqi["indicators"], len(aqi["iaqi_levels"])
    for key, ind in inds.items():
        field = f"{where}/indicators/{key}"
        if key != f"{ind['pollutant']}_{ind['averaging']}":
            raise ConfigError(path, field, f"键应为 <污染物>_<平均时间>（{ind['pollutant']}_{ind['averaging']}） / key must be <pollutant>_<averaging>")
        if "breakpoints_of" in ind:
            target = inds.get(ind["breakpoints_of"])
            if target is None or "breakpoints" not in target or target["pollutant"] != ind["pollutant"]:
                raise ConfigError(path, f"{field}/breakpoints_of", "应指向同一污染物、自带浓度限值的指标 / must name an indicator of the same pollutant with its own breakpoints")
            continue
        bp = ind["breakpoints"]
        if not all(math.isfinite(v) for v in bp) or bp[0] != 0 or not all(a < b for a, b in pairwise(bp)):
            raise ConfigError(path, f"{field}/breakpoints", f"浓度限值应从 0 起严格递增的有限数 / breakpoints must be finite, start at 0 and increase: {bp!r}")
        short = len(bp) < n_levels
        if short != ("above_top" in ind):
            raise ConfigError(path, f"{field}/above_top", "表未列满 8 级时必须写明高于最高浓度限值的规则，列满时不应有 / "
                                                          "a table shorter than 8 levels needs above_top, a full one must not have it")
        rule = ind.get("above_top")
        if rule and rule["rule"] == "use_indicator":
            other = inds.get(rule["indicator"])
            other_bp = other and (other.get("breakpoints") or inds.get(other.get("breakpoints_of"), {}).get("breakpoints"))
            if not other or other["pollutant"] != ind["pollutant"] or len(other_bp or ()) != n_levels:
                raise ConfigError(path, f"{field}/above_top/indicator", "应指向同一污染物、列满 8 级的指标 / must name a full table of the same pollutant")
    for listed in ("daily_indicators", "hourly_indicators"):
        for i, key in enumerate(aqi[listed]):
            if key not in inds:
                raise ConfigError(path, f"{where}/{listed}/{i}", f"未定义的指标 / undefined indicator: {key}")


def _check_phases(ed: dict, path: Path, where: str) -> None:
    phases = ed["limits"]["phases"]
    first, last = phases[0], phases[-1]
    if first["valid_from"] != ed["valid_from"] or last["valid_until"] != ed["valid_until"]:
        raise ConfigError(path, f"{where}/limits/phases", "各阶段应恰好覆盖本版的有效期 / phases must cover exactly the edition's dates")
    _check_contiguous(phases, path, f"{where}/limits/phases")
    for i, ph in enumerate(phases):
        for cls in ("class_1", "class_2"):
            for pollutant, stats in ed["assessment"]["annual_statistics"].items():
                for j, st in enumerate(stats):
                    series_pollutant = "O3" if st["series"] == "O3_8h" else st["series"]
                    if series_pollutant != pollutant:
                        raise ConfigError(path, f"{where}/assessment/annual_statistics/{pollutant}/{j}/series",
                                          f"统计序列应属于 {pollutant} / series must be of {pollutant}: {st['series']}")
                    if st["limit"] not in ph[cls][pollutant]:
                        raise ConfigError(path, f"{where}/assessment/annual_statistics/{pollutant}/{j}/limit",
                                          f"{ph['id']} {cls} 无 {pollutant} {st['limit']} 限值 / no such limit")


def _check_contiguous(items: list[dict], path: Path, field: str) -> None:
    """Open only at the ends, each starting the day after the previous one ends."""
    for i, it in enumerate(items):
        lo, hi = _date(it["valid_from"], path, f"{field}/{i}/valid_from"), _date(it["valid_until"], path, f"{field}/{i}/valid_until")
        if lo and hi and lo > hi:
            raise ConfigError(path, f"{field}/{i}/valid_until", "结束日期早于开始日期 / ends before it starts")
        if (lo is None and i > 0) or (hi is None and i < len(items) - 1):
            raise ConfigError(path, f"{field}/{i}", "只有第一项可不写开始日期、最后一项可不写结束日期 / only the first may be open at the start, the last at the end")
        if i > 0:
            prev_hi = _date(items[i - 1]["valid_until"], path, f"{field}/{i - 1}/valid_until")
            if prev_hi + timedelta(days=1) != lo:
                raise ConfigError(path, f"{field}/{i}/valid_from", f"应为上一项结束日的次日（{prev_hi + timedelta(days=1)}） / must start the day after the previous one ends")


def _check_semantics(raw: dict, path: Path) -> None:
    _check_contiguous(raw["editions"], path, "editions")
    for i, ed in enumerate(raw["editions"]):
        where = f"editions/{i}"
        _check_indicators(ed["aqi"], path, f"{where}/aqi")
        _check_phases(ed, path, where)
        v = ed["assessment"]["validity"]
        if v["mda8_first_window_end_hour"] > v["mda8_last_window_end_hour"] or \
                v["mda8_min_windows"] > v["mda8_last_window_end_hour"] - v["mda8_first_window_end_hour"] + 1:
            raise ConfigError(path, f"{where}/assessment/validity/mda8_min_windows", "8 小时滑动平均窗口设置不一致 / MDA8 window settings inconsistent")


def _normalise(raw: dict, path: Path) -> dict:
    """Dates as date objects, breakpoints resolved to float tuples with the IAQI levels they pair with."""
    editions = []
    for i, ed in enumerate(raw["editions"]):
        aqi = ed["aqi"]
        levels = tuple(float(v) for v in aqi["iaqi_levels"])
        inds = {}
        for key, ind in aqi["indicators"].items():
            bp = ind.get("breakpoints") or aqi["indicators"][ind["breakpoints_of"]]["breakpoints"]
            inds[key] = {"key": key, "pollutant": ind["pollutant"], "averaging": ind["averaging"], "name_zh": ind["name_zh"],
                         "unit": ind["unit"], "breakpoints": tuple(float(v) for v in bp), "levels": levels[:len(bp)],
                         "above_top": ind.get("above_top"), "breakpoints_of": ind.get("breakpoints_of"), "note": ind.get("note")}
        phases = tuple({"id": ph["id"], "label_zh": ph["label_zh"],
                        "valid_from": _date(ph["valid_from"], path, ""), "valid_until": _date(ph["valid_until"], path, ""),
                        "class_1": ph["class_1"], "class_2": ph["class_2"]} for ph in ed["limits"]["phases"])
        editions.append({
            "id": ed["id"], "label_zh": ed["label_zh"], "confirmed": ed["confirmed"].strip(), "assumed": ed["assumed"].strip(),
            "valid_from": _date(ed["valid_from"], path, ""), "valid_until": _date(ed["valid_until"], path, ""),
            "aqi": {**{k: aqi[k] for k in ("standard", "title", "exceeding_defined", "exceeding_label_zh")},
                    "aqi_range": tuple(aqi["aqi_range"]), "iaqi_levels": levels,
                    "daily_indicators": tuple(aqi["daily_indicators"]), "hourly_indicators": tuple(aqi["hourly_indicators"]),
                    "indicators": inds, "classes": tuple(dict(c) for c in aqi["classes"])},
            "rounding": dict(ed["rounding"]),
            "limits": {"standard": ed["limits"]["standard"], "title": ed["limits"]["title"], "phases": phases},
            "assessment": ed["assessment"],
        })
    return {"source": raw["source"].strip(), "editions": tuple(editions)}


@lru_cache(maxsize=8)
def _load_cached(path_str: str) -> dict:
    path = Path(path_str)
    raw = load_yaml(path, SCHEMA_PATH, "空气质量标准表")
    _check_semantics(raw, path)
    return _normalise(raw, path)


def load_standards(path: Path | str | None = None) -> dict:
    """The validated standards (cached per path; treat as read-only). Raises ConfigError naming the bad field."""
    return _load_cached(str(Path(path or STANDARDS_PATH).resolve()))


load_standards()  # fail loudly at import if the shipped file is malformed


# ---------------------------------------------------------------------------------------------
# Editions by date
# ---------------------------------------------------------------------------------------------

def parse_date(value) -> date:
    """date from a date, datetime or 'YYYY-MM-DD' text; DataError otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, np.datetime64):
        return date.fromisoformat(str(value.astype("datetime64[D]")))
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise DataError(f"日期应为 YYYY-MM-DD：{str(value)[:40]!r}", f"a date must be YYYY-MM-DD: {str(value)[:40]!r}")


def _in(item: dict, d: date) -> bool:
    return (item["valid_from"] is None or item["valid_from"] <= d) and (item["valid_until"] is None or d <= item["valid_until"])


def resolve(on) -> tuple[dict, dict]:
    """(edition, limits phase) in force on a date; the objects are the cached ones, not copies."""
    d = parse_date(on)
    ed = next(e for e in load_standards()["editions"] if _in(e, d))  # contiguous and open-ended: always one
    return ed, next(p for p in ed["limits"]["phases"] if _in(p, d))


def edition_by_id(edition_id: str) -> dict:
    for e in load_standards()["editions"]:
        if e["id"] == str(edition_id):
            return e
    known = [e["id"] for e in load_standards()["editions"]]
    raise DataError(f"未知的标准版本：{str(edition_id)[:20]}（可用：{'、'.join(known)}）",
                    f"unknown edition: {str(edition_id)[:20]} (known: {', '.join(known)})")


def edition_summary(ed: dict, phase: dict | None = None) -> dict:
    """What a result says about the standards it used."""
    out = {"id": ed["id"], "label_zh": ed["label_zh"],
           "valid_from": ed["valid_from"].isoformat() if ed["valid_from"] else None,
           "valid_until": ed["valid_until"].isoformat() if ed["valid_until"] else None,
           "standards": {"aqi": ed["aqi"]["standard"], "limits": ed["limits"]["standard"], "assessment": ed["assessment"]["standard"]}}
    if phase is not None:
        out.update(phase=phase["id"], phase_label_zh=phase["label_zh"])
    return out


def edition_for(on) -> dict:
    """The edition in force on a date: {"id", "label_zh", "valid_from", "valid_until", "standards": {"aqi",
    "limits", "assessment"}, "phase", "phase_label_zh"} (phase: the GB 3095 limits stage, e.g. transition)."""
    return edition_summary(*resolve(on))


def limits_for(on, air_class: int = 2) -> dict:
    """GB 3095 limits in force on a date for 一类区 (1) or 二类区 (2): {"standard", "phase", "phase_label_zh",
    "air_class", "air_class_zh", "limits": {pollutant: {"annual"|"24h"|"8h"|"1h": value}}, "units"}."""
    cls = check_air_class(air_class)
    ed, ph = resolve(on)
    return {"standard": ed["limits"]["standard"], "phase": ph["id"], "phase_label_zh": ph["label_zh"], "air_class": cls,
            "air_class_zh": AIR_CLASS_ZH[cls], "limits": {p: dict(v) for p, v in ph[f"class_{cls}"].items()}, "units": dict(UNITS)}


def check_air_class(air_class) -> int:
    if air_class in (1, 2) and not isinstance(air_class, bool):
        return air_class
    if str(air_class).strip() in ("1", "2"):
        return int(str(air_class).strip())
    raise DataError(f"环境空气功能区应为 1（一类区）或 2（二类区）：{str(air_class)[:20]!r}",
                    f"air_class must be 1 or 2: {str(air_class)[:20]!r}")


# ---------------------------------------------------------------------------------------------
# GB/T 8170 rounding
# ---------------------------------------------------------------------------------------------

def round_gbt8170(value: float, decimals: int) -> float:
    """GB/T 8170 进舍规则 on the number as written (四舍六入五成双: an exact 5 rounds to the even digit)."""
    q = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(float(value))).quantize(q, rounding=ROUND_HALF_EVEN))


def round_gbt8170_array(values: np.ndarray, decimals: int) -> np.ndarray:
    """Vectorised round_gbt8170: binary noise (0.35 stored as 0.34999…) is dropped before round-half-even."""
    scaled = np.round(np.asarray(values, dtype=float) * 10.0 ** decimals, 9)
    return np.round(scaled) / 10.0 ** decimals


def periods(dates: np.ndarray) -> list[tuple[dict, dict, np.ndarray]]:
    """[(edition, phase, mask)] for an array of datetime64[D] days, one entry per phase that has days."""
    out = []
    for ed in load_standards()["editions"]:
        for ph in ed["limits"]["phases"]:
            mask = np.ones(dates.shape, dtype=bool)
            if ph["valid_from"] is not None:
                mask &= dates >= np.datetime64(ph["valid_from"], "D")
            if ph["valid_until"] is not None:
                mask &= dates <= np.datetime64(ph["valid_until"], "D")
            if mask.any():
                out.append((ed, ph, mask))
    return out
