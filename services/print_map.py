"""打印/导出地图: the current view of a district's 一张图 as an A4 or A3 landscape PDF or PNG with 图名 (editable),
图例, 比例尺, 指北针, date and data status (render/map_figure.py). The view and layers come from the map page; every
parameter is checked here, since the request is a plain link anyone can edit."""
from __future__ import annotations

import shapely

from geo.crs import gk3_zone
from geo.errors import DataError, NotFoundError
from render import map_figure, report_model
from state.db import now

FORMATS = {"pdf": "application/pdf", "png": "image/png"}
MAX_VIEW_DEG = 3.0  # a printed view is at most this wide or high (a district is about 1°)
MAX_TITLE = 60


def _bbox(text) -> tuple[float, float, float, float]:
    try:
        w, s, e, n = (float(v) for v in str(text or "").split(","))
    except ValueError:
        raise DataError("bbox 须为 西经,南纬,东经,北纬 四个数（CGCS2000 经纬度）", "bbox must be four numbers: west,south,east,north") from None
    if not (73 <= w < e <= 136 and 3 <= s < n <= 54):
        raise DataError("打印范围须在中国境内且西 < 东、南 < 北", "bbox must lie in China with west < east and south < north")
    if e - w > MAX_VIEW_DEG or n - s > MAX_VIEW_DEG:
        raise DataError(f"打印范围过大（超过 {MAX_VIEW_DEG:g}°）：请放大地图后再打印", f"the view is larger than {MAX_VIEW_DEG:g} degrees")
    return w, s, e, n


def print_view(ctx, actor, adcode: str, fmt: str, bbox, layers=None, paper=None, title=None) -> tuple[bytes, str, str]:
    """(content, media type, file name) of the printed view."""
    if fmt not in FORMATS:
        raise NotFoundError(f"不支持的格式：{str(fmt)[:20]}（可用 pdf、png）", f"unknown format {str(fmt)[:20]}; use pdf or png")
    snap = ctx.live.get()
    snap.districts.check(adcode)
    plan = snap.districts.plans.get(adcode, {})
    w, s, e, n = _bbox(bbox)
    paper = paper or "A4"
    if paper not in map_figure.PAPER_MM:
        raise DataError(f"纸张只能是 {'、'.join(map_figure.PAPER_MM)}", f"paper must be one of {', '.join(map_figure.PAPER_MM)}")
    vocab = ctx.vocab
    keys = [k for k in str(layers).split(",") if k] if layers else [k.key for k in vocab.thematic if not k.zoning]
    unknown = [k[:30] for k in keys if k not in vocab.kinds]
    if unknown:
        raise DataError(f"未知的图层类型：{'、'.join(unknown[:5])}", f"unknown layer kinds: {', '.join(unknown[:5])}")
    title = " ".join(str(title or "").split())[:MAX_TITLE] or f"{plan.get('name', adcode)}生态环境管控一张图"
    view = shapely.box(w, s, e, n)
    order = ["district", *[k for k in keys if k != "district"]]  # boundaries first in the list, drawn on top
    drawn, demo = [], set()
    for key in order:
        kind = vocab.kinds[key]
        frame = snap.store.read_all(key)
        if not len(frame):
            continue
        hit = frame.iloc[sorted(frame.sindex.query(view, predicate="intersects"))]  # the frame's cached index
        values = hit[kind.style_by].astype(str).tolist() if kind.style_by and kind.style_by in hit.columns else [None] * len(hit)
        colors = {v: spec["color"] for v, spec in kind.attribute(kind.style_by).values.items()} if kind.style_by else {}
        drawn.append((key, list(zip(hit.geometry.values, values)), colors))
        if key != "district":
            demo |= {vocab.kinds[key].name_zh for a in set(hit["adcode"].astype(str)) if snap.store.is_demo(a, key)}
    districts = [g for k, geoms, _ in drawn if k == "district" for g, _ in geoms]
    data = vocab.statuses["data"]
    status = f"{data['demo']['label']}（{'、'.join(sorted(demo))}）" if demo else data["official"]["label"]
    zone = gk3_zone((w + e) / 2)
    foot = (f"数据状态：{status} · CGCS2000 3° 带第 {zone} 带（X 北坐标 / Y 东坐标，米）· 制图日期：{report_model.date_zh(now()).split(' ')[0]} · "
            "生态红线一张图（以主管部门审定的数据为准）")
    content = map_figure.view_figure((w, s, e, n), [d for d in drawn if d[0] != "district"] + [d for d in drawn if d[0] == "district"],
                                     vocab, title, districts or [view], foot, paper=paper, fmt=fmt)
    ctx.record(actor, "print", f"打印地图 {plan.get('name', adcode)}：{title}（{paper} {fmt.upper()}）", ctx.layer_versions(snap, adcode), read=True)
    return content, FORMATS[fmt], f"map-{adcode}-{paper}.{fmt}"
