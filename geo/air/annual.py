"""Annual assessment of a station or a city (HJ 663) against GB 3095, and 优良天数比例.

Per pollutant, the HJ 663 statistics of the year's daily values: SO2 and NO2 annual mean and 98th
percentile of daily means, PM10 and PM2.5 annual mean and 95th percentile, CO 95th percentile of daily
means, O3 90th percentile of the daily maximum 8-hour average; each compared, after GB/T 8170 rounding,
with the GB 3095 limit it names. A statistic whose days fail GB 3095 表4 (≥ 324 days in the year, ≥ 27 in
each month, ≥ 25 in February) is 无法判断, never 达标. A pollutant, and the whole, is 达标 only when
every statistic is. A city is assessed on the mean of its stations' daily values, not its worst station.

Daily AQI for 优良天数 uses each day's own edition; the annual limits and statistics are those in force
on 31 December of the year. A day with an indicator missing counts only when the others already give
AQI > 100 (HJ 633-2026 5.3.1); 优良天数比例 = days with AQI ≤ 100 ÷ days with an AQI.
"""
from __future__ import annotations

import re
from datetime import date

import numpy as np

from geo import vocabulary
from geo.air.aqi import aqi_arrays, concentration_array
from geo.air.ozone import mda8_arrays
from geo.air.standards import (AIR_CLASS_ZH, LIMIT_ZH, POLLUTANT_ZH, POLLUTANTS, UNITS, check_air_class, edition_summary,
                               parse_date, periods, resolve, round_gbt8170)
from geo.errors import DataError

HOURLY_POLLUTANTS = POLLUTANTS  # hourly input: 1-h concentrations of the six pollutants
SERIES = ("SO2", "NO2", "PM10", "PM2.5", "CO", "O3_8h", "O3_1h")  # daily values
SERIES_INDICATOR = {"SO2": "SO2_24h", "NO2": "NO2_24h", "PM10": "PM10_24h", "PM2.5": "PM2.5_24h", "CO": "CO_24h",
                    "O3_8h": "O3_8h", "O3_1h": "O3_1h"}
INDICATOR_SERIES = {v: k for k, v in SERIES_INDICATOR.items()}
SERIES_ZH = {"SO2": "二氧化硫日平均", "NO2": "二氧化氮日平均", "PM10": "PM10 日平均", "PM2.5": "PM2.5 日平均",
             "CO": "一氧化碳日平均", "O3_8h": "臭氧日最大8小时平均", "O3_1h": "臭氧日最大1小时平均"}
_MET, _NOT_MET, _UNDETERMINED = (vocabulary.status("target", k) for k in ("met", "not_met", "undetermined"))
_CLASS_BOUNDS = np.array([50, 100, 150, 200, 300])


def _canon(name, allowed: tuple[str, ...], what: str) -> str:
    n = re.sub(r"[\s\-]+", "_", str(name).strip().lower()).replace("pm2_5", "pm2.5").replace("pm25", "pm2.5")
    for key in allowed:
        if key.lower() == n:
            return key
    raise DataError(f"未知的{what}：{str(name)[:40]}（可用：{', '.join(allowed)}）",
                    f"unknown {what}: {str(name)[:40]} (known: {', '.join(allowed)})",
                    {"unknown": str(name)[:40], "known": list(allowed)})


def percentile(values, p: float) -> float | None:
    """HJ 663 percentile of the valid values: sort X(1)…X(n); k = 1 + (n − 1)·p%; s = integer part of k;
    m = X(s) + (X(s+1) − X(s))·(k − s) (X(n) when s = n). None when no valid value. Equals numpy's 'linear'."""
    x = np.sort(np.asarray(values, dtype=float)[~np.isnan(np.asarray(values, dtype=float))])
    n = x.size
    if n == 0:
        return None
    s, frac = divmod(100 + (n - 1) * p, 100)  # exact for an integer p: k = (100 + (n − 1)p) / 100
    s = int(s)
    if s >= n:
        return float(x[-1])
    return float(x[s - 1] + (x[s] - x[s - 1]) * frac / 100)


# ---------------------------------------------------------------------------------------------
# Daily values from hourly ones
# ---------------------------------------------------------------------------------------------

