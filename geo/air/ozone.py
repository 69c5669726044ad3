"""Ozone 8-hour moving averages and the daily maximum 8-hour average (MDA8) from hourly values.

An 8-hour average is the mean of the valid hours among 8 consecutive ones and needs at least 6 of them
(GB 3095 表4). It is labelled by its last hour, as HJ 663 does: the value "at 8时" covers 00:00–08:00.
The MDA8 of a day is the largest of the averages ending 8时 … 24时 (17 windows inside the day, GB 3095-2026
3.9 一个自然日内); it is valid with at least 14 valid windows, or with fewer when it is already above the
O3 8-h limit (HJ 663-2013, from memory — see data/air_standards.yaml). Rules are read per day's edition.

Hourly input: one value per hour, the first covering 00:00–01:00 of `start`; None/NaN/"NA" = missing.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from geo.air.aqi import concentration_array
from geo.air.standards import check_air_class, edition_summary, parse_date, periods, resolve
from geo.errors import DataError


def _window_means(windows: np.ndarray, min_hours: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean of the valid hours, or NaN with fewer than min_hours; count of valid hours) over the last axis."""
    counts = (~np.isnan(windows)).sum(axis=-1)
    sums = np.nansum(windows, axis=-1)
    means = np.where(counts >= min_hours, sums / np.maximum(counts, 1), np.nan)
    return means, counts


def mda8_arrays(h2d: np.ndarray, validity: dict, limit: float) -> dict:
    """MDA8 of days × 24 hourly values: {"mda8" (NaN if invalid), "max_available", "valid_windows", "valid"}."""
    first, last = validity["mda8_first_window_end_hour"], validity["mda8_last_window_end_hour"]
    windows = sliding_window_view(h2d, 8, axis=1)[:, first - 8:last - 7]  # window ending at hour e starts at e − 8
    means, _ = _window_means(windows, validity["moving_8h_min_hours"])
    valid_windows = (~np.isnan(means)).sum(axis=1)
    best = np.fmax.reduce(means, axis=1)
    valid = valid_windows >= validity["mda8_min_windows"]
    if validity["mda8_valid_if_above_limit"]:
        with np.errstate(invalid="ignore"):
            valid |= best > limit
    return {"mda8": np.where(valid, best, np.nan), "max_available": best, "valid_windows": valid_windows, "valid": valid}


def _hours_by_day(hourly, start, what: str) -> tuple[np.ndarray, np.ndarray]:
    arr = concentration_array(hourly, what)
    if arr.size == 0 or arr.size % 24:
        raise DataError(f"{what}应为整日的小时值（24 的倍数），收到 {arr.size} 个", f"{what}: need whole days of hourly values (a multiple of 24), got {arr.size}")
    d0 = np.datetime64(parse_date(start), "D")
    return arr.reshape(-1, 24), d0 + np.arange(arr.size // 24)


def _opt(v: float):
    return None if np.isnan(v) else float(round(v, 6))


def moving_average_8h(hourly, start) -> dict:
    """8-hour moving averages of a continuous hourly series (hours before the series count as missing).

    Returns {"start", "values": [mean of hours i−7 … i, or None with fewer than 6 valid], "valid_hours": [...],
    "min_hours", "label_zh", "edition"}. The rule (≥ 6 of 8 hours) is the edition's in force on `start`."""
    arr = concentration_array(hourly, "O3 小时值")
    d = parse_date(start)
    ed, phase = resolve(d)
    v = ed["assessment"]["validity"]
    padded = np.concatenate([np.full(7, np.nan), arr])
    means, counts = _window_means(sliding_window_view(padded, 8), v["moving_8h_min_hours"])
    return {"start": d.isoformat(), "values": [_opt(x) for x in means], "valid_hours": counts.tolist(),
            "min_hours": v["moving_8h_min_hours"],
            "label_zh": "第 i 个值为第 i−7 至第 i 小时（含）的平均，按结束小时标注；8 小时中至少 6 个有效小时值",
            "edition": edition_summary(ed, phase)}


def daily_mda8(hourly, start, air_class: int = 2) -> dict:
    """Daily maximum 8-hour average O3 per day, with its validity.

    hourly: whole days, the first value covering 00:00–01:00 of `start`. air_class picks the O3 8-h limit
    that keeps a day with fewer than 14 valid windows valid when its maximum is above it (一类区 100, 二类区 160).
    Returns {"dates", "mda8": [µg/m³ or None when invalid], "max_available", "valid_windows", "valid",
    "windows_per_day", "min_windows", "limits", "rule_zh", "editions"}."""
    cls = check_air_class(air_class)
    h2d, dates = _hours_by_day(hourly, start, "O3 小时值")
    n = len(dates)
    out = {k: np.full(n, np.nan) for k in ("mda8", "max_available", "limit")}
    valid_windows, valid = np.zeros(n, dtype=int), np.zeros(n, dtype=bool)
    eds, rules = [], set()
    for ed, ph, mask in periods(dates):
        v = ed["assessment"]["validity"]
        limit = ph[f"class_{cls}"]["O3"]["8h"]
        r = mda8_arrays(h2d[mask], v, limit)
        out["mda8"][mask], out["max_available"][mask], out["limit"][mask] = r["mda8"], r["max_available"], limit
        valid_windows[mask], valid[mask] = r["valid_windows"], r["valid"]
        eds.append(edition_summary(ed, ph))
        windows = v["mda8_last_window_end_hour"] - v["mda8_first_window_end_hour"] + 1
        rules.add((windows, v["mda8_min_windows"], v["moving_8h_min_hours"], v["mda8_first_window_end_hour"],
                   v["mda8_last_window_end_hour"], v["mda8_source_zh"]))
    windows, min_windows, min_hours, first, last, source = sorted(rules)[-1]
    return {
        "dates": [str(d) for d in dates], "mda8": [_opt(x) for x in out["mda8"]],
        "max_available": [_opt(x) for x in out["max_available"]], "valid_windows": valid_windows.tolist(),
        "valid": valid.tolist(), "windows_per_day": windows, "min_windows": min_windows,
        "limits": [_opt(x) for x in out["limit"]],
        "rule_zh": (f"当日 {first} 时至 {last} 时的 {windows} 个 8 小时滑动平均（每个至少 {min_hours} 个有效小时值）中的最大值；"
                    f"至少 {min_windows} 个有效 8 小时平均值，不足但最大值超过 O3 8 小时平均浓度限值时同样有效（{source}）"),
        "editions": eds,
    }

