"""自然资源部 界址点坐标 TXT (建设项目用地红线坐标文件) reader.

Layout: a `[属性描述]` block of key=value lines, then `[地块坐标]` with a parcel header
line ending in `@` (点数,面积(公顷),编号,名称,面,图幅号,用途,地类编码,@; 8 or 9 fields)
followed by `J1,圈号,X,Y` rows, X being the NORTHING. The traps handled here: swapped
X/Y columns (detected by magnitude), missing closing points, rings nested at any depth
(land or hole decided by how many other rings contain a ring: even = land, odd = hole,
never by its number), header fields in another order (the name is the field that reads
as a name), a 地块面积 written in m² or 亩 instead of 公顷 (stated_area_check says which
unit the figure must be), and 带号 written or only implied by the easting's zone prefix.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import Polygon

from geo.crs import NORTHING_RANGE
from geo.errors import DataError
from geo.repair import repair_within

M2_PER_HA = 10_000.0
M2_PER_MU = 10_000.0 / 15  # 1 亩 = 1/15 公顷
STATED_AREA_TOLERANCE_PCT = 0.1  # at least; a figure written with few decimals stands for a wider interval
AREA_UNITS = {"ha": ("公顷", M2_PER_HA), "m2": ("平方米（m²）", 1.0), "mu": ("亩", M2_PER_MU)}
SHAPE_WORDS = {"面", "线", "点", "polygon", "line", "point"}  # 图形属性


@dataclass
class Parcel:
    name: str
    number: str
    stated_area_ha: float | None
    rings: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # 圈号 -> [(east, north)]
    notes: list[str] = field(default_factory=list)
    stated_area_text: str | None = None  # the figure as written (its decimals say how precise it is)


@dataclass
class JzdFile:
    header: dict
    parcels: list[Parcel]
    notes: list[str]


def _num(text: str, line_no: int, what: str) -> float:
    try:
        value = float(text.strip())
        if not math.isfinite(value):
            raise ValueError(text)
        return value
    except ValueError:
        raise DataError(f"界址点文件第 {line_no} 行：{what}“{text.strip()[:20]}”不是数字",
                        f"boundary-point TXT line {line_no}: {what} {text.strip()[:20]!r} is not a number") from None


def parse(text: str) -> JzdFile:
    if "[地块坐标]" not in text:
        raise DataError("不是界址点坐标文件：缺少 [地块坐标] 节", "not a boundary-point TXT: the [地块坐标] section is missing")
    header: dict[str, str] = {}
    parcels: list[Parcel] = []
    section = None
    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip().replace("，", ",")
        if not line:
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[属性描述]":
            if "=" in line:
                k, v = line.split("=", 1)
                header[k.strip()] = v.strip()
            continue
        if section != "[地块坐标]":
            continue
        if line.endswith("@"):
            fields = [f.strip() for f in line[:-1].split(",")]
            if len(fields) < 4:
                raise DataError(f"界址点文件第 {line_no} 行：地块头字段不足", f"line {line_no}: parcel header has too few fields")
            area = _num(fields[1], line_no, "地块面积") if fields[1] else None
            name, number = header_name(fields[2:])
            parcels.append(Parcel(name=name or number or f"地块{len(parcels) + 1}", number=number, stated_area_ha=area,
                                  stated_area_text=fields[1] or None))
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 4:
            raise DataError(f"界址点文件第 {line_no} 行：坐标行应为“点号,圈号,X,Y”4 个字段", f"line {line_no}: a point row needs 4 fields")
        if not parcels:
            raise DataError(f"界址点文件第 {line_no} 行：坐标行之前没有地块头（以 @ 结尾的行）", f"line {line_no}: point row before any parcel header")
        ring = _num(fields[1], line_no, "圈号")
        if ring != int(ring) or not 1 <= ring <= 10_000:
            raise DataError(f"界址点文件第 {line_no} 行：圈号应为 1–10000 的整数", f"line {line_no}: the ring number must be an integer in 1–10000")
        ring = int(ring)
        x_north, y_east = _num(fields[2], line_no, "X 坐标"), _num(fields[3], line_no, "Y 坐标")
        parcels[-1].rings.setdefault(ring, []).append((y_east, x_north))
    if not parcels:
        raise DataError("界址点文件中没有地块", "no parcel in the boundary-point TXT")
    empty = [p.name for p in parcels if not p.rings]
    if empty:
        raise DataError(f"地块“{empty[0]}”没有界址点", f"parcel {empty[0]!r} has no points")
    notes = []
    if _looks_swapped(parcels):
        for p in parcels:
            p.rings = {k: [(n, e) for e, n in pts] for k, pts in p.rings.items()}
        notes.append("检测到 X/Y 列互换（X 应为北坐标），已自动纠正 / X and Y columns were swapped; corrected")
    return JzdFile(header=header, parcels=parcels, notes=notes)


def _looks_swapped(parcels: list[Parcel]) -> bool:
    """Northing in China is 1.5e6–6e6 m; an 'X' column outside that while 'Y' fits it means a swap."""
    pts = [pt for p in parcels for ring in p.rings.values() for pt in ring]
    east_ok = sum(NORTHING_RANGE[0] <= n <= NORTHING_RANGE[1] for _, n in pts)
    swapped = sum(NORTHING_RANGE[0] <= e <= NORTHING_RANGE[1] and not NORTHING_RANGE[0] <= n <= NORTHING_RANGE[1] for e, n in pts)
    return swapped > east_ok


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _is_code(text: str) -> bool:
    """编号、图幅号、地类编码: ASCII letters, digits and separators only (H49G001001, 0601, DK-3)."""
    return bool(re.fullmatch(r"[A-Za-z0-9._\-/]+", text))


def header_name(fields: list[str]) -> tuple[str, str]:
    """(name, number) from the header fields after 点数 and 面积, in whatever order the writer put them.

    The name is the first field that reads as text: not a number, not a code, not the shape
    word (面), and not a land use (…用地) when another text field is there; the number is the
    first number or code. Writers differ: 编号,名称,面,图幅号,用途 or 名称,编号,… or 编号,面,名称.
    """
    fields = [f.strip() for f in fields if f and f.strip() and f.strip() != "@"]
    texts = [f for f in fields if not _is_number(f) and not _is_code(f) and f.lower() not in SHAPE_WORDS]
    names = [f for f in texts if not f.endswith("用地")] or texts
    numbers = [f for f in fields if (_is_number(f) or _is_code(f))]
    return (names[0] if names else ""), (numbers[0] if numbers else "")


def ring_depths(polys) -> list[int]:
    """How many of the other rings contain each ring (rings as polygons): one vectorised index query, so a parcel of
    thousands of rings costs milliseconds, not the pairwise loop's minutes."""
    polys = np.asarray(polys, dtype=object)
    if len(polys) < 2:
        return [0] * len(polys)
    inner, outer = shapely.STRtree(polys).query(polys, predicate="within")  # polys[inner] within polys[outer]
    areas = shapely.area(polys)
    keep = (inner != outer) & (areas[outer] > areas[inner])
    return np.bincount(inner[keep], minlength=len(polys)).tolist()


