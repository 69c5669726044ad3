"""Monitoring-section water quality under GB 3838-2002 (issue 5): classification, imports, rollups.

Pure engine, no Flask. The Table 1 limits live in data/gb3838_2002.yaml (data, not code) and are
validated on load: a wrong limit would silently mis-class every section a reviewer signs off.

Method (《地表水环境质量评价办法（试行）》, single-factor): each assessed parameter gets the best class
whose limit it meets (limits inclusive: ≤ for pollutants, ≥ for DO; shared limits such as COD 15 for
Ⅰ and Ⅱ give the better class); the section's class is the worst of them; beyond Ⅴ is 劣Ⅴ. pH inside
6–9 counts as Ⅰ, outside as 劣Ⅴ. TP has separate river and lake/reservoir limits; TN is assessed for
lakes/reservoirs only. class_num is 1–5 for Ⅰ–Ⅴ and 6 for 劣Ⅴ.

Values are mg/L except pH (dimensionless); the dict key `values_mg_l` follows that convention.
"""
from __future__ import annotations

import csv
import io
import math
import re
from collections import defaultdict
from datetime import date, datetime
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import yaml

from geo.errors import ConfigError, DataError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TABLE_PATH = DATA_DIR / "gb3838_2002.yaml"

PARAMETER_KEYS = ("DO", "CODMn", "COD", "BOD5", "NH3-N", "TP", "TN", "pH")
WATER_BODIES = ("river", "lake")
WORSE_THAN_5 = 6
_WATER_BODY_ALIASES = {
    "river": "river", "河流": "river", "河": "river",
    "lake": "lake", "湖库": "lake", "湖泊": "lake", "水库": "lake", "湖": "lake", "库": "lake",
    "lake/reservoir": "lake", "reservoir": "lake",
}
WATER_BODY_ZH = {"river": "河流", "lake": "湖库"}
LEVELS = ("国控", "市控", "区控")


# ---------------------------------------------------------------------------------------------
# Table loading and validation
# ---------------------------------------------------------------------------------------------

