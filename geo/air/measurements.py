"""Reading air-quality monitoring data from a CSV or .xlsx file: headers, units, dates or hours, values; all or nothing.

A file holds either daily values (one row per station × day) or hourly values (one row per station ×
hour), never both; the result says which. A file with any bad row is refused whole, listing every
problem by spreadsheet row and column: a partly imported file would leave the reviewer unsure which
days are real, and an annual assessment counts the valid days.

Pure engine (no Flask, no database): the store is state/air_measurements.py.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from datetime import date, datetime, time
from functools import partial

from geo.errors import DataError
from geo.spreadsheet import cell as cell_at, cell_text, col_letter, refuse, table_rows
from geo.water.values import to_float

# The pollutant keys of an import, as stored. Daily files: 24-h means of PM2.5, PM10, SO2, NO2, CO, the daily
# maximum 1-h O3 (stored as "O3"; columns O3_1h / 臭氧1小时) and the daily maximum 8-h average O3_8h. Hourly files:
# the 1-h values of PM2.5, PM10, SO2, NO2, CO and O3 (the 8-h averages are computed from them, never imported).
POLLUTANTS = ("PM2.5", "PM10", "SO2", "NO2", "CO", "O3", "O3_8h")
DAILY_POLLUTANTS = POLLUTANTS
HOURLY_POLLUTANTS = ("PM2.5", "PM10", "SO2", "NO2", "CO", "O3")
UNITS = {p: ("mg/m³" if p == "CO" else "µg/m³") for p in POLLUTANTS}
POLLUTANT_ZH = {"PM2.5": "细颗粒物（PM2.5）", "PM10": "可吸入颗粒物（PM10）", "SO2": "二氧化硫", "NO2": "二氧化氮",
                "CO": "一氧化碳", "O3": "臭氧", "O3_8h": "臭氧日最大8小时平均"}
RESOLUTION_ZH = {"daily": "日数据", "hourly": "小时数据"}

_STATION_HEADERS = {"站点", "站点名称", "站名", "监测站", "监测站点", "监测点", "监测点位", "点位", "点位名称", "station", "station_name", "site"}
_STATION_ID_HEADERS = {"站点编码", "站点代码", "站点编号", "站号", "点位编码", "点位代码", "station_id", "station_code", "id", "code"}
_DISTRICT_HEADERS = {"区县", "所属区县", "区县名称", "district", "county"}
_ADCODE_HEADERS = {"adcode", "行政区划代码", "区县代码"}
_DATE_HEADERS = {"日期", "监测日期", "date", "day"}
_DATETIME_HEADERS = {"日期时间", "监测时间", "时间点", "datetime", "date_time", "timepoint", "time_point"}
_TIME_HEADERS = {"时间", "小时", "时段", "time", "hour"}
# derived or descriptive columns of platform exports: read past, listed in the result
_IGNORED_HEADERS = {"备注", "note", "notes", "aqi", "空气质量指数", "首要污染物", "primary_pollutant", "质量等级", "空气质量等级",
                    "空气质量指数类别", "空气质量指数级别", "等级", "类别", "quality", "城市", "city", "经度", "纬度", "lon", "lat",
                    "longitude", "latitude"}

_BASES = {"pm2.5": "PM2.5", "pm2_5": "PM2.5", "pm25": "PM2.5", "细颗粒物": "PM2.5", "pm10": "PM10", "可吸入颗粒物": "PM10",
          "so2": "SO2", "二氧化硫": "SO2", "no2": "NO2", "二氧化氮": "NO2", "co": "CO", "一氧化碳": "CO", "o3": "O3", "臭氧": "O3"}
_BASE_RE = re.compile(r"^(?P<base>" + "|".join(sorted(map(re.escape, _BASES), key=len, reverse=True)) + r")(?P<suffix>.*)$")
_SUFFIX_NOISE = re.compile(r"[_\s]|平均|浓度|滑动|日最大|最大|max|均值|均|值")
_SUFFIX_HOURS = {"": "", "1h": "1h", "1小时": "1h", "8h": "8h", "8小时": "8h", "24h": "24h", "24小时": "24h", "日": "24h"}
_PAREN = re.compile(r"^(?P<name>.*?)\s*[\(\[【]\s*(?P<inner>[^\)\]】]*)\s*[\)\]】]\s*$")
_UG_UNITS = {"ug/m3", "微克/立方米", "ug/m3(标况)", "ug/m3(标准状态)"}
_MG_UNITS = {"mg/m3", "毫克/立方米", "mg/m3(标况)", "mg/m3(标准状态)"}

_DATE_PART = r"(?P<y>\d{4})\s*[-/.年]\s*(?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
_TIME_PART = r"(?P<h>\d{1,2})(?:\s*[:：]\s*(?P<mi>\d{2})(?:\s*[:：]\s*(?P<s>\d{2}(?:\.\d+)?))?|\s*时)?"
_DATETIME_RE = re.compile(rf"^{_DATE_PART}(?:(?:\s+|T|\s*日\s*){_TIME_PART})?$")
_TIME_RE = re.compile(rf"^{_TIME_PART}$")


def _norm(text: str) -> str:
    """Header text for matching: NFKC (full-width brackets, ₂, ³, µ), lower case, no spaces, '-' as '_'."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text))).lower().replace("-", "_")


