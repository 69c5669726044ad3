"""Printable screening report: HTML with an SVG map, rendered to PDF by WeasyPrint.

The map is drawn server-side as SVG in a local equidistant projection (no tiles, no
browser), so the PDF can be made on an offline machine. Fonts come from the system:
a CJK font (fonts-noto-cjk) must be installed for Chinese text to embed.
"""
from __future__ import annotations

import shutil
import subprocess

from pathlib import Path

import jinja2
import numpy as np
import shapely

from geo import vocabulary
from geo.errors import UnavailableError
from geo.screening import LocalFrame

SVG_W, SVG_H, PAD = 640, 420, 16
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
_env.filters["status_css"] = vocabulary.status_css


def _path(geom, tx) -> str:
    """SVG path data of the polygon rings (closed) and lines (open) of a projected geometry."""
    parts = []
    for part in shapely.get_parts(geom):
        if part.geom_type in ("MultiPolygon", "MultiLineString", "GeometryCollection"):
            parts.append(_path(part, tx))
        elif part.geom_type == "Polygon":
            for ring in [part.exterior, *part.interiors]:
                xy = tx(np.asarray(ring.coords))
                parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in xy) + "Z")
        elif part.geom_type in ("LineString", "LinearRing") and len(part.coords) > 1:
            xy = tx(np.asarray(part.coords))
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in xy))
    return " ".join(p for p in parts if p)


def _element(geom, tx, color: str, opacity: float, width: float, dash: str | None = None) -> str:
    """A projected geometry as SVG: areas filled, lines stroked (no fill), points as dots."""
    out = []
    polygons = [p for p in shapely.get_parts(geom) if shapely.get_dimensions(p) == 2]
    lines = [p for p in shapely.get_parts(geom) if shapely.get_dimensions(p) == 1]
    points = [p for p in shapely.get_parts(geom) if shapely.get_dimensions(p) == 0 and not p.is_empty]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    if polygons:
        out.append(f'<path d="{_path(shapely.GeometryCollection(polygons), tx)}" fill="{color}" fill-opacity="{opacity}" '
                   f'stroke="{color}" stroke-width="{width}"{dash_attr}/>')
    if lines:
        out.append(f'<path d="{_path(shapely.GeometryCollection(lines), tx)}" fill="none" stroke="{color}" stroke-opacity="{max(opacity, 0.5)}" '
                   f'stroke-width="{width}" stroke-linecap="round" stroke-linejoin="round"{dash_attr}/>')
    for p in points:
        for q in shapely.get_parts(p):
            (x, y), = tx(np.array([[q.x, q.y]]))
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{color}"/>')
    return "".join(out)


