"""Loading official layers: read an upload, report on it, map its fields, build the layer.

Nothing is published here: the administrator reads the validation report (CRS, counts,
repairs, duplicates, field mapping, dissolved area and share of the district) first.

Zoning kinds (环境管控单元: `zoning: true`, the units tile each district) are also checked for
gaps and overlaps (geo.tiling) and for duplicate unit codes. A kind with an `admission_list`
(its 准入清单 dimensions) may come with an Excel sheet, one row per unit keyed by unit code
(read_admission_list): at review its text fills the dimension attributes of the unit with that
code, and the report lists the codes that do not match either way.
"""
from __future__ import annotations

import hashlib
import io
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import PurePosixPath

import geopandas as gpd
import numpy as np
import shapely

from geo import sites as site_input
from geo import tiling
from geo.area import M2_PER_KM2, area_m2
from geo.crs import GEO_EPSG, parse_crs
from geo.errors import DataError, TooLargeError, UnavailableError, UnsupportedFormatError
from geo.geometry import intersection_by_parts, union_by_component
from geo.uploads import Limits, check_size, open_zip, read_member, safe_members
from geo.vocabulary import LayerKind

CHINA_TZ = timezone(timedelta(hours=8))
DEFAULT_MAX_UNCOVERED_PCT = 1.0
SHOWN = 5  # codes or parts quoted in one line of the report (the tables list more)


@dataclass
class StagedImport:
    token: str
    adcode: str
    kind: LayerKind
    source_name: str
    input_sha256: str
    sites: list
    created_by: str
    created_at: str = field(default_factory=lambda: datetime.now(CHINA_TZ).isoformat(timespec="seconds"))
    admission: "AdmissionList | None" = None  # the 准入清单 sheet given with the layer
    cache: dict = field(default_factory=dict, repr=False)  # what reviewing computes from the geometries alone (their union)

    @property
    def fields(self) -> list[str]:
        seen: dict[str, None] = {}
        for s in self.sites:
            for k in s.properties:
                seen.setdefault(str(k), None)
        return list(seen)


def stage(filename: str, data: bytes, adcode: str, kind: LayerKind, crs_text: str | None, limits, user: str,
          district_lon: float, admission: "AdmissionList | None" = None) -> StagedImport:
    """Read an upload (and keep the 准入清单 read by read_admission_list, if one was given) for review."""
    if admission is not None and not kind.admission_list:
        raise DataError(f"“{kind.name_zh}”没有准入清单，不能附带准入清单 Excel", f"the kind {kind.key} has no admission list")
    crs = parse_crs(crs_text)
    # strict: a layer that would lose a feature is refused whole, never published short of it
    sites = site_input.sites_from_upload(filename, data, crs, limits, district_lon, strict=True)
    return StagedImport(secrets.token_urlsafe(16), adcode, kind, filename, hashlib.sha256(data).hexdigest(), sites, user,
                        admission=admission)


def auto_mapping(staged: StagedImport) -> dict[str, str]:
    """Source field for each attribute, by the vocabulary's synonyms (BHMC → name); case ignored."""
    lower = {f.lower(): f for f in staged.fields}
    mapping = {}
    for attr in staged.kind.importable:
        for candidate in attr.synonyms:
            if candidate.lower() in lower:
                mapping[attr.key] = lower[candidate.lower()]
                break
    return mapping


def _text(raw) -> str:
    """A cell or attribute as text: 1.0 (a DBF or Excel number) as "1", None as ""."""
    if raw is None:
        return ""
    if isinstance(raw, float):
        if raw != raw:  # NaN: an empty numeric field
            return ""
        if raw.is_integer():
            return str(int(raw))
    return str(raw).strip()


def _value(site, field_name: str | None, attr) -> str:
    raw = site.properties.get(field_name) if field_name else None
    return attr.canonical(_text(raw))


def code_attribute(kind: LayerKind) -> str | None:
    """The attribute that identifies a feature of a zoning kind or one with an admission list (the unit code)."""
    return kind.name_by if (kind.zoning or kind.admission_list) and kind.name_by else None


