"""What a 审查意见 says beyond the per-layer tables, computed once for the PDF and the Word report so the two never
disagree: the project information, the conclusion per layer kind with its figures, the 界址点坐标成果表 of each site
in its Gauss-Krüger zone, the parts of each site inside a protected zone (areas and corner coordinates), the plan
rules with plan title and line, the data status and the signature block. Plain data; the renderers only lay it out.
"""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import shapely

from geo import project_info
from geo.area import area_m2, plane_area_m2
from geo.crs import GEO_EPSG, transformer
from geo.screening import INSIDE

MAX_SITE_POINTS = 400  # 界址点 rows per site in a report; every vertex is in the Shapefile/DXF export
MAX_PART_POINTS = 60  # corner rows per inside part
MAX_INSIDE_PARTS = 30  # inside parts listed per site
SIGNATURE = ("审查人", "复核人", "日期")
TITLE = "建设项目选址生态环境合规初筛意见"


def _plane(epsg: int):
    fwd = transformer(GEO_EPSG, epsg)

    def to_plane(xy: np.ndarray) -> np.ndarray:
        e, n = fwd.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([n, e])  # X north, Y east: the surveyors' order

    return to_plane


def _ring_rows(ring, to_plane, start: int) -> list[dict]:
    """点号, X, Y of a closed ring: its distinct vertices numbered from start, then the first again (the ring closes)."""
    xy = shapely.get_coordinates(ring)
    if len(xy) > 1 and np.array_equal(xy[0], xy[-1]):
        xy = xy[:-1]
    plane = to_plane(xy)
    rows = [{"point": f"J{start + i}", "x_m": float(x), "y_m": float(y)} for i, (x, y) in enumerate(plane)]
    return rows + rows[:1]


def coordinate_table(geom, epsg: int, limit: int = MAX_SITE_POINTS) -> dict:
    """The 界址点坐标成果表 of a lon/lat site in the plane CRS epsg (X north, Y east in metres): parcels and rings
    numbered (ring 1 the outer boundary, further rings holes), points J1… numbered per parcel; a line's vertices in
    order; a point's position. At most limit rows; n_points says how many there are."""
    to_plane = _plane(epsg)
    blocks, n_rows = [], 0
    polygons = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    if polygons:
        for parcel, poly in enumerate(polygons, 1):
            number = 1
            for ring_no, ring in enumerate(shapely.get_rings(poly), 1):
                rows = _ring_rows(ring, to_plane, number)
                number += len(rows) - 1
                blocks.append({"parcel": parcel, "ring": ring_no, "ring_label": "外圈" if ring_no == 1 else f"内圈 {ring_no - 1}（扣除）",
                               "rows": rows})
                n_rows += len(rows)
        kind = "polygon"
    else:
        kind = "line" if shapely.get_dimensions(geom) == 1 else "point"
        for n, part in enumerate(shapely.get_parts(geom), 1):
            plane = to_plane(shapely.get_coordinates(part))
            rows = [{"point": f"{'J' if kind == 'line' else 'P'}{i + 1}", "x_m": float(x), "y_m": float(y)} for i, (x, y) in enumerate(plane)]
            blocks.append({"parcel": n, "ring": None, "ring_label": "线路拐点" if kind == "line" else "点位", "rows": rows})
            n_rows += len(rows)
    shown, left = [], limit
    for block in blocks:
        if left <= 0:
            break
        shown.append({**block, "rows": block["rows"][:left]})
        left -= len(shown[-1]["rows"])
    return {"site_type": kind, "blocks": shown, "n_points": n_rows, "n_shown": sum(len(b["rows"]) for b in shown),
            "n_parcels": len(polygons) if polygons else len(blocks)}


def inside_parts(result: dict, vocab, epsg: int) -> list[dict]:
    """Each polygon part of the site lying inside a zone (hits within/intersects, not zoning units): layer, feature,
    part number, ellipsoidal and plane area (m²) and corner coordinates in the zone epsg."""
    if result["site"].get("site_type") != "polygon":
        return []
    to_plane = _plane(epsg)
    out = []
    for layer in result["layers"]:
        if layer.get("zoning"):
            continue
        for hit in layer["hits"]:
            piece = hit.get("_overlap_geometry")
            if hit["relation"] not in INSIDE or piece is None or piece.is_empty:
                continue
            polys = [p for p in shapely.get_parts(piece) if p.geom_type == "Polygon"]
            for n, poly in enumerate(polys, 1):
                rows = _ring_rows(poly.exterior, to_plane, 1)
                out.append({"kind": layer["kind"], "layer": vocab.kinds[layer["kind"]].name_zh, "feature": hit["name"],
                            "feature_id": hit["id"], "part": n, "n_parts": len(polys), "area_m2": area_m2(poly),
                            "plane_area_m2": plane_area_m2(poly, epsg), "n_holes": len(poly.interiors),
                            "corners": rows[:MAX_PART_POINTS], "n_corners": len(rows) - 1})
    return out