def svg_map(result: dict, vocab) -> str:
    """Site (black outline, or a black line with its corridor dashed), hit features (faded),
    overlap pieces (solid: areas, or the line's runs inside drawn thick), 5 km context."""
    site = result["_site_geometry"]
    c = site.centroid if site.geom_type != "Point" else site
    frame = LocalFrame(c.x, c.y)
    site_m = frame.to_m(site)
    corridor = result.get("_corridor_geometry")
    corridor_m = frame.to_m(corridor) if corridor is not None else None
    shapes, on_top = [], []  # (projected geometry, colour, opacity, stroke width); on_top: a line's runs inside, over the line
    for layer in result["layers"]:
        kind = vocab.kinds[layer["kind"]]
        color, strong = kind.style.get("fillColor", "#888888"), kind.overlap_color
        if layer.get("zoning"):  # units tile the district: their edges only, or they would hide every other overlap
            shapes.extend((frame.to_m(hit["_feature_geometry"].boundary), strong, 0.9, 1.0) for hit in layer["hits"])
            continue
        for hit in layer["hits"]:
            shapes.append((frame.to_m(hit["_feature_geometry"]), color, 0.18, 0.8))
        for hit in layer["hits"]:
            piece = hit.get("_corridor_overlap_geometry")
            if piece is not None and not piece.is_empty:
                shapes.append((frame.to_m(piece), strong, 0.5, 0.6))
            piece = hit["_overlap_geometry"]
            if piece is None or piece.is_empty or shapely.get_dimensions(piece) == 0:
                continue
            if shapely.get_dimensions(piece) == 1:
                on_top.append((frame.to_m(piece), strong, 1.0, 4.5))
            else:
                shapes.append((frame.to_m(piece), strong, 0.75, 1.2))
    extent = corridor_m if corridor_m is not None else site_m
    view = extent.buffer(max(300.0, 0.25 * max(extent.bounds[2] - extent.bounds[0], extent.bounds[3] - extent.bounds[1])))
    for geom, *_ in shapes + on_top:
        if geom.distance(site_m) <= 1500:
            view = view.union(shapely.box(*geom.bounds).intersection(site_m.buffer(1500)))
    minx, miny, maxx, maxy = view.bounds
    scale = min((SVG_W - 2 * PAD) / (maxx - minx), (SVG_H - 2 * PAD) / (maxy - miny))

    def tx(xy):
        return np.column_stack([PAD + (xy[:, 0] - minx) * scale, SVG_H - PAD - (xy[:, 1] - miny) * scale])

    clip = shapely.box(minx, miny, maxx, maxy)
    body = []
    if corridor_m is not None:
        body.append(_element(corridor_m.intersection(clip), tx, "#555555", 0.08, 1.0, dash="5 3"))
    for geom, color, opacity, width in shapes:
        g = geom.intersection(clip)
        if not g.is_empty:
            body.append(_element(g, tx, color, opacity, width))
    if site.geom_type in ("Point", "MultiPoint"):
        body.append(_element(site_m, tx, "#000000", 1.0, 1.0))
    elif shapely.get_dimensions(site) == 1:
        body.append(f'<path d="{_path(site_m, tx)}" fill="none" stroke="#000" stroke-width="1.6" stroke-linejoin="round"/>')
        for geom, color, opacity, width in on_top:
            g = geom.intersection(clip)
            if not g.is_empty:
                body.append(_element(g, tx, color, opacity, width))
    else:
        body.append(f'<path d="{_path(site_m, tx)}" fill="none" stroke="#000" stroke-width="2"/>')
    bar_m = _nice(0.25 * (maxx - minx))
    bar_px = bar_m * scale
    body.append(f'<g font-size="11"><line x1="{PAD}" y1="{SVG_H - 8}" x2="{PAD + bar_px:.1f}" y2="{SVG_H - 8}" stroke="#000" stroke-width="2"/>'
                f'<text x="{PAD + bar_px + 4:.1f}" y="{SVG_H - 4}">{bar_m:g} m</text>'
                f'<text x="{SVG_W - 40}" y="24" font-size="16">↑北</text></g>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_W}" height="{SVG_H}" viewBox="0 0 {SVG_W} {SVG_H}">'
            f'<rect width="100%" height="100%" fill="#fafafa" stroke="#ccc"/>{"".join(body)}</svg>')


def _nice(x: float) -> float:
    exp = 10 ** np.floor(np.log10(max(x, 1)))
    return float(max(m for m in (1, 2, 5, 10) if m * exp <= max(x, 1)) * exp)


def cjk_font_available() -> bool:
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=10).stdout
    return bool(out.strip())


def render_pdf(html: str) -> bytes:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango missing
        raise UnavailableError("服务器未安装 PDF 组件（WeasyPrint/Pango），无法生成 PDF", f"PDF rendering unavailable: {exc}") from None
    if not cjk_font_available():
        raise UnavailableError("服务器缺少中文字体（请安装 fonts-noto-cjk），无法生成 PDF", "no CJK font installed (fonts-noto-cjk)")
    return weasyprint.HTML(string=html).write_pdf()


def screening_pdf(results: list[dict], public_results: list[dict], vocab, summary: dict | None = None,
                  indices: list[int] | None = None) -> bytes:
    """The printable report of a screening: one block per site with its map, then the method. summary: the
    summary of a large screening (services.exports.report_selection) shown first; indices: the sites' numbers."""
    html = _env.get_template("report.html").render(
        results=public_results, maps=[svg_map(r, vocab) for r in results], vocab=vocab, summary=summary,
        indices=indices or list(range(1, len(results) + 1)),
        demo=any(layer["is_demo"] for r in results for layer in r["layers"]))
    return render_pdf(html)