def _daily_from_hourly_arrays(hourly: dict, start, air_class: int) -> tuple[np.ndarray, dict, dict, np.ndarray | None]:
    if not isinstance(hourly, dict) or not hourly:
        raise DataError("小时值应为 {污染物: [逐时浓度…]} 映射", "hourly values must be a {pollutant: [values…]} mapping")
    arrays = {}
    for raw_key, seq in hourly.items():
        key = _canon(raw_key, HOURLY_POLLUTANTS, "污染物")
        if key in arrays:
            raise DataError(f"污染物重复：{key}", f"pollutant given twice: {key}")
        arrays[key] = concentration_array(seq, f"{key} 小时值")
    sizes = {k: a.size for k, a in arrays.items()}
    if len(set(sizes.values())) != 1:
        raise DataError(f"各污染物的小时值个数应相同：{sizes}", f"every pollutant needs the same number of hourly values: {sizes}")
    n = next(iter(sizes.values()))
    if n == 0 or n % 24:
        raise DataError(f"小时值应为整日（24 的倍数），收到 {n} 个", f"need whole days of hourly values (a multiple of 24), got {n}")
    dates = np.datetime64(parse_date(start), "D") + np.arange(n // 24)
    values, hours, o3_windows = {}, {}, None
    for key, arr in arrays.items():
        h2d = arr.reshape(-1, 24)
        counts = (~np.isnan(h2d)).sum(axis=1)
        hours[key] = counts
        sums = np.nansum(h2d, axis=1)
        if key != "O3":
            out = np.full(len(dates), np.nan)
            for ed, _, mask in periods(dates):
                need = ed["assessment"]["validity"]["daily_mean_min_hours"]
                ok = mask & (counts >= need)
                out[ok] = sums[ok] / counts[ok]
            values[key] = out
            continue
        mda8, max1h, o3_windows = np.full(len(dates), np.nan), np.full(len(dates), np.nan), np.zeros(len(dates), dtype=int)
        with np.errstate(invalid="ignore"):
            day_max = np.fmax.reduce(h2d, axis=1)
        for ed, ph, mask in periods(dates):
            v = ed["assessment"]["validity"]
            r = mda8_arrays(h2d[mask], v, ph[f"class_{air_class}"]["O3"]["8h"])
            mda8[mask], o3_windows[mask] = r["mda8"], r["valid_windows"]
            ok = mask & (counts >= v["o3_1h_daily_max_min_hours"])
            max1h[ok] = day_max[ok]
        values["O3_8h"], values["O3_1h"] = mda8, max1h
    return dates, values, hours, o3_windows


def _opt(v: float, nd: int = 6):
    return None if np.isnan(v) else float(round(float(v), nd))


def daily_from_hourly(hourly: dict, start, air_class: int = 2) -> dict:
    """Daily values of one station from its hourly 1-h concentrations (µg/m³, CO mg/m³).

    hourly: {pollutant (SO2, NO2, PM10, PM2.5, CO, O3): whole days of hourly values}, the first covering
    00:00–01:00 of `start`; None/NaN/"NA" = missing. Daily mean with ≥ 20 valid hours; O3: MDA8 (O3_8h,
    see geo.air.ozone) and the daily maximum 1-h value (O3_1h, ≥ 20 valid hours — the system's rule).
    Returns {"dates", "values": {series: [value or None]}, "valid_hours": {pollutant: [...]},
    "o3_valid_windows": [...] (with O3), "rules_zh"}; feed it to assess_station as it is."""
    cls = check_air_class(air_class)
    dates, values, hours, o3w = _daily_from_hourly_arrays(hourly, start, cls)
    ed = resolve(dates[-1].item())[0]
    v = ed["assessment"]["validity"]
    out = {"dates": [str(d) for d in dates], "values": {k: [_opt(x) for x in a] for k, a in values.items()},
           "valid_hours": {k: a.tolist() for k, a in hours.items()},
           "rules_zh": [f"日平均：每日至少 {v['daily_mean_min_hours']} 个有效小时值（{v['source_zh']}）",
                        f"O3 日最大8小时平均：至少 {v['mda8_min_windows']} 个有效 8 小时平均值（每个至少 {v['moving_8h_min_hours']} 个有效小时值），"
                        f"不足但最大值超过浓度限值时同样有效（{v['mda8_source_zh']}）",
                        f"O3 日最大1小时平均：至少 {v['o3_1h_daily_max_min_hours']} 个有效小时值（本系统约定）"]}
    if o3w is not None:
        out["o3_valid_windows"] = o3w.tolist()
    return out


# ---------------------------------------------------------------------------------------------
# Daily input
# ---------------------------------------------------------------------------------------------

def _parse_daily(daily, what: str) -> tuple[np.ndarray, dict]:
    """(sorted datetime64[D] dates, {series: float array}) from {"dates": [...], "values": {series: [...]}}."""
    if not isinstance(daily, dict) or "dates" not in daily or not isinstance(daily.get("values"), dict):
        raise DataError(f"{what}的日数据应为 {{\"dates\": [...], \"values\": {{污染物: [...]}}}}",
                        f"{what}: daily data must be {{'dates': [...], 'values': {{series: [...]}}}}")
    dates = np.array([np.datetime64(parse_date(d), "D") for d in daily["dates"]], dtype="datetime64[D]")
    if dates.size == 0:
        raise DataError(f"{what}没有日期", f"{what}: no dates")
    uniq, counts = np.unique(dates, return_counts=True)
    if (counts > 1).any():
        raise DataError(f"{what}日期重复：{uniq[counts > 1][0]}", f"{what}: date given twice: {uniq[counts > 1][0]}")
    order = np.argsort(dates)
    values = {}
    for raw_key, seq in daily["values"].items():
        key = _canon(raw_key, SERIES, "日值序列")
        if key in values:
            raise DataError(f"{what}日值序列重复：{key}", f"{what}: series given twice: {key}")
        arr = concentration_array(seq, f"{what} {key} 日值")
        if arr.size != dates.size:
            raise DataError(f"{what} {key} 有 {arr.size} 个日值，日期有 {dates.size} 个", f"{what} {key}: {arr.size} values for {dates.size} dates")
        values[key] = arr[order]
    if not values:
        raise DataError(f"{what}没有任何污染物的日值（可用：{', '.join(SERIES)}）", f"{what}: no series given (known: {', '.join(SERIES)})")
    return dates[order], values


def _select_year(dates: np.ndarray, values: dict, year, what: str) -> tuple[int, np.ndarray, dict]:
    years = np.unique(dates.astype("datetime64[Y]").astype(int) + 1970)
    if year is None:
        if years.size != 1:
            raise DataError(f"{what}的日期跨 {years.size} 个年份（{years.min()}–{years.max()}），请指定 year",
                            f"{what}: dates span {years.size} years; give year")
        year = int(years[0])
    year = int(year)
    mask = (dates >= np.datetime64(f"{year:04d}-01-01")) & (dates <= np.datetime64(f"{year:04d}-12-31"))
    if not mask.any():
        raise DataError(f"{what}没有 {year} 年的数据", f"{what}: no data in {year}")
    return year, dates[mask], {k: a[mask] for k, a in values.items()}


# ---------------------------------------------------------------------------------------------
# Assessment
# ---------------------------------------------------------------------------------------------

def _validity(dates: np.ndarray, valid: np.ndarray, v: dict) -> dict:
    months = dates.astype("datetime64[M]").astype(int) % 12
    by_month = np.bincount(months[valid], minlength=12)
    n = int(valid.sum())
    problems = []
    if n < v["annual_min_days"]:
        problems.append(f"全年有效日数 {n}，少于 {v['annual_min_days']}")
    for m in range(12):
        need = v["annual_min_days_february"] if m == 1 else v["annual_min_days_per_month"]
        if by_month[m] < need:
            problems.append(f"{m + 1} 月有效日数 {int(by_month[m])}，少于 {need}")
    return {"ok": not problems, "valid_days": n, "valid_days_by_month": by_month.tolist(), "problems": problems,
            "required_zh": (f"每年至少 {v['annual_min_days']} 个有效日值，每月至少 {v['annual_min_days_per_month']} 个"
                            f"（二月至少 {v['annual_min_days_february']} 个）（{v['source_zh']}）")}


def _statistic(pollutant: str, st: dict, dates: np.ndarray, values: dict, ed: dict, ph: dict, cls: int) -> dict:
    series = values.get(st["series"])
    v = ed["assessment"]["validity"]
    absent = series is None
    if absent:
        series = np.full(dates.shape, np.nan)
    valid = ~np.isnan(series)
    validity = _validity(dates, valid, v)
    if absent:
        validity["problems"].insert(0, f"未提供{SERIES_ZH[st['series']]}数据")
    if st["statistic"] == "annual_mean":
        raw = float(series[valid].mean()) if valid.any() else None
        sid, zh = f"{pollutant}_annual_mean", "年平均"
        method = "全年有效日平均浓度的算术平均值（GB 3095 3.13）"
    else:
        p = st["percentile"]
        raw = percentile(series, p)
        sid = f"{pollutant}_P{p}"
        zh = f"日最大8小时平均第{p}百分位数" if st["series"] == "O3_8h" else f"日平均第{p}百分位数"
        method = ed["assessment"]["percentile"]["method_zh"]
    decimals = ed["rounding"]["decimals"][pollutant]
    value = None if raw is None else round_gbt8170(raw, decimals)
    if value is not None and decimals == 0:
        value = int(value)
    limit = ph[f"class_{cls}"][pollutant][st["limit"]]
    unit = UNITS[pollutant]
    if not validity["ok"] or value is None:
        status = _UNDETERMINED
    else:
        status = _MET if value <= limit else _NOT_MET
    level_zh = "一级" if cls == 1 else "二级"
    limit_zh = f"{LIMIT_ZH[st['limit']]}{level_zh}浓度限值 {limit:g} {unit}"
    return {"id": sid, "pollutant": pollutant, "statistic": st["statistic"], "percentile": st.get("percentile"),
            "statistic_zh": zh, "series": st["series"], "value": value,
            "value_unrounded": None if raw is None else round(raw, 6), "unit": unit, "decimals": decimals,
            "limit": limit, "limit_kind": st["limit"], "limit_zh": limit_zh, "status": status, "validity": validity,
            "assessment_standard": ed["assessment"]["standard"], "limit_standard": ph["label_zh"],
            "standard_zh": f"{ed['assessment']['standard']} 年评价：{POLLUTANT_ZH[pollutant]}{zh}；{ph['label_zh']} {limit_zh}",
            "method_zh": f"{method}；结果按 GB/T 8170 修约到 {decimals} 位小数后与限值比较"}


def _worst(statuses: list[str]) -> str:
    if _NOT_MET in statuses:
        return _NOT_MET
    return _UNDETERMINED if _UNDETERMINED in statuses or not statuses else _MET


def _good_days(dates: np.ndarray, values: dict) -> dict:
    """优良天数 from daily AQI, each day under its own edition."""
    aqi = np.full(dates.shape, np.nan)
    counted = np.zeros(dates.shape, dtype=bool)
    notes = []
    for ed, _, mask in periods(dates):
        required = list(ed["aqi"]["daily_indicators"])
        if "O3_1h" in required and "O3_1h" not in values:
            required.remove("O3_1h")
            notes.append(f"未提供 O3 日最大1小时平均，{ed['aqi']['standard']} 日报的 O3_1h 项不参与日 AQI")
        absent = [k for k in required if INDICATOR_SERIES[k] not in values]
        if absent:
            notes.append(f"未提供 {'、'.join(INDICATOR_SERIES[k] for k in absent)}：按 {ed['aqi']['standard']} 日报指标，"
                         "这些日子只有其余指标 AQI 大于 100 时才计入有效天数")
        given = {k: values[INDICATOR_SERIES[k]][mask] for k in required if INDICATOR_SERIES[k] in values}
        if not given:
            continue
        r = aqi_arrays(given, ed["id"])
        complete = r["complete"] & (not absent)
        with np.errstate(invalid="ignore"):
            ok = ~np.isnan(r["aqi"]) & (complete | (r["aqi"] > 100))
        aqi[mask] = np.where(ok, r["aqi"], np.nan)
        counted[mask] = ok
    valid_days = int(counted.sum())
    good = int((counted & (aqi <= 100)).sum()) if valid_days else 0
    cls_idx = np.searchsorted(_CLASS_BOUNDS, aqi[counted], side="left")
    ed_end = resolve(dates[-1].item())[0]
    by_cat = {c["category"]: int((cls_idx == i).sum()) for i, c in enumerate(ed_end["aqi"]["classes"])}
    return {"good_days": good, "valid_aqi_days": valid_days,
            "good_days_ratio": round_gbt8170(100 * good / valid_days, 1) if valid_days else None,
            "days_by_category": by_cat, "daily_aqi": aqi,
            "good_days_rule_zh": ("优良天数比例 = AQI ≤ 100 的天数 ÷ 有 AQI 的天数 × 100%（百分比保留 1 位小数）；"
                                  "日 AQI 按各日适用的 HJ 633 版本计算，缺项日仅在其余指标 AQI 大于 100 时计入（HJ 633-2026 5.3.1）"),
            "notes": notes}


def _assess(dates: np.ndarray, values: dict, year: int, cls: int, scope: str, name) -> dict:
    ed, ph = resolve(date(year, 12, 31))
    pollutants, failing, undetermined = {}, [], []
    for pollutant in POLLUTANTS:
        stats = [_statistic(pollutant, st, dates, values, ed, ph, cls) for st in ed["assessment"]["annual_statistics"][pollutant]]
        status = _worst([s["status"] for s in stats])
        pollutants[pollutant] = {"name_zh": POLLUTANT_ZH[pollutant], "status": status, "statistics": stats}
        (failing if status == _NOT_MET else undetermined if status == _UNDETERMINED else []).append(pollutant)
    in_year = [edition_summary(e, p) for e, p, _ in periods(np.arange(np.datetime64(f"{year:04d}-01-01"), np.datetime64(f"{year + 1:04d}-01-01")))]
    notes = []
    if len(in_year) > 1:
        notes.append(f"{year} 年跨越标准版本（{'；'.join(e['label_zh'] + (' ' + e['phase_label_zh'] if e.get('phase_label_zh') else '') for e in in_year)}）："
                     f"日 AQI 按各日适用的版本计算，年评价统计与限值按 {year}-12-31 适用的 {ed['assessment']['standard']}、{ph['label_zh']}")
    good = _good_days(dates, values)
    notes += good.pop("notes")
    good.pop("daily_aqi")
    return {
        "scope": scope, "name": name, "year": year,
        "period": {"first_date": str(dates[0]), "last_date": str(dates[-1]), "days_given": int(dates.size),
                   "days_in_year": int((np.datetime64(f"{year + 1:04d}-01-01") - np.datetime64(f"{year:04d}-01-01")).astype(int))},
        "air_class": cls, "air_class_zh": AIR_CLASS_ZH[cls],
        "edition": edition_summary(ed, ph), "editions_in_year": in_year,
        "status": _worst([p["status"] for p in pollutants.values()]),
        "failing_pollutants": failing, "undetermined_pollutants": undetermined,
        "pollutants": pollutants, **good,
        "standard_zh": (f"{ed['assessment']['standard']}《{ed['assessment']['title']}》年评价；{ph['label_zh']} {AIR_CLASS_ZH[cls]}；"
                        "六项污染物全部达标才为达标"),
        "notes": notes,
    }


def assess_station(daily: dict, *, year: int | None = None, air_class: int = 2, name: str | None = None) -> dict:
    """Annual assessment of one station from its daily values.

    daily: {"dates": [...], "values": {series: [...]}} with series SO2, NO2, PM10, PM2.5, CO (24-h means),
    O3_8h (MDA8) and optionally O3_1h (daily max 1-h; HJ 633-2012 daily AQI uses it); None = missing.
    The output of daily_from_hourly fits as it is. year: the calendar year (needed when dates span several).
    Returns {"scope": "station", "name", "year", "period", "air_class", "air_class_zh", "edition",
    "editions_in_year", "status" (达标/未达标/无法判断), "failing_pollutants", "undetermined_pollutants",
    "pollutants": {pollutant: {"name_zh", "status", "statistics": [{"id", "statistic", "percentile",
    "statistic_zh", "series", "value", "value_unrounded", "unit", "decimals", "limit", "limit_kind", "limit_zh",
    "status", "validity": {"ok", "valid_days", "valid_days_by_month", "problems", "required_zh"},
    "assessment_standard", "limit_standard", "standard_zh", "method_zh"}]}}, "good_days", "valid_aqi_days",
    "good_days_ratio" (%), "days_by_category", "good_days_rule_zh", "standard_zh", "notes"}."""
    cls = check_air_class(air_class)
    what = f"站点 {name} " if name else "站点"
    dates, values = _parse_daily(daily, what)
    year, dates, values = _select_year(dates, values, year, what)
    return _assess(dates, values, year, cls, "station", name)


def _city_daily(stations: dict[str, tuple[np.ndarray, dict]]) -> tuple[np.ndarray, dict, np.ndarray]:
    """City daily values: per day and series, the mean of the stations with a valid value that day."""
    all_dates = np.unique(np.concatenate([d for d, _ in stations.values()]))
    keys = sorted({k for _, v in stations.values() for k in v}, key=SERIES.index)
    sums = {k: np.zeros(all_dates.size) for k in keys}
    counts = {k: np.zeros(all_dates.size, dtype=int) for k in keys}
    for d, vals in stations.values():
        idx = np.searchsorted(all_dates, d)
        for k, a in vals.items():
            ok = ~np.isnan(a)
            np.add.at(sums[k], idx[ok], a[ok])
            np.add.at(counts[k], idx[ok], 1)
    city = {k: np.where(counts[k] > 0, sums[k] / np.maximum(counts[k], 1), np.nan) for k in keys}
    n_stations = np.max(np.vstack([counts[k] for k in keys]), axis=0)
    return all_dates, city, n_stations


def _assess_city(parsed: dict, year, cls: int, name, include_stations: bool) -> dict:
    if not parsed:
        raise DataError("城市没有任何站点的数据", "no station data for the city")
    per_year, skipped = {}, []
    for sname, (d, v) in parsed.items():
        try:
            per_year[sname] = _select_year(d, v, year, f"站点 {sname} ")
        except DataError:
            if year is None:
                raise
            skipped.append(sname)
    if not per_year:
        raise DataError(f"所有站点都没有 {year} 年的数据", f"no station has data in {year}")
    years = {y for y, _, _ in per_year.values()}
    if len(years) > 1:
        raise DataError(f"各站点的数据年份不同（{sorted(years)}），请指定 year", f"stations cover different years {sorted(years)}; give year")
    year = years.pop()
    dates, city, n_stations = _city_daily({s: (d, v) for s, (_, d, v) in per_year.items()})
    out = _assess(dates, city, year, cls, "city", name)
    out["stations"] = list(per_year)
    if skipped:
        out["notes"].append(f"以下站点没有 {year} 年的数据，未参与城市平均：{'、'.join(skipped)}")
    out["stations_per_day"] = {"min": int(n_stations.min()), "max": int(n_stations.max())}
    out["city_rule_zh"] = ("城市各污染物日值为当日有有效日值的各站点日值的算术平均（O3 为各站点日最大8小时平均的平均），"
                           "再按城市日值计算年评价统计与日 AQI；不取最差站点")
    if include_stations:
        out["station_results"] = {s: _assess(d, v, year, cls, "station", s) for s, (_, d, v) in per_year.items()}
    return out


def assess_city(stations: dict, *, year: int | None = None, air_class: int = 2, name: str | None = None,
                include_stations: bool = True) -> dict:
    """Annual assessment of a city from its stations' daily values ({station name: daily}, daily as for
    assess_station). The city's daily value is the mean of the stations' valid daily values that day; the
    statistics and daily AQI are then computed from those means. Returns the assess_station dict with
    "scope": "city" and "stations", "stations_per_day" ({"min", "max"} stations with data on a day),
    "city_rule_zh" and, with include_stations, "station_results" ({station: assess_station result})."""
    cls = check_air_class(air_class)
    if not isinstance(stations, dict):
        raise DataError("站点数据应为 {站点名: 日数据} 映射", "stations must be a {name: daily} mapping")
    parsed = {str(s): _parse_daily(d, f"站点 {s} ") for s, d in stations.items()}
    return _assess_city(parsed, year, cls, name, include_stations)


def assess_station_hourly(hourly: dict, start, *, year: int | None = None, air_class: int = 2, name: str | None = None) -> dict:
    """assess_station on the daily values of hourly data (see daily_from_hourly for the input)."""
    cls = check_air_class(air_class)
    dates, values, _, _ = _daily_from_hourly_arrays(hourly, start, cls)
    year, dates, values = _select_year(dates, values, year, f"站点 {name} " if name else "站点")
    return _assess(dates, values, year, cls, "station", name)


def assess_city_hourly(stations: dict, start, *, year: int | None = None, air_class: int = 2, name: str | None = None,
                       include_stations: bool = True) -> dict:
    """assess_city from each station's hourly data ({station: hourly}, all starting on `start`)."""
    cls = check_air_class(air_class)
    if not isinstance(stations, dict):
        raise DataError("站点数据应为 {站点名: 小时数据} 映射", "stations must be a {name: hourly} mapping")
    parsed = {}
    for s, hourly in stations.items():
        dates, values, _, _ = _daily_from_hourly_arrays(hourly, start, cls)
        parsed[str(s)] = (dates, values)
    return _assess_city(parsed, year, cls, name, include_stations)
