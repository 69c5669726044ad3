"""Make the 环境管控单元 test files in tests/data/control_units/ (run once; the outputs are committed).

    .venv/bin/python tests/data/control_units/make.py

Invented data in the shape official 三线一单 deliveries have (see README.md here): zipped
Shapefiles written by GDAL (pyogrio) in CGCS2000 3° Gauss-Krüger zone 35 (EPSG:4523, eastings
with the zone prefix) with a .prj, GBK attributes and a .cpg saying so, fields HJGKDYBM (unit
code), HJGKDYMC (unit name), GKLB (1/2/3 = 优先保护/重点管控/一般管控) and KJBJ (a short
空间布局约束 text, as a DBF can hold); and the 准入清单 as an .xlsx written by openpyxl with a
title row and Chinese headers. Everything is fixed (no randomness, fixed zip timestamps).

The units are a 3 × 2 grid of 1000 m squares inside 大足区 (500111; boundary from
data/demo.gpkg, layer "district"):

- units_dazu_gap_overlap_gk35_gbk.zip: the grid alone (so it covers a small part of the
  district), with one deliberate gap — a 20 m × 200 m notch cut from unit ZH50011110001 at its
  edge with ZH50011110002 (4000 m² in the plane) — and one deliberate overlap — unit
  ZH50011130002 reaching 30 m × 300 m into ZH50011130001 (9000 m² in the plane). The
  neighbours carry the notch's and bump's corner vertices on their shared edges, so the gap and
  the overlap are exactly the transformed rectangles GAP_GK and OVERLAP_GK.
- units_dazu_clean_gk35_gbk.zip: the same grid without gap or overlap plus one unit
  (ZH50011130003) for the rest of the district: the district boundary in the GK plane with
  the grid as its hole (the hole ring carries every grid node), so the units tile the district.
- admission_list.xlsx: a title row, then 序号 / 环境管控单元编码 / 环境管控单元名称 / 管控单元分类 /
  空间布局约束 / 污染物排放管控 / 环境风险防控 / 资源利用效率; rows for five of the six grid units
  (ZH50011130002 has none), plus ZH50011120099, which no layer has. Requirement lines start
  with 【市级总体】/【区县总体】/【单元】.
"""
from __future__ import annotations

import io
import re
import shutil
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import Transformer
from shapely.geometry import Polygon

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
GK = 4523  # CGCS2000 3° Gauss-Krüger zone 35 (CM 105°E), eastings with the zone prefix
E0, N0 = 35569000.0, 3277500.0  # south-west corner of the grid, inside 大足区
SIZE = 1000.0
GAP_GK = (E0 + 980.0, N0 + 400.0, E0 + 1000.0, N0 + 600.0)  # 20 m × 200 m = 4000 m²
OVERLAP_GK = (E0 + 1970.0, N0 + 1300.0, E0 + 2000.0, N0 + 1600.0)  # 30 m × 300 m = 9000 m²
ZIP_TIME = (2024, 6, 1, 0, 0, 0)

# (column, row) → code, name, GKLB, KJBJ (the layer's own short 空间布局约束)
UNITS = {
    (0, 0): ("ZH50011110001", "大足区龙水湖优先保护单元", 1, "图层自带：按优先保护单元管控"),
    (1, 0): ("ZH50011110002", "大足区玉龙山优先保护单元", 1, "图层自带：按优先保护单元管控"),
    (2, 0): ("ZH50011120001", "大足区双桥经开区重点管控单元", 2, "图层自带：按重点管控单元管控"),
    (0, 1): ("ZH50011120002", "大足区龙水镇重点管控单元", 2, "图层自带：按重点管控单元管控"),
    (1, 1): ("ZH50011130001", "大足区宝顶镇一般管控单元", 3, "图层自带：按一般管控单元管控"),
    (2, 1): ("ZH50011130002", "大足区中敖镇一般管控单元", 3, "图层自带：中敖镇执行一般管控单元通用要求"),
}
REST = ("ZH50011130003", "大足区其余区域一般管控单元", 3, "图层自带：其余区域执行一般管控单元通用要求")
NOT_LISTED = "ZH50011130002"  # a unit the Excel sheet has no row for
EXTRA = ("ZH50011120099", "大足区已撤销的重点管控单元")  # a row whose code no layer has


def node(i, j):
    return (E0 + SIZE * i, N0 + SIZE * j)


def cell_ring(i, j, gap_overlap: bool) -> list[tuple[float, float]]:
    """The cell's ring, counter-clockwise from its south-west corner, with the extra vertices its neighbours need."""
    x0, y0 = node(i, j)
    x1, y1 = node(i + 1, j + 1)
    south, east, north, west = [(x0, y0)], [(x1, y0)], [(x1, y1)], [(x0, y1)]
    if gap_overlap:
        gx0, gy0, gx1, gy1 = GAP_GK
        ox0, oy0, ox1, oy1 = OVERLAP_GK
        if (i, j) == (0, 0):  # the notch (the gap) in its east edge
            east += [(gx1, gy0), (gx0, gy0), (gx0, gy1), (gx1, gy1)]
        if (i, j) == (1, 0):  # its west edge carries the notch's corners
            west += [(gx1, gy1), (gx1, gy0)]
        if (i, j) == (1, 1):  # its east edge carries the bump's corners
            east += [(ox1, oy0), (ox1, oy1)]
        if (i, j) == (2, 1):  # the bump (the overlap) out of its west edge
            west += [(ox1, oy1), (ox0, oy1), (ox0, oy0), (ox1, oy0)]
    return south + east + north + west