NOTED_RINGS = 20  # the depth of at most this many rings is spelled out in a parcel's note


def parcel_geometry(parcel: Parcel, repair_budget_s: float = 5.0):
    """Rings closed if needed; a ring inside an odd number of other rings is a hole, inside an
    even number (none, or a hole's island) it is land: the even-odd rule of nesting depth."""
    numbers, polys = [], []
    unclosed = []
    for number in sorted(parcel.rings):
        pts = parcel.rings[number]
        if len(pts) >= 3 and pts[0] != pts[-1]:
            pts = pts + [pts[0]]
            unclosed.append(number)
        if len(pts) < 4:
            raise DataError(f"地块“{parcel.name}”第 {number} 圈点数不足 3 个", f"parcel {parcel.name!r} ring {number} has fewer than 3 points")
        numbers.append(number)
        polys.append(Polygon(pts))
    if unclosed:
        parcel.notes.append(f"第 {_some(unclosed)} 圈缺少闭合点，已自动闭合 / {len(unclosed)} ring(s) not closed; closed")
    polys = np.array(polys, dtype=object)
    bad = np.flatnonzero(~shapely.is_valid(polys))
    for i in bad:  # repair before containment and difference, each within the budget (a ring may be a zigzag)
        polys[i] = repair_within(polys[i], repair_budget_s, f"地块“{parcel.name}”第 {numbers[i]} 圈")
    depths = np.array(ring_depths(polys))
    if len(polys) > 1:
        holes = [n for n, d in zip(numbers, depths) if d % 2]
        islands = [n for n, d in zip(numbers, depths) if d and not d % 2]
        apart = [n for n, d in zip(numbers, depths) if not d and n != numbers[0]]
        said = ([f"第 {_some(holes)} 圈在奇数个圈内，为洞"] if holes else []) + \
               ([f"第 {_some(islands)} 圈在偶数个圈内（洞中之岛），为地块"] if islands else []) + \
               ([f"第 {_some(apart)} 圈不在其他圈内，为独立地块部分"] if apart else [])
        if said:
            parcel.notes.append("；".join(said) + "（按嵌套层数判定：偶数层为地块，奇数层为洞）"
                                " / rings judged by nesting depth: even = land, odd = hole")
    geom = None
    for depth in np.unique(depths):  # one union per nesting level, land and holes alternating outward in
        level = shapely.union_all(polys[depths == depth])
        if depth % 2 == 0:
            geom = level if geom is None else shapely.union(geom, level)
        elif geom is not None:
            geom = shapely.difference(geom, level)
    return geom