def _unit_kind(unit: str) -> str | None:
    """'ug' or 'mg' for a concentration unit as written in a header or unit row, else None."""
    u = _norm(unit).replace("μ", "u").replace("µ", "u").replace("³", "3")
    return "ug" if u in _UG_UNITS else "mg" if u in _MG_UNITS else None


def _looks_like_unit(text: str) -> bool:
    t = _norm(text)
    return "/" in t or "立方米" in t


def pollutant_column(header: str) -> tuple[str, str, str | None] | None:
    """(pollutant, averaging, unit) for a pollutant header, else None.

    pollutant is PM2.5, PM10, SO2, NO2, CO or O3; averaging is "" (as the file's resolution), "1h",
    "8h" or "24h"; unit is the bracketed unit if any. Accepts the keys in any case with "-" or "_"
    (O3_8h, O3-8h, O3_8H), the Chinese names (细颗粒物, 可吸入颗粒物, 二氧化硫, 二氧化氮, 一氧化碳, 臭氧,
    臭氧8小时, 臭氧日最大8小时平均), a bracketed key after a Chinese name (细颗粒物(PM2.5)) and a bracketed
    unit (PM2.5(μg/m³), CO（mg/m3）)."""
    name, unit, alias = str(header).strip(), None, None
    for _ in range(3):
        m = _PAREN.match(unicodedata.normalize("NFKC", name))
        if not m:
            break
        name, inner = m.group("name"), m.group("inner")
        if _looks_like_unit(inner):
            unit = inner
        else:
            alias = inner
    found = []
    for text in (name, alias):
        if text is None or not text.strip():
            continue
        m = _BASE_RE.match(_norm(text))
        if not m:
            return None
        suffix = _SUFFIX_NOISE.sub("", m.group("suffix"))
        if suffix not in _SUFFIX_HOURS:
            return None
        found.append((_BASES[m.group("base")], _SUFFIX_HOURS[suffix]))
    if not found:
        return None
    if len(found) == 2:  # 细颗粒物(PM2.5), 臭氧8小时(O3_8h): both halves must name the same series
        (p1, a1), (p2, a2) = found
        if p1 != p2 or (a1 and a2 and a1 != a2):
            return None
        found = [(p1, a1 or a2)]
    return found[0][0], found[0][1], unit