def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _validate_table(raw, path: Path) -> dict:
    """Check every field and return a normalised table; raise ConfigError naming the field."""
    def fail(field, problem):
        raise ConfigError(path, field, problem)

    if not isinstance(raw, dict):
        fail("(根)", "应为映射 / must be a mapping")
    if not isinstance(raw.get("source"), str) or not raw["source"].strip():
        fail("source", "缺少出处说明 / missing source note")
    classes = raw.get("classes")
    if not isinstance(classes, list) or len(classes) != 6:
        fail("classes", "应为 6 个类别（Ⅰ–Ⅴ、劣Ⅴ） / must list 6 classes (Ⅰ–Ⅴ, 劣Ⅴ)")
    out_classes = []
    for i, c in enumerate(classes):
        if not isinstance(c, dict) or c.get("num") != i + 1:
            fail(f"classes/{i}/num", f"应为 {i + 1} / must be {i + 1}")
        for f in ("name", "color", "quality"):
            if not isinstance(c.get(f), str) or not c[f].strip():
                fail(f"classes/{i}/{f}", "缺失或为空 / missing or empty")
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", c["color"]):
            fail(f"classes/{i}/color", f"不是 #RRGGBB 颜色 / not a #RRGGBB colour: {c['color']}")
        out_classes.append({"num": c["num"], "name": c["name"], "color": c["color"], "quality": c["quality"]})

    params = raw.get("parameters")
    if not isinstance(params, dict):
        fail("parameters", "应为映射 / must be a mapping")
    missing = [k for k in PARAMETER_KEYS if k not in params]
    if missing:
        fail("parameters", f"缺少参数 / missing parameters: {missing}")
    extra = [k for k in params if k not in PARAMETER_KEYS]
    if extra:
        fail("parameters", f"未知参数（代码只认识 {list(PARAMETER_KEYS)}） / unknown parameters: {extra}")

    out_params = {}
    for key in PARAMETER_KEYS:
        p = params[key]
        where = f"parameters/{key}"
        if not isinstance(p, dict):
            fail(where, "应为映射 / must be a mapping")
        for f in ("name_zh", "unit"):
            if not isinstance(p.get(f), str) or not p[f].strip():
                fail(f"{where}/{f}", "缺失或为空 / missing or empty")
        direction = p.get("direction")
        if direction not in ("min", "max", "range"):
            fail(f"{where}/direction", f"应为 min、max 或 range / must be min, max or range: {direction!r}")
        applies_to = p.get("applies_to", list(WATER_BODIES))
        if (not isinstance(applies_to, list) or not applies_to
                or any(w not in WATER_BODIES for w in applies_to)):
            fail(f"{where}/applies_to", f"应为 river、lake 的非空列表 / must be a non-empty list of river, lake: {applies_to!r}")
        entry = {"key": key, "name_zh": p["name_zh"], "unit": p["unit"], "direction": direction,
                 "applies_to": tuple(applies_to), "limits": None, "range": None, "note": p.get("note")}
        if direction == "range":
            rng = p.get("range")
            if not (isinstance(rng, list) and len(rng) == 2 and all(_is_number(v) for v in rng) and rng[0] < rng[1]):
                fail(f"{where}/range", f"应为 [下限, 上限] 两个数 / must be [low, high]: {rng!r}")
            entry["range"] = (float(rng[0]), float(rng[1]))
        else:
            lim = p.get("limits")
            per_body = lim if isinstance(lim, dict) else {w: lim for w in applies_to}
            if isinstance(lim, dict) and sorted(lim) != sorted(applies_to):
                fail(f"{where}/limits", f"分水体限值应恰好覆盖 {applies_to} / per-water-body limits must cover exactly {applies_to}")
            limits = {}
            for w, seq in per_body.items():
                fw = f"{where}/limits" + (f"/{w}" if isinstance(lim, dict) else "")
                if not (isinstance(seq, list) and len(seq) == 5 and all(_is_number(v) and v > 0 for v in seq)):
                    fail(fw, f"应为Ⅰ–Ⅴ类 5 个正数 / must be 5 positive numbers for Ⅰ–Ⅴ: {seq!r}")
                ordered = all(a <= b for a, b in zip(seq, seq[1:])) if direction == "max" else \
                    all(a >= b for a, b in zip(seq, seq[1:]))
                if not ordered:
                    fail(fw, "限值顺序错误（污染物应逐类不减，溶解氧应逐类不增） / limits out of order "
                             "(pollutants must not decrease from Ⅰ to Ⅴ, DO must not increase)")
                limits[w] = tuple(float(v) for v in seq)
            entry["limits"] = limits
        out_params[key] = entry
    return {"standard": raw.get("standard"), "title": raw.get("title"), "source": raw["source"].strip(),
            "classes": out_classes, "parameters": out_params}


@lru_cache(maxsize=8)
def _load_table_cached(path_str: str) -> dict:
    path = Path(path_str)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "(文件)", f"无法读取为 UTF-8 YAML / cannot read as UTF-8 YAML: {exc}") from exc
    return _validate_table(raw, path)


def load_table(path: Path | str | None = None) -> dict:
    """The validated GB 3838-2002 table (cached per path). Raises ConfigError naming the bad field."""
    return _load_table_cached(str(Path(path or TABLE_PATH).resolve()))


def _table() -> dict:
    return load_table()


_table()  # fail loudly at import if the shipped table is malformed


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

_ROMAN_ASCII = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}


def class_name(num: int) -> str:
    return _table()["classes"][num - 1]["name"]


def class_info(num: int) -> dict:
    """{'num', 'name', 'color', 'quality'} for class_num 1–6."""
    return dict(_table()["classes"][num - 1])


def class_num(name) -> int:
    """'Ⅲ', 'III', 'Ⅲ类', '3', 3 → 3; '劣Ⅴ' / '劣V' → 6. Raises DataError otherwise."""
    if isinstance(name, int) and not isinstance(name, bool) and 1 <= name <= 6:
        return name
    text = str(name).strip().removesuffix("类").strip() if name is not None else ""
    for c in _table()["classes"]:
        if text == c["name"]:
            return c["num"]
    ascii_text = text.upper()
    if ascii_text.startswith("劣") and ascii_text[1:] == "V":
        return WORSE_THAN_5
    if ascii_text in _ROMAN_ASCII:
        return _ROMAN_ASCII[ascii_text]
    if text.isdigit() and 1 <= int(text) <= 6:
        return int(text)
    raise DataError(f"无法识别的水质类别：{name!r}（应为Ⅰ–Ⅴ或劣Ⅴ）",
                    f"unrecognised water-quality class {name!r} (expected Ⅰ–Ⅴ or 劣Ⅴ)")


