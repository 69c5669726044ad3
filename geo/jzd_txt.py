"""自然资源部 界址点坐标 TXT (建设项目用地红线坐标文件) reader.

Layout: a `[属性描述]` block of key=value lines, then `[地块坐标]` with a parcel header
line ending in `@` (点数,面积(公顷),编号,名称,面,图幅号,用途,地类编码,@; 8 or 9 fields)
followed by `J1,圈号,X,Y` rows, X being the NORTHING. The traps handled here: swapped
X/Y columns (detected by magnitude), missing closing points, rings numbered >1 that are
islands rather than holes (decided by containment), and 带号 written or only implied by
the easting's zone prefix.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import shapely
from shapely.geometry import Polygon

from geo.crs import NORTHING_RANGE
from geo.errors import DataError



@dataclass
class Parcel:
    name: str
    number: str
    stated_area_ha: float | None
    rings: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # 圈号 -> [(east, north)]
    notes: list[str] = field(default_factory=list)


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
            parcels.append(Parcel(name=fields[3] or fields[2] or f"地块{len(parcels) + 1}", number=fields[2], stated_area_ha=area))
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 4:
            raise DataError(f"界址点文件第 {line_no} 行：坐标行应为“点号,圈号,X,Y”4 个字段", f"line {line_no}: a point row needs 4 fields")
        if not parcels:
            raise DataError(f"界址点文件第 {line_no} 行：坐标行之前没有地块头（以 @ 结尾的行）", f"line {line_no}: point row before any parcel header")
        ring = _num(fields[1], line_no, "圈号")
        if ring != int(ring) or not 1 <= ring <= 10_000:
            raise DataError(f"界址点文件第 {line_no} 行：圈号应为正整数", f"line {line_no}: ring number must be a positive integer")
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


def parcel_geometry(parcel: Parcel):
    """Rings closed if needed; rings inside the first ring become holes, others separate parts."""
    rings = []
    for number in sorted(parcel.rings):
        pts = parcel.rings[number]
        if len(pts) >= 3 and pts[0] != pts[-1]:
            pts = pts + [pts[0]]
            parcel.notes.append(f"第 {number} 圈缺少闭合点，已自动闭合 / ring {number} was not closed; closed")
        if len(pts) < 4:
            raise DataError(f"地块“{parcel.name}”第 {number} 圈点数不足 3 个", f"parcel {parcel.name!r} ring {number} has fewer than 3 points")
        rings.append(shapely.make_valid(Polygon(pts)))  # repair before containment and difference
    shells, holes = [rings[0]], []
    for r in rings[1:]:
        (holes if shells[0].contains(r) else shells).append(r)
    geom = shapely.union_all(shells)
    for h in holes:
        geom = geom.difference(h)
    return geom