def _series_for(pollutant: str, averaging: str, resolution: str) -> tuple[str | None, tuple[str, str] | None]:
    """(stored key, None) or (None, (zh, en) why the column does not fit a file of this resolution), or (None, None): ignore."""
    if resolution == "daily":
        if pollutant == "O3":
            if averaging == "8h":
                return "O3_8h", None
            if averaging == "1h":
                return "O3", None
            return None, ("日数据中的臭氧请写明 O3_8h（日最大8小时平均）或 O3_1h（日最大1小时平均）",
                          "in a daily file name the ozone series: O3_8h (daily maximum 8-h average) or O3_1h (daily maximum 1-h)")
        if averaging in ("", "24h"):
            return pollutant, None
        return None, (f"日数据中 {pollutant} 应为日平均（24小时平均）值", f"a daily file gives {pollutant} as the 24-h mean")
    # hourly
    if averaging == "24h":
        return None, None  # the 24-h moving averages of hourly exports (PM2.5_24h …) are derived: read past
    if pollutant == "O3" and averaging == "8h":
        return None, None  # the 8-h moving average of hourly exports: computed from the 1-h values, read past
    if averaging in ("", "1h"):
        return pollutant, None
    return None, (f"小时数据中 {pollutant} 应为1小时值", f"an hourly file gives {pollutant} as the 1-h value")


def _expected_unit(key: str) -> str:
    return UNITS[key]


def _unit_problem(key: str, unit: str) -> tuple[str, str] | None:
    kind = _unit_kind(unit)
    want = "mg" if key == "CO" else "ug"
    if kind == want:
        return None
    return (f"{key} 单位应为 {_expected_unit(key)}，不是 {unit}；请换算后再导入",
            f"{key} must be in {_expected_unit(key)}, not {unit}; convert before importing")


# --- dates and hours ------------------------------------------------------------------------

def _parse_datetime(v) -> tuple[date, time | None] | None:
    """(date, time or None when the cell has no time part) of a date or date-time cell, or None if not one."""
    if isinstance(v, datetime):
        return v.date(), v.time()
    if isinstance(v, date):
        return v, None
    m = _DATETIME_RE.match(unicodedata.normalize("NFKC", cell_text(v)))
    if not m:
        return None
    try:
        d = date(int(m.group("y")), int(m.group("mo")), int(m.group("d")))
    except ValueError:
        return None
    if m.group("h") is None:
        return d, None
    t = _time_of(m.group("h"), m.group("mi"), m.group("s"))
    return (d, t) if t is not None else None


def _time_of(h, mi, s) -> time | None:
    try:
        hh, mm = int(h), int(mi or 0)
        ss = float(s or 0)
    except ValueError:
        return None
    if hh == 24 and mm == 0 and ss == 0:
        return time(23, 59, 59, 999999)  # sentinel: reported as "24 时" below
    if not (0 <= hh <= 23 and 0 <= mm <= 59 and 0 <= ss < 60):
        return None
    return time(hh, mm, int(ss), int(round((ss % 1) * 1e6)) if ss % 1 else 0)


def _parse_time(v) -> time | None:
    """A time-of-day or hour cell: 13:00, 13:00:00, 13, 13时, an Excel time; None if not one."""
    if isinstance(v, datetime):
        return v.time()
    if isinstance(v, time):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return _time_of(int(v), 0, 0) if float(v).is_integer() else None
    m = _TIME_RE.match(unicodedata.normalize("NFKC", cell_text(v)))
    return _time_of(m.group("h"), m.group("mi"), m.group("s")) if m else None


_HOUR_24 = time(23, 59, 59, 999999)


def _hour_problem(t: time) -> tuple[str, str] | None:
    if t == _HOUR_24:
        return ("小时应为 0–23；24 时请写作次日 0 时", "the hour must be 0–23; write 24:00 as 00:00 of the next day")
    if t.minute or t.second or t.microsecond:
        return (f"小时数据的时间应为整点，不是 {t.strftime('%H:%M:%S')}", f"hourly data must be on the hour, not {t.strftime('%H:%M:%S')}")
    return None


# --- stations -------------------------------------------------------------------------------

def stations_from_features(frame) -> list[dict]:
    """The stations of an air_station layer (a GeoDataFrame): [{"id", "name", "adcode", "county", "level",
    "station_type", "lon", "lat"}], id = the feature_id."""
    out = []
    for r in frame.itertuples():
        out.append({"id": str(r.feature_id), "name": str(r.name), "adcode": str(r.adcode), "county": getattr(r, "county", None) or "",
                    "level": getattr(r, "level", None) or "", "station_type": getattr(r, "station_type", None) or "",
                    "lon": round(float(r.geometry.x), 6), "lat": round(float(r.geometry.y), 6)})
    return out