def _code_key(code: str) -> str:
    """Codes match without regard to case and spaces (ZH 500111 10001 = zh50011110001)."""
    return re.sub(r"\s+", "", code).upper()


def _numbers(items, limit: int = 10) -> str:
    items = list(items)
    return "、".join(map(str, items[:limit])) + ("等" if len(items) > limit else "")


# ------------------------------------------------------------------------------------------------
# 准入清单 (admission list) from an Excel sheet, one row per unit keyed by unit code
# ------------------------------------------------------------------------------------------------

XLSX_MAGIC = b"PK\x03\x04"
XLSX_MAX_MEMBERS = 500  # an .xlsx is a zip of XML parts: a few per sheet
XLSX_MAX_SHEETS = 50
XLSX_MAX_COLUMNS = 100  # columns read per row (a hostile sheet may declare 16 384)
XLSX_HEADER_ROWS = 10  # the header row is looked for among the first rows (a title row may come first)
XLSX_MAX_CELL_CHARS = 32767  # Excel's own limit for one cell


@dataclass
class AdmissionList:
    """The 准入清单 of one upload: per unit code (as written) the dimension texts, and how the sheet was read."""

    source_name: str
    input_sha256: str
    sheet: str
    header_row: int
    code_header: str
    columns: dict  # dimension attribute → the header it was read from
    rows: list  # [{"row": n (as in Excel), "code": text, "name": text, "texts": {dimension: text}}]
    empty_code_rows: list  # row numbers with dimension text but no code

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict) -> "AdmissionList":
        return cls(**data)


def _header_key(text) -> str:
    return re.sub(r"\s+", "", _text(text)).lower()


def _header_matches(header: str, attr) -> bool:
    """A header names the attribute: its label or a synonym (case and spaces ignored), also with 要求 after it."""
    names = {attr.label.lower(), attr.key.lower()} | {s.lower() for s in attr.synonyms}
    return bool(header) and (header in names or (header.endswith("要求") and header[:-2] in names))


def _refuse_xlsx_container(filename: str, data: bytes, limits: Limits) -> None:
    """An .xlsx is a zip of XML parts: the checks every archive upload passes, and no DOCTYPE/ENTITY in any part."""
    if not data.startswith(XLSX_MAGIC):
        raise DataError(f"{filename}：不是有效的 .xlsx 文件（内容不是 Excel 2007 及以后的格式；旧版 .xls 或改了扩展名的文件请在 Excel 中另存为 .xlsx）",
                        f"{filename}: not a valid .xlsx file (not the Excel 2007+ format; save it as .xlsx)")
    zf = open_zip(data)
    members = safe_members(zf, Limits(limits.max_upload_bytes, limits.max_unpacked_bytes, XLSX_MAX_MEMBERS, limits.max_features,
                                      limits.max_vertices, limits.prefix))
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise DataError(f"{filename}：不是有效的 .xlsx 文件（压缩包中没有 Excel 工作簿）", f"{filename}: not an .xlsx workbook")
    for m in members:
        if m.filename.lower().endswith((".xml", ".rels")):
            upper = read_member(zf, m).upper()
            if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
                raise DataError(f"{filename}：工作簿中含有 DOCTYPE/实体声明，出于安全原因拒绝处理",
                                f"{filename}: the workbook holds DOCTYPE/entity declarations; refused")