def layer_conclusions(result: dict, vocab) -> list[dict]:
    """Per screened layer kind (zoning units apart): the conclusion word (涉及 / 边界接触 / 临近 / 不涉及 / 无法判定) and
    the figures behind it, in the terms of the site type."""
    w = {key: spec["label"] for key, spec in vocab.statuses["verdict"].items()}
    s = result["site"]
    st = s.get("site_type")
    out = []
    for layer in result["layers"]:
        if layer.get("zoning"):
            continue
        hits = layer["hits"]
        inside = [h for h in hits if h["relation"] in INSIDE or h.get("corridor_relation") in INSIDE]
        contact = [h for h in hits if "contact" in (h["relation"], h.get("corridor_relation"))]
        covered = not layer.get("coverage") or layer["coverage"]["complete"]
        names = "、".join(dict.fromkeys(h["name"] for h in (inside or contact or hits[:1])))
        if inside:
            key = "involved"
            if st == "polygon":
                figures = (f"{names}；重叠面积 {layer.get('total_overlap_m2') or 0:.2f} m²（{(layer.get('total_overlap_m2') or 0) / 1e4:.4f} 公顷，"
                           f"占项目 {layer.get('total_overlap_pct_of_site') or 0:.1f}%）")
            elif st == "line":
                figures = f"{names}；线路在其内 {layer.get('total_length_inside_m') or 0:.1f} m"
            else:
                figures = f"位于{names}内"
        elif contact:
            key, figures = "contact", f"{names}；重叠小于精度，仅边界接触"
        elif not covered:
            key, figures = "unknown", layer["coverage"]["note_zh"]
        elif hits:
            key, figures = "near", f"距最近的{hits[0]['name']} {hits[0]['distance_m']:.1f} m（{hits[0]['distance_band']}）"
        else:
            key, figures = "clear", f"{result['method']['distance_bands_m'][-1] / 1000:g} km 范围内无{layer['name_zh']}"
        if key in ("involved", "contact") and not covered:
            figures += f"；另：{layer['coverage']['note_zh']}"
        out.append({"kind": layer["kind"], "layer": layer["name_zh"], "level": w[key], "level_key": key, "figures": figures,
                    "status": layer["status"]})
    return out


def overview(results: list[dict], vocab, start: int = 0) -> dict:
    """The conclusions of a page of sites at a glance (the result page shows it first): per site its number, name
    and overall level, per screened kind the conclusion word; the kinds as columns."""
    rows = []
    for i, r in enumerate(results, start + 1):
        rows.append({"index": i, "name": r["site"].get("name") or f"项目{i}", "level": r["verdict"]["level"],
                     "layers": {c["kind"]: c for c in layer_conclusions(r, vocab)}})
    kinds = list(dict.fromkeys(k for row in rows for k in row["layers"]))
    return {"kinds": [(k, vocab.kinds[k].name_zh) for k in kinds if k in vocab.kinds], "rows": rows}


def rules(result: dict) -> list[dict]:
    """The plan rules the result quotes, once each, with the plan title and line (not the plan file)."""
    seen, out = set(), []
    for layer in result["layers"]:
        for rule in layer.get("control_rules") or []:
            key = (rule["plan"], rule["line"], rule["text"])
            if key not in seen:
                seen.add(key)
                out.append({"layer": layer["name_zh"], "text": rule["text"], "plan": rule["plan"], "line": rule["line"]})
    return out


def build(results: list[dict], vocab, indices: list[int] | None = None) -> dict:
    """The model of a report over the sites shown (results: stored results with geometries; indices their numbers)."""
    indices = indices or list(range(1, len(results) + 1))
    project = results[0].get("project") or {} if results else {}
    sites = []
    for index, r in zip(indices, results):
        s = r["site"]
        epsg = int(s["plane_epsg"])
        sites.append({"index": index, "name": s.get("name") or f"项目{index}", "level": r["verdict"]["level"],
                      "conclusions": layer_conclusions(r, vocab), "zoning": r["verdict"].get("zoning", []),
                      "plane_epsg": epsg, "plane_zone": s.get("plane_zone"),
                      "coordinates": coordinate_table(r["_site_geometry"], epsg) if "_site_geometry" in r else None,
                      "inside_parts": inside_parts(r, vocab, epsg)[:MAX_INSIDE_PARTS], "rules": rules(r)})
    demo = any(layer["is_demo"] for r in results for layer in r["layers"])
    data = vocab.statuses["data"]
    return {"title": TITLE, "project": project_info.rows(project, vocab.project_fields), "project_raw": project,
            "sites": sites, "demo": demo, "data_status": data["demo" if demo else "official"]["label"],
            "data_version": results[0]["method"]["data"]["version"] if results else "",
            "signature": SIGNATURE, "max_site_points": MAX_SITE_POINTS}


_ENGLISH_TAIL = re.compile(r"\s+/\s+[\x20-\x7e±²³°×–—’]*$")


def zh_text(text) -> str:
    """The Chinese part of a bilingual note ("中文说明 / English note"), for pages and reports in reviewers' words."""
    return _ENGLISH_TAIL.sub("", str(text or ""))


NO_INSIDE_PARTS = "项目没有位于生态保护红线、饮用水水源保护区或自然保护地内的部分（边界接触与临近见上文）。"


def date_zh(iso: str) -> str:
    """2026-12-03T22:36:53+08:00 → 2026年12月3日 22:36 (the time as stamped, Beijing time)."""
    try:
        t = dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso or "")
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"


def plane_note(site: dict) -> str:
    zone = site["plane_zone"]
    return (f"坐标系：2000 国家大地坐标系（CGCS2000）高斯-克吕格投影 3° 带第 {zone} 带，中央经线东经 {3 * int(zone)}°"
            f"（EPSG:{site['plane_epsg']}）；X 为北坐标，Y 为东坐标（含带号 {zone}），单位米，保留三位小数；各圈末点与首点相同（闭合）。")


def part_text(part: dict) -> str:
    holes = f"，内有 {part['n_holes']} 处不属于该要素的空洞" if part["n_holes"] else ""
    return (f"第 {part['part']} 块（共 {part['n_parts']} 块）：椭球面积 {part['area_m2']:.2f} m²（{part['area_m2'] / 1e4:.4f} 公顷），"
            f"投影面积 {part['plane_area_m2']:.2f} m²（{part['plane_area_m2'] / 1e4:.4f} 公顷）{holes}；拐点坐标如下。")
