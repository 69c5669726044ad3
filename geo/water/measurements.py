"""Reading section measurements from a CSV or .xlsx file: headers, units, dates, values; all or nothing.

A file with any bad row is refused whole, listing every problem by spreadsheet row and column:
a partly imported file would leave the reviewer unsure which months are real.
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime
from functools import partial

from geo.errors import DataError
from geo.spreadsheet import cell, cell_text, col_letter, refuse, table_rows
from geo.water.table import PARAMETER_KEYS, canonical_parameter
from geo.water.values import to_float, value_problem

_SECTION_HEADERS = {"section", "section_name", "断面", "断面名称"}
_DISTRICT_HEADERS = {"district", "区县", "区县名称"}
_ADCODE_HEADERS = {"adcode", "行政区划代码", "区县代码"}
_DATE_HEADERS = {"date", "日期", "采样日期", "监测日期", "监测时间"}
_IGNORED_HEADERS = {"note", "notes", "备注"}
_MG_L_UNITS = {"mg/l", "毫克/升"}
_PH_UNITS = {"无量纲", "dimensionless", "-", "—"}
_UNIT_SUFFIX = re.compile(r"^(?P<name>.+?)\s*[\(（\[【](?P<unit>[^\)）\]】]*)[\)）\]】]\s*$")
_DATE_RE = re.compile(r"^(\d{4})[-/](\d{1,2})(?:[-/](\d{1,2}))?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")


def _unit_ok(key: str, unit: str) -> bool:
    u = re.sub(r"\s+", "", unit).lower()
    return u in (_PH_UNITS if key == "pH" else _MG_L_UNITS)


def _expected_unit(key: str, en: bool = False) -> str:
    return ("dimensionless" if en else "无量纲") if key == "pH" else "mg/L"


def _parse_date(v) -> tuple[str, str] | None:
    """(date text as stored, period YYYY-MM), or None if not YYYY-MM / YYYY-MM-DD."""
    if isinstance(v, datetime):
        v = v.date()
    if isinstance(v, date):
        return v.isoformat(), v.strftime("%Y-%m")
    m = _DATE_RE.match(cell_text(v))
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
    rows = table_rows(path_or_bytes, filename)

    errors: list[dict] = []

    def err(row, column, zh, en):
        errors.append({"row": row, "column": column, "problem": zh, "problem_en": en})

    # --- header ---------------------------------------------------------------------------
    header = [cell_text(c) for c in rows[0]]
    cols: dict[str, int] = {}
    param_cols: dict[str, int] = {}
    ignored: set[int] = set()
    col_names: dict[int, str] = {}
    for i, h in enumerate(header):
        col_names[i] = h or f"第{col_letter(i)}列"
        if not h:
            ignored.add(i)  # blank header: allowed only if the column is empty (checked per row)
            continue
        low = h.lower()
        role = ("section" if low in _SECTION_HEADERS else "district" if low in _DISTRICT_HEADERS
                else "adcode" if low in _ADCODE_HEADERS else "date" if low in _DATE_HEADERS else None)
        if role:
            if role in cols:
                err(1, h, f"列重复（与第{col_letter(cols[role])}列相同）", f"duplicate column (same as column {col_letter(cols[role])})")
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
            err(1, h, f"参数 {key} 重复（与第{col_letter(param_cols[key])}列相同）",
                f"parameter {key} given twice (also column {col_letter(param_cols[key])})")
            continue
        param_cols[key] = i
    missing_cols = [c for c in ("section", "date") if c not in cols]
    if missing_cols or not param_cols:
        for c in missing_cols:
            err(1, c, f"缺少必需列 {c}", f"required column {c} is missing")
        if not param_cols:
            err(1, "(参数)", f"没有任何参数列（{', '.join(PARAMETER_KEYS)}）", f"no parameter column ({', '.join(PARAMETER_KEYS)})")
        refuse(filename, errors)

    # --- optional unit row (row 2) --------------------------------------------------------
    start = 1
    if len(rows) > 1:
        r2 = rows[1]
        sec_text = cell_text(cell(r2, cols["section"])).lower()
        p_texts = {k: cell_text(cell(r2, i)) for k, i in param_cols.items()}
        if sec_text in ("", "单位", "unit", "units") and any(p_texts.values()) and \
                all(t == "" or to_float(t) is None for t in p_texts.values()) and \
                all(t == "" or re.search(r"/|无量纲|dimensionless", t, re.IGNORECASE) for t in p_texts.values()):
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
        if all(cell_text(c) == "" for c in row):
            continue
        get = partial(cell, row)
        row_errs_before = len(errors)
        for i in ignored:
            if not header[i] and cell_text(get(i)) != "":
                err(rownum, col_names[i], "该列没有表头，却有数据", "this column has data but no header")

        # section
        name = cell_text(get(cols["section"]))
        district_texts = [t for t in (cell_text(get(cols.get("district"))), cell_text(get(cols.get("adcode")))) if t]
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
            shown = cell_text(raw_date)
            err(rownum, col_names[cols["date"]],
                f"日期无效：{shown!r}（应为 YYYY-MM 或 YYYY-MM-DD）" if shown else "日期为空（应为 YYYY-MM 或 YYYY-MM-DD）",
                f"invalid date {shown!r} (expected YYYY-MM or YYYY-MM-DD)" if shown else "date is empty (expected YYYY-MM or YYYY-MM-DD)")

        # values
        values = {}
        for key, i in param_cols.items():
            raw = get(i)
            if cell_text(raw) == "":
                continue
            v = to_float(raw)
            if v is None:
                err(rownum, col_names[i],
                    f"不是数值：{cell_text(raw)!r}（单位 {_expected_unit(key)}；低于检出限请按本单位约定填写数值）",
                    f"not a number: {cell_text(raw)!r} (unit {_expected_unit(key, True)}; for values below the detection limit enter a number)")
                continue
            problem = value_problem(key, v)
            if problem:
                err(rownum, col_names[i], f"{problem[0]}：{cell_text(raw)}", f"{problem[1]}: {cell_text(raw)}")
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
        refuse(filename, errors)
    if not records:
        raise DataError(f"{filename}：没有数据行", f"{filename}: no data rows")
    return records