def _strip_county_suffix(s: str) -> str:
    return s[:-1] if len(s) > 1 and s[-1] in "区县" else s


def _known_list(stations: list[dict], limit: int = 40) -> str:
    names = [s["name"] for s in stations]
    return "、".join(names[:limit]) + (f" 等 {len(names)} 个" if len(names) > limit else "")


# --- the file -------------------------------------------------------------------------------

def parse_air_measurements(path_or_bytes, filename: str, stations: list[dict]) -> dict:
    """Read a CSV (UTF-8, UTF-8-BOM or GBK) or .xlsx of station × day or station × hour rows; all or nothing.

    Layout: row 1 is the header: a station column (站点/站点名称/监测点位 …, the station's name or id;
    optionally also 站点编码 — a row is matched by whichever is known), then either a date column
    (日期: YYYY-MM-DD, also YYYY/M/D and 2024年1月1日; Excel date cells) for daily values, or a date-time
    column (日期时间: YYYY-MM-DD HH:MM) or 日期 plus 时间/小时 (13:00, 13, 13时) for hourly values, then
    the pollutant columns. Daily: PM2.5, PM10, SO2, NO2, CO (24-h means), O3_8h (O3-8h, O3_8H, 臭氧8小时:
    daily maximum 8-h average) and optionally O3_1h (臭氧1小时: daily maximum 1-h, stored as O3). Hourly:
    PM2.5, PM10, SO2, NO2, CO, O3 (1-h values). Chinese names are accepted (细颗粒物, 可吸入颗粒物, 二氧化硫,
    二氧化氮, 一氧化碳, 臭氧), optionally with the unit in brackets; an optional row 2 may give the units.
    Units: µg/m³, CO mg/m³. Optional 区县/adcode columns tell same-named stations apart. Derived or
    descriptive columns (AQI, 首要污染物, 质量等级, 城市, 经纬度, 备注, and the *_24h / O3_8h moving averages of
    hourly exports) are read past and listed. A blank cell is a missing value; fully blank rows are skipped.

    The file is hourly if it has a time column or a date-time column, or if its date column holds a time
    of day other than 00:00; otherwise it is daily. Hours run 0–23 and must be on the hour.

    Policy: if any row is bad (unknown station — the known ones are listed —, bad date or hour, a negative
    or non-numeric value, a row without values, a station and day/hour given twice) the whole file is
    refused with ONE DataError whose details["errors"] lists every problem as {"row", "column", "problem",
    "problem_en"} (row 1 = header, as in the spreadsheet).

    Returns {"resolution": "daily" | "hourly", "resolution_zh": 日数据 | 小时数据, "records": [{"row",
    "station_id", "station", "adcode", "date": "YYYY-MM-DD", "datetime": "YYYY-MM-DD HH:MM" (hourly only),
    "values": {pollutant: float}}] in file order, "pollutants" (the keys present), "stations" (ids, in
    first-seen order), "start", "end" (first and last date or date-time), "n_records", "n_values",
    "ignored_columns"}.
    """
    rows = table_rows(path_or_bytes, filename)

    errors: list[dict] = []

    def err(row, column, zh, en):
        errors.append({"row": row, "column": column, "problem": zh, "problem_en": en})

    # --- header: roles first, pollutant columns once the resolution is known ----------------------------
    header = [cell_text(c) for c in rows[0]]
    col_names = {i: (h or f"第{col_letter(i)}列") for i, h in enumerate(header)}
    cols: dict[str, int] = {}
    blank: set[int] = set()
    ignored: list[str] = []
    pollutant_cols: list[tuple[int, str, str, str | None]] = []
    for i, h in enumerate(header):
        if not h:
            blank.add(i)  # allowed only if the column is empty (checked per row)
            continue
        low = _norm(h)
        role = ("station" if low in _STATION_HEADERS else "station_id" if low in _STATION_ID_HEADERS
                else "district" if low in _DISTRICT_HEADERS else "adcode" if low in _ADCODE_HEADERS
                else "date" if low in _DATE_HEADERS else "datetime" if low in _DATETIME_HEADERS
                else "time" if low in _TIME_HEADERS else None)
        if role:
            if role in cols:
                err(1, h, f"列重复（与第{col_letter(cols[role])}列相同）", f"duplicate column (same as column {col_letter(cols[role])})")
                continue
            cols[role] = i
            continue
        if low in _IGNORED_HEADERS:
            ignored.append(h)
            continue
        parsed = pollutant_column(h)
        if parsed is None:
            err(1, h, f"未知列（可用：站点、日期、日期时间、时间、区县、备注与污染物 {', '.join(POLLUTANTS)}）",
                f"unknown column (known: station, date, datetime, time, district, note and pollutants {', '.join(POLLUTANTS)})")
            continue
        pollutant_cols.append((i, *parsed))
    if "station" not in cols and "station_id" not in cols:
        err(1, "站点", "缺少必需列 站点（站点名称或编码）", "required column station (name or id) is missing")
    if "date" in cols and "datetime" in cols:
        err(1, col_names[cols["datetime"]], "日期列与日期时间列只能有一个", "give a date column or a date-time column, not both")
    if "date" not in cols and "datetime" not in cols:
        err(1, "日期", "缺少必需列 日期（日数据）或 日期时间（小时数据）", "required column date (daily) or datetime (hourly) is missing")
    if "time" in cols and "date" not in cols:
        err(1, col_names[cols["time"]], "时间列须与日期列一起使用", "a time column needs a date column")
    if errors:
        refuse(filename, errors)
    date_col = cols.get("date", cols.get("datetime"))

    # --- daily or hourly ---------------------------------------------------------------------------------
    if "time" in cols or "datetime" in cols:
        resolution = "hourly"
    else:
        resolution = "daily"
        for r in rows[1:]:
            got = _parse_datetime(r[date_col] if date_col < len(r) else None)
            if got and got[1] is not None and got[1] != time(0):
                resolution = "hourly"
                break
    allowed = DAILY_POLLUTANTS if resolution == "daily" else HOURLY_POLLUTANTS

    value_cols: dict[str, int] = {}
    units: dict[str, str | None] = {}
    for i, pollutant, averaging, unit in pollutant_cols:
        key, problem = _series_for(pollutant, averaging, resolution)
        if problem:
            err(1, header[i], f"{problem[0]}（本文件为{RESOLUTION_ZH[resolution]}）", f"{problem[1]} (this file holds {resolution} values)")
            continue
        if key is None:
            ignored.append(header[i])
            continue
        if key in value_cols:
            err(1, header[i], f"污染物 {key} 重复（与第{col_letter(value_cols[key])}列相同）",
                f"pollutant {key} given twice (also column {col_letter(value_cols[key])})")
            continue
        if unit is not None and (p := _unit_problem(key, unit)):
            err(1, header[i], *p)
        value_cols[key] = i
        units[key] = unit
    if not value_cols and not errors:
        err(1, "(污染物)", f"没有任何污染物列（{'、'.join(allowed)}）", f"no pollutant column ({', '.join(allowed)})")
    if errors:
        refuse(filename, errors)
    value_cols = {k: value_cols[k] for k in allowed if k in value_cols}  # stored and reported in the canonical order

    # --- optional unit row (row 2) -------------------------------------------------------------------------
    start = 1
    if len(rows) > 1:
        r2 = rows[1]
        first = next((cell_text(r2[c]) for c in (cols.get("station"), cols.get("station_id")) if c is not None and c < len(r2)), "")
        texts = {k: cell_text(r2[i]) if i < len(r2) else "" for k, i in value_cols.items()}
        if first.lower() in ("", "单位", "unit", "units") and any(texts.values()) and \
                all(t == "" or (to_float(t) is None and _looks_like_unit(t)) for t in texts.values()):
            start = 2
            for k, t in texts.items():
                if t and (p := _unit_problem(k, t)):
                    err(2, col_names[value_cols[k]], *p)

    # --- station index -------------------------------------------------------------------------------------
    by_id = {s["id"]: s for s in stations}
    by_name: dict[str, list[dict]] = defaultdict(list)
    for s in stations:
        by_name[s["name"]].append(s)

    def district_matches(s: dict, text: str) -> bool:
        names = {s.get("adcode")}
        if s.get("county"):
            names |= {s["county"], _strip_county_suffix(s["county"])}
        return text in names or _strip_county_suffix(text) in names

    def find_station(text: str, district_texts: list[str]):
        """(station, None), or (None, the problem: (zh, en), or a callable giving it when the error is reported)."""
        if text in by_id:
            return by_id[text], None
        cands = [s for s in by_name.get(text, []) if all(district_matches(s, t) for t in district_texts)]
        if len(cands) == 1:
            return cands[0], None
        if len(cands) > 1:
            return None, (f"站点“{text}”在多个区县重名，请填写区县或 adcode 列，或改用站点编码",
                          f"station '{text}' exists in several districts; fill in the district or adcode column, or use the station id")
        where = f"（区县 {'/'.join(district_texts)}）" if district_texts else ""
        where_en = f" (district {'/'.join(district_texts)})" if district_texts else ""
        return None, lambda: unknown_station(text, district_texts, where, where_en)

    def unknown_station(text: str, district_texts: list[str], where: str, where_en: str) -> tuple[str, str]:
        """The problem of a station no row can be matched to; the known stations are listed once per name, at its first row."""
        if text in listed:
            return (f"未知站点“{text}”{where}（已知站点见第{listed[text]}行的说明）",
                    f"unknown station '{text}'{where_en} (known stations: see row {listed[text]})")
        listed[text] = rownum
        known = [s for s in stations if all(district_matches(s, t) for t in district_texts)] or stations
        return (f"未知站点“{text}”{where}；已知站点：{_known_list(known)}（也可填写站点编码，如 {known[0]['id']}）" if known
                      else f"未知站点“{text}”{where}；没有已知站点（尚未加载环境空气质量监测站图层）",
                      f"unknown station '{text}'{where_en}; known stations: " + (", ".join(f"{s['name']} ({s['id']})" for s in known[:40])
                                                                               + (" …" if len(known) > 40 else "") if known else "none"))

    # --- data rows -----------------------------------------------------------------------------------------
    records, seen = [], {}
    listed: dict[str, int] = {}
    rownum = 0
    for r_idx in range(start, len(rows)):
        rownum = r_idx + 1
        row = rows[r_idx]
        if all(cell_text(c) == "" for c in row):
            continue
        get = partial(cell_at, row)
        before = len(errors)
        for i in blank:
            if cell_text(get(i)) != "":
                err(rownum, col_names[i], "该列没有表头，却有数据", "this column has data but no header")

        # station: by id or name in the station column, or by the id column
        district_texts = [t for t in (cell_text(get(cols.get("district"))), cell_text(get(cols.get("adcode")))) if t]
        texts = [(c, cell_text(get(cols.get(c)))) for c in ("station_id", "station") if c in cols]
        texts = [(c, t) for c, t in texts if t]
        station, problems = None, []
        if not texts:
            err(rownum, col_names[cols.get("station", cols.get("station_id"))], "站点为空", "station is empty")
        for c, t in texts:
            found, problem = find_station(t, district_texts)
            if found is None:
                problems.append((c, problem))
            elif station is not None and found["id"] != station["id"]:
                err(rownum, col_names[cols[c]], f"站点编码与站点名称指向不同站点（{station['name']} 与 {found['name']}）",
                    f"the station id and name name different stations ({station['id']} and {found['id']})")
            else:
                station = found
        if station is None:
            for c, problem in problems:
                err(rownum, col_names[cols[c]], *(problem() if callable(problem) else problem))

        # date, and the hour for hourly files
        raw = get(date_col)
        got = _parse_datetime(raw)
        day, hour = None, None
        shown = cell_text(raw)
        want = "YYYY-MM-DD" if resolution == "daily" else ("YYYY-MM-DD HH:MM" if "time" not in cols else "YYYY-MM-DD")
        if got is None:
            err(rownum, col_names[date_col],
                f"日期无效：{shown!r}（应为 {want}）" if shown else f"日期为空（应为 {want}）",
                f"invalid date {shown!r} (expected {want})" if shown else f"date is empty (expected {want})")
        else:
            day, hour = got
            if resolution == "daily":
                if hour not in (None, time(0)):
                    err(rownum, col_names[date_col], f"日数据的日期不应带时间：{shown!r}", f"a daily date must not carry a time: {shown!r}")
                    day = None
                hour = None
            elif "time" in cols:
                if hour not in (None, time(0)):
                    err(rownum, col_names[date_col], f"日期列已有时间 {shown!r}，时间请只写在时间列", f"the date {shown!r} carries a time; put it in the time column only")
                    day = None
                raw_t = get(cols["time"])
                hour = _parse_time(raw_t)
                if hour is None:
                    t_shown = cell_text(raw_t)
                    err(rownum, col_names[cols["time"]],
                        f"时间无效：{t_shown!r}（应为 0–23 的整点，如 13 或 13:00）" if t_shown else "时间为空（应为 0–23 的整点，如 13 或 13:00）",
                        f"invalid time {t_shown!r} (expected an hour 0–23, e.g. 13 or 13:00)" if t_shown else "time is empty (expected an hour 0–23)")
            elif hour is None:
                err(rownum, col_names[date_col], f"缺少时间：{shown!r}（本文件为小时数据，应为 YYYY-MM-DD HH:MM）",
                    f"no time of day: {shown!r} (this file holds hourly values: YYYY-MM-DD HH:MM)")
                day = None
            if resolution == "hourly" and hour is not None and (p := _hour_problem(hour)):
                err(rownum, col_names[cols.get("time", date_col)], *p)
                hour = None

        # values
        values = {}
        for key, i in value_cols.items():
            cell = get(i)
            if cell_text(cell) == "":
                continue
            v = to_float(cell)
            if v is None:
                err(rownum, col_names[i], f"不是数值：{cell_text(cell)!r}（单位 {UNITS[key]}；缺测请留空）",
                    f"not a number: {cell_text(cell)!r} (unit {UNITS[key]}; leave a missing value blank)")
                continue
            if v < 0:
                err(rownum, col_names[i], f"不能为负数：{cell_text(cell)}", f"must not be negative: {cell_text(cell)}")
                continue
            values[key] = v
        if not values and len(errors) == before:
            err(rownum, "(污染物)", "该行没有任何监测值（整行缺测请删去该行）", "the row has no value (delete a row with nothing measured)")

        if len(errors) == before and station and day:
            stamp = day.isoformat() if resolution == "daily" else f"{day.isoformat()} {hour.strftime('%H:%M')}"
            dup_key = (station["id"], stamp)
            if dup_key in seen:
                err(rownum, col_names[date_col], f"与第{seen[dup_key]}行重复（同一站点、同一{'日期' if resolution == 'daily' else '时间'}）",
                    f"duplicates row {seen[dup_key]} (same station and {'day' if resolution == 'daily' else 'hour'})")
                continue
            seen[dup_key] = rownum
            rec = {"row": rownum, "station_id": station["id"], "station": station["name"], "adcode": station.get("adcode"),
                   "date": day.isoformat(), "values": values}
            if resolution == "hourly":
                rec["datetime"] = stamp
            records.append(rec)
    if errors:
        refuse(filename, errors)
    if not records:
        raise DataError(f"{filename}：没有数据行", f"{filename}: no data rows")
    stamps = [r.get("datetime", r["date"]) for r in records]
    return {"resolution": resolution, "resolution_zh": RESOLUTION_ZH[resolution], "records": records,
            "pollutants": [k for k in allowed if any(k in r["values"] for r in records)],
            "stations": list(dict.fromkeys(r["station_id"] for r in records)), "start": min(stamps), "end": max(stamps),
            "n_records": len(records), "n_values": sum(len(r["values"]) for r in records), "ignored_columns": ignored}