def normalize_water_body(water_body) -> str:
    """'river' | 'lake' from river/lake/河流/湖库 (also 湖泊, 水库)."""
    wb = _WATER_BODY_ALIASES.get(str(water_body).strip().lower()) if water_body is not None else None
    if wb is None:
        raise DataError(f"水体类型应为 river/河流 或 lake/湖库，收到 {water_body!r}",
                        f"water_body must be river/河流 or lake/湖库, got {water_body!r}")
    return wb


@lru_cache(maxsize=1)
def _param_aliases() -> dict[str, str]:
    """Lower-case column/key spellings → canonical key: the key itself and its Chinese name."""
    out = {}
    for key, p in _table()["parameters"].items():
        out[key.lower()] = key
        zh = p["name_zh"]
        out[zh.lower()] = key
        out[re.split(r"[（(]", zh)[0].strip().lower()] = key
    return out


def canonical_parameter(name) -> str | None:
    """'nh3-n', 'NH3-N', '氨氮' → 'NH3-N'; None if unknown."""
    return _param_aliases().get(str(name).strip().lower())


def expected_parameters(water_body: str) -> list[str]:
    """Parameters assessed for this water body, in table order."""
    wb = normalize_water_body(water_body)
    return [k for k, p in _table()["parameters"].items() if wb in p["applies_to"]]