def read_admission_list(filename: str, data: bytes, kind: LayerKind, limits: Limits) -> AdmissionList:
    """The 准入清单 sheet: an .xlsx with a unit-code column (header: the code attribute's label or synonyms, e.g.
    环境管控单元编码, HJGKDYBM) and one column per dimension of the kind's admission list (header: its label or synonyms,
    e.g. 空间布局约束); a title row above the header is allowed, other columns (序号, 单元名称, …) are ignored. The first
    sheet with such a header is read, in read-only mode, at most limits.max_features units (PUBLISH_MAX_FEATURES).

    Refused whole (DataError, UnsupportedFormatError for another format) with the reason when it is not such a file."""
    name = PurePosixPath(str(filename).replace("\\", "/")).name[:80] or "准入清单"
    code_attr = code_attribute(kind)
    if not kind.admission_list or code_attr is None:
        raise DataError(f"“{kind.name_zh}”没有准入清单", f"the kind {kind.key} has no admission list")
    suffix = PurePosixPath(name.lower()).suffix
    if suffix == ".xls":
        raise UnsupportedFormatError(f"{name}：不支持旧版 .xls，请在 Excel 中另存为 .xlsx", f"{name}: legacy .xls is not supported; save as .xlsx")
    if suffix not in (".xlsx", ".xlsm"):
        raise UnsupportedFormatError(f"{name}：准入清单须为 Excel .xlsx 文件（收到 {suffix or '无扩展名'} 文件）",
                                     f"{name}: the admission list must be an .xlsx file (got {suffix or 'no extension'})")
    check_size(data, limits)
    _refuse_xlsx_container(name, data, limits)
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - openpyxl is in requirements.txt
        raise UnavailableError("服务器未安装 openpyxl，无法读取 Excel", "openpyxl is not installed") from exc
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a corrupt file
        raise DataError(f"{name}：不是有效的 .xlsx 文件（{str(exc)[:120]}）", f"{name}: not a valid .xlsx file ({str(exc)[:120]})") from None
    code_spec = kind.attribute(code_attr)
    dims = [kind.attribute(a) for a in kind.admission_list]
    name_attr = kind.attribute("name")
    seen_headers = []
    try:
        for ws in wb.worksheets[:XLSX_MAX_SHEETS]:
            rows = ws.iter_rows(max_col=XLSX_MAX_COLUMNS, values_only=True)
            head = []
            for row in rows:
                head.append(row)
                headers = [_header_key(v) for v in row]
                code_col = next((i for i, h in enumerate(headers) if _header_matches(h, code_spec)), None)
                columns = {d.key: i for d in dims for i, h in enumerate(headers) if _header_matches(h, d)}
                if code_col is not None and columns:
                    return _admission_rows(name, data, ws.title, len(head), row, code_col, columns,
                                           next((i for i, h in enumerate(headers) if _header_matches(h, name_attr)), None), rows, limits)
                if len(head) >= XLSX_HEADER_ROWS:
                    break
            seen_headers += [f"{ws.title}：{'、'.join(_text(v) for v in r if _text(v))[:200]}" for r in head[:2] if any(_text(v) for v in r)]
    finally:
        wb.close()
    expected = "、".join(d.label for d in dims)
    raise DataError(f"{name}：未找到准入清单的表头：须有单元编码列（如“{code_spec.label}”“环境管控单元编码”或 HJGKDYBM）和至少一个维度列"
                    f"（{expected}）；表中前几行为：{'；'.join(seen_headers[:3]) or '（空）'}",
                    f"{name}: no header with a unit code column and a dimension column ({', '.join(d.key for d in dims)}) found",
                    details={"headers": seen_headers[:6]})


def _admission_rows(name, data, sheet, header_row, header, code_col, columns, name_col, rows, limits: Limits) -> AdmissionList:
    out, empty_code = [], []
    n = header_row
    for row in rows:
        n += 1
        if len(out) >= limits.max_features:
            if any(_text(v) for v in row):
                raise TooLargeError(f"{name}：准入清单超过 {limits.max_features} 行{limits.raised_by('FEATURES')}",
                                    f"{name}: more than {limits.max_features} rows{limits.raised_by_en('FEATURES')}")
            continue

        def cell(i):
            return row[i] if i is not None and i < len(row) else None

        texts = {}
        for key, i in columns.items():
            text = _text(cell(i)).replace("\r\n", "\n").replace("\r", "\n").replace("_x000D_", "")
            texts[key] = "\n".join(line.strip() for line in text.split("\n") if line.strip())[:XLSX_MAX_CELL_CHARS]
        code = _text(cell(code_col))
        if not code:
            if any(texts.values()):
                empty_code.append(n)
            continue
        out.append({"row": n, "code": code, "name": _text(cell(name_col))[:200], "texts": texts})
    return AdmissionList(name, hashlib.sha256(data).hexdigest(), str(sheet)[:80], header_row, _text(header[code_col]),
                         {k: _text(header[i]) for k, i in columns.items()}, out, empty_code)


