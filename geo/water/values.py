"""What counts as a measured value: a finite number, not negative, pH within 0–14.

Shared by classification (values given as a mapping) and the file import (values in cells), so
both refuse the same things with the same words.
"""
from __future__ import annotations

import math
import re

from geo.errors import DataError
from geo.water.table import PARAMETER_KEYS, canonical_parameter

_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def to_float(value):
    """float, or None when the value is not a finite number (bools and blanks are not numbers)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        s = value.strip()
        if not _NUMBER_RE.fullmatch(s):
            return None
        return float(s)
    return None


def value_problem(key: str, v: float) -> tuple[str, str] | None:
    """(zh, en) of why a number cannot be a measurement of this parameter, or None."""
    if v < 0:
        return "不能为负数", "must not be negative"
    if key == "pH" and v > 14:
        return "pH 应在 0–14 之间", "pH must be within 0–14"
    return None


def check_values(values) -> dict[str, float]:
    """Canonical keys → floats; None means not measured. One DataError listing every problem."""
    if not isinstance(values, dict):
        raise DataError("values 应为 {参数: 数值} 映射", "values must be a {parameter: number} mapping")
    unknown, bad, clean, seen = [], {}, {}, set()
    for raw_key, raw_val in values.items():
        key = canonical_parameter(raw_key)
        if key is None:
            unknown.append(str(raw_key))
            continue
        if key in seen:
            bad[key] = ("参数重复（大小写或中英文名不同但指同一参数）", "given twice (different spellings of the same parameter)")
            continue
        seen.add(key)
        if raw_val is None:
            continue
        v = to_float(raw_val)
        if v is None:
            bad[key] = (f"不是数值：{raw_val!r}", f"not a number: {raw_val!r}")
            continue
        problem = value_problem(key, v)
        if problem:
            bad[key] = (f"{problem[0]}：{raw_val!r}", f"{problem[1]}: {raw_val!r}")
            continue
        clean[key] = v
    if unknown or bad:
        zh, en = [], []
        if unknown:
            zh.append(f"未知参数：{', '.join(unknown)}（可用：{', '.join(PARAMETER_KEYS)}）")
            en.append(f"unknown parameters: {', '.join(unknown)} (known: {', '.join(PARAMETER_KEYS)})")
        for k, (pzh, pen) in bad.items():
            zh.append(f"{k} {pzh}")
            en.append(f"{k} {pen}")
        raise DataError("；".join(zh), "; ".join(en),
                        {"unknown_parameters": unknown,
                         "invalid_values": {k: {"problem": pzh, "problem_en": pen} for k, (pzh, pen) in bad.items()}})
    return clean