def _to_float(value):
    """float, or None when the value is not a finite number (bools and blanks are not numbers)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        s = value.strip()
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", s):
            return None
        return float(s)
    return None


def _value_problem(key: str, v: float) -> tuple[str, str] | None:
    if v < 0:
        return "不能为负数", "must not be negative"
    if key == "pH" and v > 14:
        return "pH 应在 0–14 之间", "pH must be within 0–14"
    return None


def _check_values(values) -> dict[str, float]:
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
        v = _to_float(raw_val)
        if v is None:
            bad[key] = (f"不是数值：{raw_val!r}", f"not a number: {raw_val!r}")
            continue
        problem = _value_problem(key, v)
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
        raise DataError("；".join(zh), "; ".join(en), 400,
                        {"unknown_parameters": unknown,
                         "invalid_values": {k: {"problem": pzh, "problem_en": pen} for k, (pzh, pen) in bad.items()}})
    return clean


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
    params = _table()["parameters"]
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
                    "class_num": num, "class": class_name(num), "limit_for_class": limit}
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


# ---------------------------------------------------------------------------------------------
# Classification and exceedance
# ---------------------------------------------------------------------------------------------

def classify(values: dict, water_body: str) -> dict:
    """Single-factor class of one sample (or one period's means).

    Returns {"water_body": "river"|"lake", "class": "Ⅲ", "class_num": 3, "color": "#37b70c",
    "quality": "良好", "deciding_parameters": [...], "per_parameter": {key: {"name_zh", "value", "unit",
    "class_num", "class", "limit_for_class"}}, "missing_parameters": [...], "not_assessed": [...]}.
    limit_for_class is the limit of the assigned class (for 劣Ⅴ: the Ⅴ limit it fails; for pH: [6, 9]).
    not_assessed lists parameters given but not applicable (TN for a river).
    Raises DataError (400) for unknown keys, non-numeric or negative values, or nothing to assess.
    """
    wb = normalize_water_body(water_body)
    result = _classify_clean(_check_values(values), wb)
    if result["class_num"] is None:
        raise DataError(f"没有可参与评价的参数（{WATER_BODY_ZH[wb]}评价参数：{', '.join(expected_parameters(wb))}）",
                        f"no assessable parameter given (for a {wb}: {', '.join(expected_parameters(wb))})")
    return result


def _exceedance_clean(clean: dict[str, float], wb: str, target: int) -> dict:
    params = _table()["parameters"]
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


def _target_num(target_class_num) -> int:
    num = class_num(target_class_num)
    if num == WORSE_THAN_5:
        raise DataError("目标类别不能是劣Ⅴ类", "the target class cannot be 劣Ⅴ")
    return num


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
    target = _target_num(target_class_num)
    ex = _exceedance_clean(_check_values(values), wb, target)
    return {"target_class": class_name(target), "target_class_num": target, "compliant": not ex, "parameters": ex}


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
        for s in plan.get("monitoring_sections", []):
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
# Measurement import (CSV / xlsx)
# ---------------------------------------------------------------------------------------------

_SECTION_HEADERS = {"section", "section_name", "断面", "断面名称"}
_DISTRICT_HEADERS = {"district", "区县", "区县名称"}
_ADCODE_HEADERS = {"adcode", "行政区划代码", "区县代码"}
_DATE_HEADERS = {"date", "日期", "采样日期", "监测日期", "监测时间"}
_IGNORED_HEADERS = {"note", "notes", "备注"}
_MG_L_UNITS = {"mg/l", "毫克/升"}
_PH_UNITS = {"无量纲", "dimensionless", "-", "—"}
_UNIT_SUFFIX = re.compile(r"^(?P<name>.+?)\s*[\(（\[【](?P<unit>[^\)）\]】]*)[\)）\]】]\s*$")
_DATE_RE = re.compile(r"^(\d{4})[-/](\d{1,2})(?:[-/](\d{1,2}))?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")


def _col_letter(idx: int) -> str:
    s, n = "", idx + 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _unit_ok(key: str, unit: str) -> bool:
    u = re.sub(r"\s+", "", unit).lower()
    return u in (_PH_UNITS if key == "pH" else _MG_L_UNITS)


def _expected_unit(key: str, en: bool = False) -> str:
    return ("dimensionless" if en else "无量纲") if key == "pH" else "mg/L"


def _read_rows(data: bytes, filename: str) -> list[list]:
    ext = Path(filename).suffix.lower()
    if ext == ".csv":
        text = None
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            raise DataError(f"{filename}：无法按 UTF-8 或 GBK 解码", f"{filename}: not decodable as UTF-8 or GBK")
        try:
            return [row for row in csv.reader(io.StringIO(text, newline=""))]
        except csv.Error as exc:
            raise DataError(f"{filename}：CSV 格式错误：{exc}", f"{filename}: malformed CSV: {exc}") from exc
    if ext in (".xlsx", ".xlsm"):
        try:
            import openpyxl
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise DataError("服务器未安装 openpyxl，无法读取 Excel；请另存为 CSV",
                            "openpyxl is not installed: save the sheet as CSV", 500) from exc
        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a corrupt file
            raise DataError(f"{filename}：不是有效的 .xlsx 文件（{exc}）", f"{filename}: not a valid .xlsx file ({exc})") from exc
        try:
            ws = wb.worksheets[0]
            return [list(r) for r in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    if ext == ".xls":
        raise DataError(f"{filename}：不支持旧版 .xls，请在 Excel 中另存为 .xlsx 或 CSV",
                        f"{filename}: legacy .xls is not supported; save as .xlsx or CSV")
    raise DataError(f"{filename}：只支持 .csv 和 .xlsx 文件", f"{filename}: only .csv and .xlsx files are supported")


def _parse_date(v) -> tuple[str, str] | None:
    """(date text as stored, period YYYY-MM), or None if not YYYY-MM / YYYY-MM-DD."""
    if isinstance(v, datetime):
        v = v.date()
    if isinstance(v, date):
        return v.isoformat(), v.strftime("%Y-%m")
    m = _DATE_RE.match(_cell_text(v))
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), m.group(3)
    try:
        if d is None:
            date(y, mo, 1)
            return f"{y:04d}-{mo:02d}", f"{y:04d}-{mo:02d}"
        dt = date(y, mo, int(d))
    except ValueError:
        return None
    return dt.isoformat(), dt.strftime("%Y-%m")


def _strip_county_suffix(s: str) -> str:
    return s[:-1] if len(s) > 1 and s[-1] in "区县" else s


def parse_measurements(path_or_bytes, filename: str, sections: list[dict]) -> list[dict]:
    """Read a CSV (UTF-8, UTF-8-BOM or GBK) or .xlsx of section × date rows; all or nothing.

    Layout: row 1 is the header: a `section` column (断面名称 or the id '500110:北渡'), a `date`
    column (YYYY-MM or YYYY-MM-DD; '/' separators, one-digit months and a trailing 00:00:00 as
    exported by Excel are tolerated; Excel date cells are read as dates), optionally `district` (name or adcode) and/or `adcode` to tell
    same-named sections apart, optionally `note`/备注 (ignored), and one column per parameter
    (DO, CODMn, COD, BOD5, NH3-N, TP, TN, pH, case-insensitive, or their Chinese names), optionally
    suffixed with the unit, e.g. `NH3-N(mg/L)`. An optional row 2 may give units. Values are mg/L
    (pH dimensionless); a blank cell means not measured; fully blank rows are skipped.

    Policy: if any row is bad the whole file is refused with ONE DataError whose details["errors"]
    lists every problem as {"row", "column", "problem", "problem_en"} (row 1 = header, as in the
    spreadsheet). A partly imported file would leave the reviewer unsure which months are real.

    Returns [{"row", "section_id", "adcode", "section", "water_body", "date", "period": "YYYY-MM",
    "values": {key: float}}] in file order.
    """
    data = Path(path_or_bytes).read_bytes() if isinstance(path_or_bytes, (str, Path)) else bytes(path_or_bytes)
    if not data.strip():
        raise DataError(f"{filename}：文件为空", f"{filename}: the file is empty")
    rows = _read_rows(data, filename)
    while rows and all(_cell_text(c) == "" for c in rows[-1]):
        rows.pop()
    if not rows or all(_cell_text(c) == "" for c in rows[0]):
        raise DataError(f"{filename}：文件为空或第1行不是表头", f"{filename}: empty, or row 1 is not a header")

    errors: list[dict] = []

    def err(row, column, zh, en):
        errors.append({"row": row, "column": column, "problem": zh, "problem_en": en})

    # --- header ---------------------------------------------------------------------------
    header = [_cell_text(c) for c in rows[0]]
    cols: dict[str, int] = {}
    param_cols: dict[str, int] = {}
    ignored: set[int] = set()
    col_names: dict[int, str] = {}
    for i, h in enumerate(header):
        col_names[i] = h or f"第{_col_letter(i)}列"
        if not h:
            ignored.add(i)  # blank header: allowed only if the column is empty (checked per row)
            continue
        low = h.lower()
        role = ("section" if low in _SECTION_HEADERS else "district" if low in _DISTRICT_HEADERS
                else "adcode" if low in _ADCODE_HEADERS else "date" if low in _DATE_HEADERS else None)
        if role:
            if role in cols:
                err(1, h, f"列重复（与第{_col_letter(cols[role])}列相同）", f"duplicate column (same as column {_col_letter(cols[role])})")
            cols[role] = i
            continue
        if low in _IGNORED_HEADERS:
            ignored.add(i)
            continue
        key, unit = canonical_parameter(h), None
        if key is None:
            m = _UNIT_SUFFIX.match(h)
            if m and canonical_parameter(m.group("name")):
                key, unit = canonical_parameter(m.group("name")), m.group("unit")
        if key is None:
            err(1, h, f"未知列（可用：section、district、adcode、date、note 与参数 {', '.join(PARAMETER_KEYS)}）",
                f"unknown column (known: section, district, adcode, date, note and parameters {', '.join(PARAMETER_KEYS)})")
            ignored.add(i)
            continue
        if unit is not None and not _unit_ok(key, unit):
            err(1, h, f"单位应为 {_expected_unit(key)}，不是 {unit}；请换算后再导入",
                f"unit must be {_expected_unit(key, True)}, not {unit}; convert before importing")
        if key in param_cols:
            err(1, h, f"参数 {key} 重复（与第{_col_letter(param_cols[key])}列相同）",
                f"parameter {key} given twice (also column {_col_letter(param_cols[key])})")
            continue
        param_cols[key] = i
    missing_cols = [c for c in ("section", "date") if c not in cols]
    if missing_cols or not param_cols:
        for c in missing_cols:
            err(1, c, f"缺少必需列 {c}", f"required column {c} is missing")
        if not param_cols:
            err(1, "(参数)", f"没有任何参数列（{', '.join(PARAMETER_KEYS)}）", f"no parameter column ({', '.join(PARAMETER_KEYS)})")
        _refuse(filename, errors)

    # --- optional unit row (row 2) --------------------------------------------------------
    start = 1
    if len(rows) > 1:
        r2 = rows[1]
        cell = lambda row, i: row[i] if i < len(row) else None  # noqa: E731
        sec_text = _cell_text(cell(r2, cols["section"])).lower()
        p_texts = {k: _cell_text(cell(r2, i)) for k, i in param_cols.items()}
        if sec_text in ("", "单位", "unit", "units") and any(p_texts.values()) and \
                all(t == "" or _to_float(t) is None for t in p_texts.values()) and \
                all(t == "" or re.search(r"/|无量纲|dimensionless", t, re.I) for t in p_texts.values()):
            start = 2
            for k, t in p_texts.items():
                if t and not _unit_ok(k, t):
                    err(2, col_names[param_cols[k]], f"单位应为 {_expected_unit(k)}，不是 {t}；请换算后再导入",
                        f"unit must be {_expected_unit(k, True)}, not {t}; convert before importing")

    # --- section index --------------------------------------------------------------------
    by_id = {s["id"]: s for s in sections}
    by_name: dict[str, list[dict]] = defaultdict(list)
    for s in sections:
        by_name[s["name"]].append(s)

    def district_matches(s: dict, text: str) -> bool:
        names = {s.get("adcode")}
        if s.get("district"):
            names |= {s["district"], _strip_county_suffix(s["district"])}
        return text in names or _strip_county_suffix(text) in names

    # --- data rows ------------------------------------------------------------------------
    records, seen = [], {}
    for r_idx in range(start, len(rows)):
        rownum = r_idx + 1
        row = rows[r_idx]
        if all(_cell_text(c) == "" for c in row):
            continue
        get = lambda i: row[i] if i is not None and i < len(row) else None  # noqa: E731
        row_errs_before = len(errors)
        for i in ignored:
            if not header[i] and _cell_text(get(i)) != "":
                err(rownum, col_names[i], "该列没有表头，却有数据", "this column has data but no header")

        # section
        name = _cell_text(get(cols["section"]))
        district_texts = [t for t in (_cell_text(get(cols.get("district"))), _cell_text(get(cols.get("adcode")))) if t]
        section = None
        if not name:
            err(rownum, col_names[cols["section"]], "断面名称为空", "section name is empty")
        elif name in by_id:
            section = by_id[name]
        else:
            cands = [s for s in by_name.get(name, []) if all(district_matches(s, t) for t in district_texts)]
            if len(cands) == 1:
                section = cands[0]
            elif len(cands) > 1:
                err(rownum, col_names[cols["section"]],
                    f"断面“{name}”在多个区县重名，请填写 district 或 adcode 列",
                    f"section '{name}' exists in several districts; fill in the district or adcode column")
            else:
                where = f"（区县 {'/'.join(district_texts)}）" if district_texts else ""
                err(rownum, col_names[cols["section"]], f"未知断面“{name}”{where}",
                    f"unknown section '{name}'" + (f" (district {'/'.join(district_texts)})" if district_texts else ""))

        # date
        raw_date = get(cols["date"])
        parsed = _parse_date(raw_date)
        if parsed is None:
            shown = _cell_text(raw_date)
            err(rownum, col_names[cols["date"]],
                f"日期无效：{shown!r}（应为 YYYY-MM 或 YYYY-MM-DD）" if shown else "日期为空（应为 YYYY-MM 或 YYYY-MM-DD）",
                f"invalid date {shown!r} (expected YYYY-MM or YYYY-MM-DD)" if shown else "date is empty (expected YYYY-MM or YYYY-MM-DD)")

        # values
        values = {}
        for key, i in param_cols.items():
            raw = get(i)
            if _cell_text(raw) == "":
                continue
            v = _to_float(raw)
            if v is None:
                err(rownum, col_names[i],
                    f"不是数值：{_cell_text(raw)!r}（单位 {_expected_unit(key)}；低于检出限请按本单位约定填写数值）",
                    f"not a number: {_cell_text(raw)!r} (unit {_expected_unit(key, True)}; for values below the detection limit enter a number)")
                continue
            problem = _value_problem(key, v)
            if problem:
                err(rownum, col_names[i], f"{problem[0]}：{_cell_text(raw)}", f"{problem[1]}: {_cell_text(raw)}")
                continue
            values[key] = v
        if not values and len(errors) == row_errs_before:
            err(rownum, "(参数)", "该行没有任何监测值", "the row has no measured value")

        if len(errors) == row_errs_before and section and parsed:
            dup_key = (section["id"], parsed[0])
            if dup_key in seen:
                err(rownum, col_names[cols["date"]], f"与第{seen[dup_key]}行重复（同一断面、同一日期）",
                    f"duplicates row {seen[dup_key]} (same section and date)")
                continue
            seen[dup_key] = rownum
            records.append({"row": rownum, "section_id": section["id"], "adcode": section.get("adcode"),
                            "section": section["name"], "water_body": section.get("water_body"),
                            "date": parsed[0], "period": parsed[1], "values": values})
    if errors:
        _refuse(filename, errors)
    if not records:
        raise DataError(f"{filename}：没有数据行", f"{filename}: no data rows")
    return records


def _refuse(filename: str, errors: list[dict]):
    bad_rows = sorted({e["row"] for e in errors})
    rows_txt = "、".join(str(r) for r in bad_rows[:20]) + ("…" if len(bad_rows) > 20 else "")
    first = errors[0]
    raise DataError(
        f"{filename}：有 {len(errors)} 处错误（第 {rows_txt} 行），整个文件未导入，请改正后重新导入。"
        f"首个错误：第{first['row']}行 {first['column']}：{first['problem']}",
        f"{filename}: {len(errors)} problem(s) in row(s) {', '.join(map(str, bad_rows[:20]))}; nothing was imported, "
        f"fix the file and import it again. First: row {first['row']} {first['column']}: {first['problem_en']}",
        400, {"file": filename, "bad_rows": bad_rows, "errors": errors})


# ---------------------------------------------------------------------------------------------
# Period classification
# ---------------------------------------------------------------------------------------------

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
    target = _target_num(target_class_num) if target_class_num not in (None, "") else None
    by_month: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    n_samples: dict[str, int] = defaultdict(int)
    for rec in records:
        p = _period_of(rec)
        n_samples[p] += 1
        month = by_month[p]  # created even if every value is blank, so the month still shows
        for k, v in _check_values(rec["values"]).items():
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


# ---------------------------------------------------------------------------------------------
# Rollups and comparison with the plan
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
    n_ok = sum(1 for r in with_target if r["class_num"] <= _target_num(r["target_class"]))
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


def compare_with_plan(rollup_result: dict, plan: dict) -> list[dict]:
    """Status of the plan's section indicators against a rollup of that district's sections.

    Handles indicators keyed surface_water_class_1_3 (share at Ⅰ–Ⅲ) and surface_water_worse_than_5
    (share at 劣Ⅴ). Scope: the 国控 group when the indicator's name mentions 国控, else all sections.
    A bare number means ≥ for the Ⅰ–Ⅲ share and ≤ for the 劣Ⅴ share. Comparison is exact
    (fractions), so 14/15 = 93.33 % meets ≥93.

    Returns [{"key", "name", "category", "value_2020", "target_text", "target": {"op", "value_pct"}|None,
    "scope", "n_assessed", "n_matching", "actual_pct", "status": "达标"|"未达标"|"无法判断",
    "status_en", "reason", "source_line"}].
    """
    out = []
    for ind in plan.get("indicators", []):
        spec = _PLAN_KEYS.get(ind.get("key"))
        if spec is None:
            continue
        scope = "国控" if "国控" in ind.get("name", "") else "全部"
        stats = rollup_result["overall"] if scope == "全部" else rollup_result["by_level"].get("国控")
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
            row.update(status="无法判断", status_en="undetermined",
                       reason=f"目标“{target_text}”不是可比较的数值 / target is not a comparable number")
        elif n == 0:
            row.update(status="无法判断", status_en="undetermined",
                       reason=f"范围（{scope}断面）内没有有水质类别的断面 / no classified section in scope")
        else:
            ok = _meets(Fraction(100 * k, n), target["op"], target["value_pct"])
            row.update(status="达标" if ok else "未达标", status_en="met" if ok else "not met",
                       reason=f"{spec['what']} {k}/{n} = {_pct(k, n)}%，目标 {target['op']}{float(target['value_pct']):g}%")
        out.append(row)
    return out


def limit_for(key: str, water_body: str, target_class_num: int):
    """The Table 1 limit of one parameter for a class (pH: its [6, 9] range); for drawing target lines."""
    p = _table()["parameters"][key]
    if p["direction"] == "range":
        return list(p["range"])
    return p["limits"][normalize_water_body(water_body)][_target_num(target_class_num) - 1]