def _admission_check(staged: StagedImport, codes: list[str], names: list[str], levels) -> tuple[dict, list[str], list[str]]:
    """(the report's "admission" section, problems, warnings): the sheet's codes against the layer's."""
    adm, kind = staged.admission, staged.kind
    layer_keys = {_code_key(c) for c in codes if c}
    by_key: dict[str, list[dict]] = {}
    for r in adm.rows:
        by_key.setdefault(_code_key(r["code"]), []).append(r)
    not_in_layer = [{"code": rs[0]["code"], "row": rs[0]["row"], "name": rs[0]["name"]} for k, rs in by_key.items() if k not in layer_keys]
    missing = [{"feature": i + 1, "code": c, "name": names[i]}
               for i, c in enumerate(codes) if c and _code_key(c) not in by_key]
    duplicates = [{"code": rs[0]["code"], "rows": [r["row"] for r in rs], "same": len({tuple(sorted(r["texts"].items())) for r in rs}) == 1}
                  for rs in by_key.values() if len(rs) > 1]
    problems, warnings = [], []
    conflicting = [d for d in duplicates if not d["same"]]
    if conflicting:
        problems.append("准入清单中单元编码重复且内容不同（不知以哪一行为准）：" + _numbers(
            (f"{d['code']}（第 {'、'.join(map(str, d['rows']))} 行）" for d in conflicting), SHOWN))
    if len(conflicting) < len(duplicates):
        warnings.append("准入清单中单元编码重复、内容相同，按一行处理：" + _numbers(
            (f"{d['code']}（第 {'、'.join(map(str, d['rows']))} 行）" for d in duplicates if d["same"]), SHOWN))
    if not_in_layer:
        warnings.append(f"准入清单中有 {len(not_in_layer)} 个单元编码在图层中没有（这些行未使用）："
                        + _numbers((f"{m['code']}（第 {m['row']} 行）" for m in not_in_layer), SHOWN))
    if missing:
        warnings.append(f"图层中有 {len(missing)} 个单元在准入清单中没有对应行（保留图层自身的准入清单字段）："
                        + _numbers((m["code"] for m in missing), SHOWN))
    if adm.empty_code_rows:
        warnings.append(f"准入清单第 {_numbers(adm.empty_code_rows, SHOWN)} 行有内容但单元编码为空，已忽略")
    unknown = Counter()
    for r in adm.rows:
        for text in r["texts"].values():
            for line in text.split("\n"):
                m = re.match(r"^【([^】]{1,20})】", line)
                if m and levels and m.group(1) not in levels:
                    unknown[m.group(1)] += 1
    if unknown:
        warnings.append(f"准入清单中有要求行首的【层级】不在 {'、'.join(levels)} 中，将按“{levels[-1]}”处理：" + _numbers(
            (f"【{k}】× {v}" for k, v in unknown.most_common()), SHOWN))
    matched = sum(1 for c in codes if c and _code_key(c) in by_key)
    section = {
        "source_name": adm.source_name, "input_sha256": adm.input_sha256, "sheet": adm.sheet, "header_row": adm.header_row,
        "code_header": adm.code_header, "columns": adm.columns,
        "column_labels": {k: kind.attribute(k).label for k in adm.columns}, "rows": len(adm.rows), "matched_units": matched,
        "not_in_layer": not_in_layer, "missing_in_list": missing, "duplicates": duplicates, "empty_code_rows": adm.empty_code_rows,
        "unknown_levels": dict(unknown),
    }
    return section, problems, warnings