def grid(gap_overlap: bool) -> list[Polygon]:
    return [Polygon(cell_ring(i, j, gap_overlap)) for (i, j) in UNITS]


def grid_boundary_ring() -> list[tuple[float, float]]:
    """The grid's outline through every node on it (the rest unit's hole matches the cells' edges vertex for vertex)."""
    cols, rows = 3, 2
    ring = [node(i, 0) for i in range(cols)] + [node(cols, j) for j in range(rows)]
    ring += [node(i, rows) for i in range(cols, 0, -1)] + [node(0, j) for j in range(rows, 0, -1)]
    return ring


def district_gk():
    d = pyogrio.read_dataframe(ROOT / "data" / "demo.gpkg", layer="district")
    geom = d[d["adcode"].astype(str) == "500111"].geometry.iloc[0]
    to_gk = Transformer.from_crs(4490, GK, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(to_gk.transform(xy[:, 0], xy[:, 1])))


def rest_of_district() -> Polygon:
    district = district_gk()
    hole = Polygon(grid_boundary_ring())
    parts = list(getattr(district, "geoms", [district]))
    host = next(p for p in parts if p.contains(hole.buffer(1.0)))
    assert hole.buffer(1.0).within(host), "the grid must lie inside 大足区"
    rest = Polygon(host.exterior.coords, [list(r.coords) for r in host.interiors] + [grid_boundary_ring()])
    assert rest.is_valid, shapely.is_valid_reason(rest)
    others = [p for p in parts if p is not host]
    return shapely.MultiPolygon([rest] + others) if others else rest


def _zip_dir(folder: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.iterdir()):
            info = zipfile.ZipInfo(f.name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, f.read_bytes())


def write_units(target: Path, polys, rows) -> None:
    tmp = HERE / "_shp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    gdf = gpd.GeoDataFrame({"HJGKDYBM": [r[0] for r in rows], "HJGKDYMC": [r[1] for r in rows],
                            "GKLB": [r[2] for r in rows], "KJBJ": [r[3] for r in rows]}, geometry=polys, crs=GK)
    pyogrio.write_dataframe(gdf, tmp / "hjgkdy.shp", encoding="GBK")
    cpg = tmp / "hjgkdy.cpg"
    if not cpg.exists():
        cpg.write_text("GBK", encoding="ascii")
    assert (tmp / "hjgkdy.prj").exists()
    _zip_dir(tmp, target)
    shutil.rmtree(tmp)


LEVEL_TEXT = {
    "spatial_layout": ("【市级总体】禁止在长江干支流岸线一公里范围内新建、扩建化工园区和化工项目。",
                       "【区县总体】严格控制濑溪河沿岸新建排放重点水污染物的工业项目。"),
    "pollutant_discharge": ("【市级总体】新建、改建、扩建项目实行主要污染物排放等量或减量替代。",
                            "【区县总体】城镇污水处理厂出水执行一级 A 标准。"),
    "risk_prevention": ("【市级总体】涉及有毒有害物质的企业应制定突发环境事件应急预案。",),
    "resource_efficiency": ("【区县总体】单位地区生产总值用水量下降率达到市下达目标。",),
}


def admission_texts(code: str, name: str) -> dict[str, str]:
    short = name.removeprefix("大足区")
    own = {
        "spatial_layout": f"【单元】{short}内禁止新建、扩建工业类项目（{code}）。",
        "pollutant_discharge": f"【单元】{short}内现有排污单位须稳定达标排放。",
        "risk_prevention": f"【单元】{short}内建立环境风险隐患排查制度。",
        "resource_efficiency": f"【单元】{short}内新建项目须采用节水工艺。",
    }
    return {k: "\n".join(LEVEL_TEXT[k] + (own[k],)) for k in own}


def write_admission_list(target: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "准入清单"
    fixed = datetime(2024, 6, 1)
    wb.properties.created = wb.properties.modified = fixed
    wb.properties.creator = "tests/data/control_units/make.py"
    ws.append(["大足区环境管控单元生态环境准入清单（测试数据，非官方）"])
    ws.append(["序号", "环境管控单元编码", "环境管控单元名称", "管控单元分类", "空间布局约束", "污染物排放管控", "环境风险防控", "资源利用效率"])
    listed = [(code, name, cls) for code, name, cls, _ in UNITS.values() if code != NOT_LISTED]
    listed.insert(2, (EXTRA[0], EXTRA[1], 2))
    classes = {1: "优先保护单元", 2: "重点管控单元", 3: "一般管控单元"}
    for n, (code, name, cls) in enumerate(listed, 1):
        t = admission_texts(code, name)
        ws.append([n, code, name, classes[cls], t["spatial_layout"], t["pollutant_discharge"], t["risk_prevention"], t["resource_efficiency"]])
    raw = io.BytesIO()
    wb.save(raw)
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for m in src.infolist():  # the same bytes on every run: fixed member timestamps, and the time saved (openpyxl's now)
            info = zipfile.ZipInfo(m.filename, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            body = src.read(m)
            if m.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-06-01T00:00:00Z", body)
            dst.writestr(info, body)


def main() -> None:
    rows = list(UNITS.values())
    write_units(HERE / "units_dazu_gap_overlap_gk35_gbk.zip", grid(gap_overlap=True), rows)
    write_units(HERE / "units_dazu_clean_gk35_gbk.zip", grid(gap_overlap=False) + [rest_of_district()], rows + [REST])
    write_admission_list(HERE / "admission_list.xlsx")


if __name__ == "__main__":
    sys.exit(main())