def _some(numbers: list[int]) -> str:
    """Ring numbers for a note: all of a few, the first NOTED_RINGS of many and how many there are."""
    shown = "、".join(map(str, numbers[:NOTED_RINGS]))
    return shown if len(numbers) <= NOTED_RINGS else f"{shown} 等 {len(numbers)} 个"


def _decimals(text: str | None) -> int:
    if not text or "." not in text:
        return 0
    return len(text.strip().split(".", 1)[1].rstrip())


def stated_area_check(stated: float | None, plane_m2: float, stated_text: str | None = None, basis: str = "") -> dict | None:
    """The stated 地块面积 (公顷 by the format) against the parcel's plane area.

    Passed when it agrees within the tolerance: STATED_AREA_TOLERANCE_PCT, or half a unit of
    the figure's last written decimal when that is wider (35.1 stands for 35.05–35.15). A
    figure that agrees only when read as m² or 亩 is said to be in that unit (unit_detected),
    with the difference in that unit, instead of a −99.99 % in 公顷.
    """
    if stated is None:
        return None
    computed_ha = plane_m2 / M2_PER_HA
    out = {"stated": stated, "unit_assumed": "ha", "unit_detected": None, "computed_ha": round(computed_ha, 6),
           "computed_plane_m2": round(plane_m2, 3), "difference_pct": None, "tolerance_pct": STATED_AREA_TOLERANCE_PCT,
           "passed": False, "unit_ok": True, "basis": basis, "note": ""}
    if stated <= 0:
        out["note"] = "文件标注面积为 0 或负数，无法核对 / the stated area is zero or negative"
        return out
    rounding_pct = 0.5 * 10 ** -_decimals(stated_text) / stated * 100 if stated_text else 0.0
    tolerance = round(max(STATED_AREA_TOLERANCE_PCT, rounding_pct), 6)
    out["tolerance_pct"] = tolerance

    def diff(unit):
        return (plane_m2 / AREA_UNITS[unit][1] - stated) / stated * 100

    d_ha = diff("ha")
    out["difference_pct"] = round(d_ha, 4)
    where = f"（{basis}）" if basis else ""
    if abs(d_ha) <= tolerance:
        out["passed"] = True
        out["note"] = (f"标注 {stated:g} 公顷，坐标计算平面面积 {computed_ha:.4f} 公顷{where}，相差 {d_ha:+.3f}%，在容差 ±{tolerance:g}% 内，一致"
                       f" / stated {stated:g} ha agrees with the plane area {computed_ha:.4f} ha ({d_ha:+.3f}%, tolerance ±{tolerance:g}%)")
        return out
    for unit in ("m2", "mu"):
        d = diff(unit)
        if abs(d) <= tolerance:
            label = AREA_UNITS[unit][0]
            in_unit = plane_m2 / AREA_UNITS[unit][1]
            out.update(unit_detected=unit, difference_pct=round(d, 4), passed=True, unit_ok=False,
                       difference_pct_as_ha=round(d_ha, 4))
            out["note"] = (f"标注面积 {stated:g} 按格式应为公顷，但它与坐标计算平面面积 {in_unit:.4f} {label}{where}一致（相差 {d:+.3f}%）："
                           f"该数字的单位应为{label}，不是公顷（实为 {computed_ha:.4f} 公顷）；请要求提供单位正确的文件"
                           f" / the stated figure {stated:g} matches the plane area in {unit} ({d:+.3f}%), not in hectares as the format says")
            return out
    out["note"] = (f"标注 {stated:g} 公顷，坐标计算平面面积 {computed_ha:.4f} 公顷{where}，相差 {d_ha:+.3f}%，超出容差 ±{tolerance:g}%，"
                   "按平方米或亩解读也不一致：请核对界址点坐标与标注面积"
                   f" / stated {stated:g} ha differs from the plane area {computed_ha:.4f} ha by {d_ha:+.3f}% "
                   f"(tolerance ±{tolerance:g}%), and no other unit explains it")
    return out