def _admission_texts(staged: StagedImport) -> dict[str, dict]:
    """Code key → the dimension texts of its (first) row in the sheet."""
    out: dict[str, dict] = {}
    for r in staged.admission.rows if staged.admission else ():
        out.setdefault(_code_key(r["code"]), r["texts"])
    return out


# ------------------------------------------------------------------------------------------------
# Zoning kinds: unit codes and the tiling of the district
# ------------------------------------------------------------------------------------------------

def staged_areas(staged: StagedImport, district_geom) -> tuple[float, float, float]:
    """(dissolved, sum of the features', dissolved inside the district) ellipsoidal m² of an upload, measured once per
    upload and district (every review and the publish use them; at real size each is seconds of geodesic area)."""
    areas = staged.cache.setdefault("areas", {})
    if "dissolved" not in areas:
        areas["dissolved"], areas["naive"] = area_m2(staged_union(staged)), sum(area_m2(s.geometry) for s in staged.sites)
    where = hashlib.sha256(shapely.to_wkb(district_geom)).hexdigest()
    if areas.get("district") != where:
        inside = area_m2(intersection_by_parts(staged_union(staged), district_geom)) if areas["dissolved"] else 0.0
        areas["district"], areas["inside"] = where, inside
    return areas["dissolved"], areas["naive"], areas["inside"]


def staged_union(staged: StagedImport):
    """The union of the upload's geometries, computed once per staged upload (every review and the publish use it)."""
    if "union" not in staged.cache:
        staged.cache["union"] = (union_by_component(np.array([s.geometry for s in staged.sites], dtype=object)) if staged.sites
                                  else shapely.Polygon())
    return staged.cache["union"]


def _tiling_check(staged: StagedImport, codes: list[str], district_geom, union, tolerance_m2: float,
                  max_uncovered_pct: float) -> tuple[dict, list[str], list[str]]:
    """(the report's "tiling" section, problems, warnings); the tiling itself is computed once per codes and tolerance."""
    ids = [c or f"第{i}个要素" for i, c in enumerate(codes, 1)]
    key = ("tiling", tuple(ids), float(tolerance_m2), shapely.to_wkb(district_geom))
    if key not in staged.cache:
        staged.cache[key] = tiling.tiling_report([s.geometry for s in staged.sites], ids, district_geom, tolerance_m2, union=union)
    rep = dict(staged.cache[key], max_uncovered_pct=max_uncovered_pct)
    tol = f"超过容差 {tolerance_m2:g} m² 的部分，容差由设置 TILING_TOLERANCE_M2 确定"
    problems, warnings = [], []

    def where(e):
        area = f"{e['area_m2'] / M2_PER_KM2:.4f} km²" if e["area_m2"] >= M2_PER_KM2 else f"{e['area_m2']:.1f} m²"
        return f"{area}（经度 {e['lon']:.6f}，纬度 {e['lat']:.6f}）"

    if rep["overlaps_count"]:
        problems.append(f"管控单元相互重叠 {rep['overlaps_count']} 处，共 {rep['overlaps_m2']:.1f} m²（{tol}）：" + _numbers(
            (f"{e['ids'][0]} 与 {e['ids'][1]} 重叠 {where(e)}" for e in rep["overlaps"]), SHOWN))
    if rep["gaps_count"]:
        problems.append(f"管控单元之间有缝隙（未被任何单元覆盖、四周为单元）{rep['gaps_count']} 处，共 {rep['gaps_m2']:.1f} m²（{tol}）：" + _numbers(
            (f"{where(e)}，周边单元 {'、'.join(e['ids'][:4])}{'等' if e['n_ids'] > 4 else ''}" for e in rep["gaps"]), SHOWN))
    district_m2 = rep["district_m2"]
    share = rep["uncovered_m2"] / district_m2 * 100 if district_m2 else 0.0
    rep["uncovered_pct"] = round(share, 4)
    if rep["uncovered_count"]:
        text = (f"图层外缘以外有 {rep['uncovered_count']} 处区县范围未被单元覆盖，共 {rep['uncovered_m2'] / M2_PER_KM2:.4f} km²"
                f"（占区县 {share:.3f}%；单元覆盖区县的 {rep['coverage_pct']:.3f}%），最大一处 {where(rep['uncovered'][0])}")
        if share > max_uncovered_pct:
            problems.append(f"{text}：环境管控单元应铺满区县，未覆盖部分超过 {max_uncovered_pct:g}%（设置 TILING_MAX_UNCOVERED_PCT）")
        else:
            warnings.append(f"{text}；未超过 {max_uncovered_pct:g}%（设置 TILING_MAX_UNCOVERED_PCT），多为单元外缘与本系统的区界不完全吻合，请核对")
    return rep, problems, warnings


def report(staged: StagedImport, mapping: dict[str, str], district_geom, tiling_tolerance_m2: float = tiling.DEFAULT_TOLERANCE_M2,
           max_uncovered_pct: float = DEFAULT_MAX_UNCOVERED_PCT, levels=()) -> dict:
    """The validation report. problems block publishing (ok is False while there are any); warnings are said, not blocking.

    For a zoning kind also "codes" (duplicate and empty unit codes: problems) and "tiling" (geo.tiling.tiling_report with
    uncovered_pct and max_uncovered_pct: overlaps and gaps above the tolerance are problems, so is the district left
    uncovered beyond the layer's outer boundary by more than max_uncovered_pct; less is a warning); with an admission
    list "admission" (its codes against the layer's; levels: the requirement levels a line may start with)."""
    kind = staged.kind
    geom_types = Counter(s.geometry.geom_type for s in staged.sites)
    expected = set(kind.geometry_types) | ({"MultiPoint"} if "Point" in kind.geometry_types else set())
    problems = []
    wrong = {t: n for t, n in geom_types.items() if t not in expected}
    if wrong:
        problems.append(f"几何类型 {dict(wrong)} 不符合“{kind.name_zh}”要求的 {'/'.join(kind.geometry_types)}")
    repaired = [{"feature": i + 1, "note": n} for i, s in enumerate(staged.sites) for n in s.notes if "make_valid" in n]
    keys = [shapely.to_wkb(shapely.normalize(s.geometry)) for s in staged.sites]
    dup_counts = Counter(keys)
    duplicates = [i + 1 for i, k in enumerate(keys) if dup_counts[k] > 1]
    missing = [a for a in kind.import_required if not mapping.get(a)]
    if missing:
        problems.append(f"必需字段未映射：{'、'.join(missing)}")
    unknown_fields = [f for f in mapping.values() if f and f not in staged.fields]
    if unknown_fields:
        problems.append(f"映射的源字段不存在：{'、'.join(unknown_fields)}")
    value_problems = []
    for attr in kind.own:
        if attr.values and mapping.get(attr.key):
            bad = sorted({_value(s, mapping[attr.key], attr) for s in staged.sites} - set(attr.values))
            if bad:
                value_problems.append(f"{attr.label}（{attr.key}）取值不在 {'、'.join(attr.values)} 中：{'、'.join(bad[:5])}")
    name_attr = kind.attribute("name")
    empty_names = [i + 1 for i, s in enumerate(staged.sites) if not _value(s, mapping.get("name"), name_attr)]
    if mapping.get("name") and empty_names:
        value_problems.append(f"{len(empty_names)} 个要素名称为空（第 {', '.join(map(str, empty_names[:10]))} 个）")
    problems += value_problems
    warnings: list[str] = []
    union = staged_union(staged)
    code_attr = code_attribute(kind)
    codes_section = tiling_section = admission_section = None
    if code_attr and mapping.get(code_attr):
        codes = [_value(s, mapping[code_attr], kind.attribute(code_attr)) for s in staged.sites]
        label = kind.attribute(code_attr).label
        empty = [i + 1 for i, c in enumerate(codes) if not c]
        by_key: dict[str, list[int]] = {}
        for i, c in enumerate(codes, 1):
            if c:
                by_key.setdefault(_code_key(c), []).append(i)
        dup = [{"code": codes[ns[0] - 1], "features": ns} for ns in by_key.values() if len(ns) > 1]
        if dup:
            problems.append(f"{label}重复 {len(dup)} 个：" + _numbers(
                (f"{d['code']}（第 {'、'.join(map(str, d['features']))} 个要素）" for d in dup), SHOWN))
        if empty:
            problems.append(f"{len(empty)} 个要素{label}为空（第 {_numbers(empty)} 个）")
        codes_section = {"attribute": code_attr, "label": label, "duplicates": dup, "empty": empty}
    else:
        codes = [""] * len(staged.sites)
    if kind.zoning and staged.sites:
        tiling_section, p, w = _tiling_check(staged, codes, district_geom, union, tiling_tolerance_m2, max_uncovered_pct)
        problems += p
        warnings += w
    if staged.admission is not None:
        if code_attr and mapping.get(code_attr):
            names = [_value(s, mapping.get("name"), name_attr) for s in staged.sites]
            admission_section, p, w = _admission_check(staged, codes, names, tuple(levels))
            problems += p
            warnings += w
        else:
            admission_section = {"source_name": staged.admission.source_name, "rows": len(staged.admission.rows), "unmatched": True}
            problems.append(f"准入清单按{kind.attribute(code_attr).label if code_attr else '单元编码'}对应到单元，须先映射该字段")
    dissolved, naive, inside = staged_areas(staged, district_geom)
    district_m2 = area_m2(district_geom)
    crs_info = staged.sites[0].crs if staged.sites else {}
    return {
        "adcode": staged.adcode, "kind": kind.key, "kind_name_zh": kind.name_zh, "source_name": staged.source_name,
        "input_sha256": staged.input_sha256, "crs": crs_info, "feature_count": len(staged.sites),
        "geometry_types": dict(geom_types), "repaired": repaired, "duplicates": duplicates, "fields": staged.fields,
        "mapping": mapping, "required": list(kind.import_required), "attributes": [a.key for a in kind.importable],
        "attribute_labels": {a.key: a.label for a in kind.importable},
        "naive_sum_m2": round(naive, 2), "dissolved_m2": round(dissolved, 2), "dissolved_km2": round(dissolved / M2_PER_KM2, 4),
        "inside_district_m2": round(inside, 2), "outside_district_m2": round(dissolved - inside, 2),
        "share_of_district_pct": round(inside / district_m2 * 100, 4) if district_m2 else None,
        "codes": codes_section, "tiling": tiling_section, "admission": admission_section,
        "problems": problems, "warnings": warnings, "ok": not problems,
    }


def build_layer(staged: StagedImport, mapping: dict[str, str], version_hint: str, published_by: str) -> gpd.GeoDataFrame:
    kind = staged.kind
    rows = []
    source = f"正式数据：{staged.source_name}（{published_by} 于 {datetime.now(CHINA_TZ):%Y-%m-%d} 导入）"
    if staged.admission is not None:
        source += f"；准入清单：{staged.admission.source_name}"
    texts = _admission_texts(staged)
    code_attr = code_attribute(kind)
    for i, s in enumerate(staged.sites, 1):
        row = {"feature_id": f"{staged.adcode}-{kind.key}-{version_hint}-{i:04d}", "name": _value(s, mapping.get("name"), kind.attribute("name")),
               "adcode": staged.adcode, "source": source, "is_demo": 0}
        for attr in kind.own:
            row[attr.key] = _value(s, mapping.get(attr.key), attr)
        listed = texts.get(_code_key(row[code_attr])) if texts and code_attr and row.get(code_attr) else None
        for key, text in (listed or {}).items():
            if text:  # the sheet's text; an empty cell keeps what the layer itself has
                row[key] = text
        geom = s.geometry
        if kind.is_point and geom.geom_type == "MultiPoint":
            geom = geom.geoms[0]
        row["geometry"] = geom
        rows.append(row)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=GEO_EPSG)
