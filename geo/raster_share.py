"""Land-cover shares inside a polygon from a GeoTIFF (e.g. 森林覆盖率 from ESA WorldCover or CLCD).

Method, per pixel i that the polygon touches:
  * coverage fraction c_i ∈ [0, 1]: the exact share of the pixel square inside the polygon,
    computed in the raster's own CRS (the lon/lat polygon is densified and reprojected to it).
    Engine "exactextract" (if the package is installed) or "exact" (our own: pixels whose
    square the boundary does not touch are wholly in or out; every pixel the boundary
    touches is intersected with the polygon as a square, with shapely).
  * ellipsoidal pixel area A_i on GRS80 (CGCS2000): for a lon/lat raster the closed-form area
    of the cell's latitude band, b²Δλ/2·[q(φ2) − q(φ1)]; for a projected raster the planar
    cell area divided by the projection's areal scale factor at the cell (pyproj get_factors).
  * share = Σ c_i A_i [class] ÷ Σ c_i A_i [valid]; nodata pixels (the file's nodata, its mask,
    and the preset's nodata codes) are left out of the denominator and reported as nodata_m2.

Class codes come from the preset table data/landcover_presets.yaml.
"""
from __future__ import annotations

import logging
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import rasterio
import rasterio.features
import rasterio.windows
import shapely
import shapely.affinity
import shapely.geometry
import yaml
from pyproj import CRS, Proj, Transformer
from rasterio.transform import Affine

from geo.area import area_m2
from geo.errors import DataError
from geo.geometry import dissolve, polygonal

# GDAL_SKIP (geo/__init__.py) names a vector driver that rasterio's own GDAL build lacks; its
# "unable to find driver" notice is expected, not a fault.
logging.getLogger("rasterio._env").setLevel(logging.ERROR)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
PRESETS_PATH = DATA_DIR / "landcover_presets.yaml"

# GRS80 (CGCS2000 to 1e-10 in flattening)
GRS80_A = 6378137.0
GRS80_F = 1 / 298.257222101
GRS80_E2 = GRS80_F * (2 - GRS80_F)
GRS80_E = math.sqrt(GRS80_E2)
GRS80_B = GRS80_A * (1 - GRS80_F)

DENSIFY_DEG = 0.002  # ≈200 m: lon/lat edges are densified before reprojecting to a projected raster CRS
SCALE_BLOCK = 64  # areal scale factor evaluated once per 64×64-pixel block (varies < 1e-6 across it)
EDGE_TILE = 64  # tile size for the exact boundary-pixel engine
COVERAGE_EPS = 1e-9  # coverage within 1e-9 of 0 or 1 is rounding noise from reprojecting edges onto pixel edges

DEMO_TAG = "DEMO"


# ---------------------------------------------------------------------------
# presets


@lru_cache(maxsize=4)
def _load_presets_cached(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    for name, p in data.items():
        p["classes"] = {int(k): v for k, v in p["classes"].items()}
        p["nodata"] = [int(v) for v in p.get("nodata") or []]
        p["name"] = name
    return data


def load_presets(path: Path | str = PRESETS_PATH) -> dict:
    """All presets keyed by name (worldcover, clcd, …)."""
    return _load_presets_cached(str(path))


def resolve_preset(preset) -> dict:
    """A preset dict from its name (case-insensitive) or a dict with the same shape."""
    if isinstance(preset, dict):
        p = dict(preset)
        p["classes"] = {int(k): v for k, v in p["classes"].items()}
        p["nodata"] = [int(v) for v in p.get("nodata") or []]
        p.setdefault("name", "custom")
        return p
    presets = load_presets()
    key = str(preset or "").strip().lower()
    if key not in presets:
        raise DataError(
            f"未知的土地覆盖分类预设：{preset!r}（可选：{'、'.join(presets)}）",
            f"unknown land-cover preset {preset!r}; choose one of {sorted(presets)}",
        )
    return presets[key]


def class_codes(preset: dict, classes) -> list[int]:
    """Codes for class keys / aliases (e.g. 'forest') or integer codes."""
    if isinstance(classes, (str, int)):
        classes = (classes,)
    codes: list[int] = []
    for c in classes:
        if isinstance(c, (int, np.integer)) or (isinstance(c, str) and c.isdigit()):
            code = int(c)
            if code not in preset["classes"]:
                raise DataError(f"预设 {preset['name']} 没有编码 {code}", f"preset {preset['name']} has no class code {code}")
            codes.append(code)
            continue
        hits = [k for k, v in preset["classes"].items() if c == v["key"] or c in (v.get("aliases") or [])]
        if not hits:
            keys = "、".join(v["key"] for v in preset["classes"].values())
            raise DataError(f"预设 {preset['name']} 没有类别 {c!r}（可选：{keys}）", f"preset {preset['name']} has no class {c!r}")
        codes.extend(hits)
    return sorted(set(codes))


# ---------------------------------------------------------------------------
# geometry → raster grid


def _check_transform(transform: Affine) -> None:
    if transform.b != 0 or transform.d != 0:
        raise DataError("不支持旋转的栅格（仿射变换含旋转项）", "rotated rasters are not supported")
    if transform.a <= 0 or transform.e >= 0:
        raise DataError("栅格须为北上（north-up）方向", "raster must be north-up (positive x step, negative y step)")


def polygon_to_raster_crs(polygon_lonlat, crs) -> shapely.Geometry:
    """Reproject a lon/lat (CGCS2000) polygon to the raster CRS, densifying edges first for projected CRSs."""
    crs = CRS.from_user_input(crs)
    if crs.is_geographic:
        return polygon_lonlat  # CGCS2000 / WGS84 lon/lat: same frame at map accuracy
    geom = shapely.segmentize(polygon_lonlat, DENSIFY_DEG)
    t = Transformer.from_crs(4490, crs, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _to_pixel_space(geom, transform: Affine):
    """Geometry in pixel coordinates (x = column, y = row, pixel (r, c) = [c, c+1] × [r, r+1])."""
    inv = ~transform
    return shapely.affinity.affine_transform(geom, [inv.a, inv.b, inv.d, inv.e, inv.c, inv.f])


def _coverage_exactextract(poly_px, width: int, height: int):
    import exactextract
    from exactextract.raster import NumPyRasterSource

    # A grid in pixel space (y up in exactextract's convention): flip rows.
    flipped = shapely.affinity.affine_transform(poly_px, [1, 0, 0, -1, 0, height])
    src = NumPyRasterSource(np.broadcast_to(np.zeros((1, 1), np.uint8), (height, width)), 0, 0, width, height)
    feat = [{"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(flipped)}]
    res = exactextract.exact_extract(src, feat, ["cell_id", "coverage"], output="geojson")
    props = res[0]["properties"]
    ids = np.asarray(props["cell_id"], dtype=np.int64)
    frac = np.asarray(props["coverage"], dtype=np.float64)
    keep = frac > 0
    ids, frac = ids[keep], frac[keep]
    return ids // width, ids % width, frac


def _coverage_exact(poly_px, width: int, height: int):
    """Exact coverage without exactextract: rasterise the interior, intersect boundary pixels as squares."""
    minx, miny, maxx, maxy = poly_px.bounds
    c0, r0 = max(math.floor(minx), 0), max(math.floor(miny), 0)
    c1, r1 = min(math.ceil(maxx), width), min(math.ceil(maxy), height)
    if c1 <= c0 or r1 <= r0:
        empty = np.array([], dtype=np.int64)
        return empty, empty, np.array([], dtype=np.float64)
    w, h = c1 - c0, r1 - r0
    poly = shapely.affinity.translate(poly_px, -c0, -r0)
    ident = Affine.identity()
    inside = rasterio.features.rasterize([(poly, 1)], out_shape=(h, w), transform=ident, all_touched=False, dtype="uint8")
    edge = rasterio.features.rasterize([(poly.boundary, 1)], out_shape=(h, w), transform=ident, all_touched=True, dtype="uint8")
    # Grow the boundary band by one pixel: a pixel the boundary only grazes is still intersected exactly.
    band = edge.astype(bool)
    grown = band.copy()
    grown[1:, :] |= band[:-1, :]
    grown[:-1, :] |= band[1:, :]
    grown[:, 1:] |= band[:, :-1]
    grown[:, :-1] |= band[:, 1:]
    frac = np.where(grown, 0.0, inside.astype(np.float64))
    er, ec = np.nonzero(grown)
    if er.size:
        shapely.prepare(poly)
        tile_r, tile_c = er // EDGE_TILE, ec // EDGE_TILE
        order = np.lexsort((tile_c, tile_r))
        er, ec, tile_r, tile_c = er[order], ec[order], tile_r[order], tile_c[order]
        key = tile_r * (w // EDGE_TILE + 1) + tile_c
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        ends = np.r_[starts[1:], key.size]
        for s, e in zip(starts, ends):
            tr, tc = tile_r[s], tile_c[s]
            tile = shapely.box(tc * EDGE_TILE, tr * EDGE_TILE, (tc + 1) * EDGE_TILE, (tr + 1) * EDGE_TILE)
            part = shapely.intersection(poly, tile)
            if part.is_empty:
                continue
            rr, cc = er[s:e], ec[s:e]
            boxes = shapely.box(cc, rr, cc + 1, rr + 1)
            frac[rr, cc] = shapely.area(shapely.intersection(boxes, part))
    frac = np.clip(frac, 0.0, 1.0)
    rr, cc = np.nonzero(frac > 0)
    return rr + r0, cc + c0, frac[rr, cc]


def exactextract_version() -> str | None:
    try:
        from importlib.metadata import version

        import exactextract  # noqa: F401

        return version("exactextract")
    except Exception:  # noqa: BLE001 - any import/metadata problem means "not available"
        return None


def polygon_coverage(polygon, transform: Affine, width: int, height: int, engine: str = "auto"):
    """(rows, cols, fractions) of the pixels a polygon (in the raster CRS) covers; fractions exact.

    engine: "exactextract", "exact" (shapely squares at the boundary) or "auto" (exactextract when installed).
    Returns the engine actually used as the 4th element.
    """
    _check_transform(transform)
    if polygon is None or polygon.is_empty:
        e = np.array([], dtype=np.int64)
        return e, e, np.array([], dtype=np.float64), "none"
    poly_px = _to_pixel_space(polygon, transform)
    if engine == "auto":
        engine = "exactextract" if exactextract_version() else "exact"
    if engine == "exactextract":
        r, c, f = _coverage_exactextract(poly_px, width, height)
    elif engine == "exact":
        r, c, f = _coverage_exact(poly_px, width, height)
    else:
        raise ValueError(f"unknown engine {engine!r}")
    keep = f > COVERAGE_EPS  # floating-point slivers where the boundary runs along a pixel edge
    f = np.where(f > 1 - COVERAGE_EPS, 1.0, f)
    return r[keep], c[keep], f[keep], engine


# ---------------------------------------------------------------------------
# ellipsoidal pixel areas


def _q(phi):
    s = np.sin(phi)
    es = GRS80_E * s
    return s / (1 - GRS80_E2 * s * s) + np.log((1 + es) / (1 - es)) / (2 * GRS80_E)


def lonlat_box_area_m2(lon1, lat1, lon2, lat2):
    """Exact GRS80 area of a lon/lat box (edges along meridians and parallels): b²Δλ/2·|q(φ2) − q(φ1)|."""
    dlam = np.radians(np.abs(np.asarray(lon2) - np.asarray(lon1)))
    return GRS80_B**2 * dlam / 2 * np.abs(_q(np.radians(lat2)) - _q(np.radians(lat1)))


def cell_areas_m2(crs, transform: Affine, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, str]:
    """Ellipsoidal area of each pixel (rows, cols), and a note on how it was computed."""
    crs = CRS.from_user_input(crs)
    rows = np.asarray(rows)
    cols = np.asarray(cols)
    if rows.size == 0:
        return np.array([], dtype=np.float64), ""
    if crs.is_geographic:
        r0 = int(rows.min())
        ur = np.arange(r0, int(rows.max()) + 1)
        top = transform.f + transform.e * ur
        bottom = top + transform.e
        per_row = lonlat_box_area_m2(0.0, bottom, transform.a, top)
        return per_row[rows - r0], "地理坐标栅格：每行像元按纬带闭式公式计算 GRS80 椭球面积"
    planar = abs(transform.a * transform.e)
    try:
        br, bc = rows // SCALE_BLOCK, cols // SCALE_BLOCK
        br0, bc0 = int(br.min()), int(bc.min())
        gbr, gbc = np.meshgrid(np.arange(br0, int(br.max()) + 1), np.arange(bc0, int(bc.max()) + 1), indexing="ij")
        x = transform.c + transform.a * (gbc + 0.5) * SCALE_BLOCK
        y = transform.f + transform.e * (gbr + 0.5) * SCALE_BLOCK
        lon, lat = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform(x.ravel(), y.ravel())
        scale = np.asarray(Proj(crs).get_factors(lon, lat).areal_scale, dtype=np.float64).reshape(gbr.shape)
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise ValueError("bad areal scale")
        return planar / scale[br - br0, bc - bc0], (
            f"投影栅格：像元平面面积 ÷ 投影面积比例因子（pyproj get_factors，每 {SCALE_BLOCK}×{SCALE_BLOCK} 像元块取块中心值），即椭球面积"
        )
    except Exception:  # noqa: BLE001 - projection without factors: fall back and say so
        return np.full(rows.shape, planar), "投影栅格：无法求投影比例因子，使用像元平面面积（非椭球面积，有投影变形误差）"


# ---------------------------------------------------------------------------
# shares


def _method_text(engine: str, area_note: str, ee_version: str | None) -> str:
    eng = (
        f"exactextract {ee_version}（像元方格与多边形精确相交的覆盖比例）"
        if engine == "exactextract"
        else "自实现精确算法（边界未触及的像元整格计入或不计；边界经过的像元按方格与多边形求交得覆盖比例）"
    )
    return (
        f"多边形由 CGCS2000 经纬度加密后转换到栅格坐标系；边界像元按部分覆盖计：{eng}。"
        f"面积权重：{area_note}。占比 = Σ(覆盖比例×像元面积×[所选类别]) ÷ Σ(覆盖比例×像元面积×[有效像元])；"
        "无数据像元（文件 nodata、掩膜及预设的无数据编码）不计入分母，单列为 nodata_m2。"
    )


def _stats_for(ds, preset: dict, codes: list[int], polygon_lonlat, engine: str) -> dict:
    polygon_lonlat = polygonal(dissolve(polygon_lonlat))  # GeoDataFrame / collection → (Multi)Polygon
    transform = ds.transform
    poly = polygon_to_raster_crs(polygon_lonlat, ds.crs)
    rows, cols, frac, used = polygon_coverage(poly, transform, ds.width, ds.height, engine)
    polygon_m2 = area_m2(polygon_lonlat)
    areas, area_note = cell_areas_m2(ds.crs, transform, rows, cols)
    w = frac * areas
    if rows.size:
        r0, r1, c0, c1 = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
        window = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
        data = ds.read(1, window=window, masked=True)
        vals = np.asarray(data.data)[rows - r0, cols - c0]
        mask = np.ma.getmaskarray(data)[rows - r0, cols - c0]
    else:
        vals = np.array([], dtype=np.int64)
        mask = np.array([], dtype=bool)
    nodata_codes = set(preset.get("nodata") or [])
    if ds.nodata is not None and not (isinstance(ds.nodata, float) and math.isnan(ds.nodata)):
        nodata_codes.add(ds.nodata)
    invalid = mask | np.isin(vals, list(nodata_codes))
    if np.issubdtype(vals.dtype, np.floating):
        invalid |= np.isnan(vals)
    covered = float(w.sum())
    nodata_m2 = float(w[invalid].sum())
    valid_m2 = covered - nodata_m2
    sel = ~invalid & np.isin(vals, codes)
    class_m2 = float(w[sel].sum())
    by_class = []
    vv, ww = vals[~invalid], w[~invalid]
    if vv.size:
        if np.issubdtype(vv.dtype, np.integer) and int(vv.max()) - int(vv.min()) < 1_000_000:
            lo = int(vv.min())
            sums = np.bincount((vv.astype(np.int64) - lo), weights=ww)
            present = np.flatnonzero(np.bincount(vv.astype(np.int64) - lo))
            uniq, sums = present + lo, sums[present]
        else:
            uniq, inv = np.unique(vv, return_inverse=True)
            sums = np.bincount(inv.ravel(), weights=ww)
        for code, s in zip(uniq.tolist(), sums.tolist()):
            info = preset["classes"].get(int(code)) if float(code).is_integer() else None
            by_class.append(
                {
                    "code": code,
                    "key": info["key"] if info else None,
                    "name_zh": info["name_zh"] if info else "未在预设中的编码",
                    "area_m2": s,
                    "share_pct": s / valid_m2 * 100.0 if valid_m2 else None,
                }
            )
        by_class.sort(key=lambda d: -d["area_m2"])
    outside = max(polygon_m2 - covered, 0.0)
    warnings = []
    if polygon_m2 and outside / polygon_m2 > 0.001:
        warnings.append(f"栅格未完全覆盖多边形：约{outside / 1e6:.3f}平方公里（{outside / polygon_m2 * 100:.2f}%）在栅格范围外，不计入 / raster does not cover the whole polygon")
    if nodata_m2 > 0:
        warnings.append(f"多边形内约{nodata_m2 / 1e6:.3f}平方公里为无数据像元，已从分母中扣除 / nodata pixels excluded from the denominator")
    return {
        "share_pct": class_m2 / valid_m2 * 100.0 if valid_m2 > 0 else None,
        "class_m2": class_m2,
        "valid_m2": valid_m2,
        "nodata_m2": nodata_m2,
        "covered_m2": covered,
        "polygon_m2": polygon_m2,
        "outside_raster_m2": outside,
        "n_pixels": int(rows.size),
        "n_partial_pixels": int(np.count_nonzero(frac < 1.0)),
        "by_class": by_class,
        "engine": used,
        "area_note": area_note,
        "warnings": warnings,
    }


def _raster_info(ds, preset: dict) -> dict:
    tags = ds.tags()
    crs = CRS.from_user_input(ds.crs) if ds.crs else None
    epsg = crs.to_epsg() if crs else None
    return {
        "path": Path(ds.name).name if getattr(ds, "name", None) else None,  # the file, not where it lives on the server
        "crs": f"EPSG:{epsg}" if epsg else (crs.to_wkt() if crs else None),
        "pixel_size": [abs(ds.transform.a), abs(ds.transform.e)],
        "width": ds.width,
        "height": ds.height,
        "nodata_value": ds.nodata,
        "preset": preset["name"],
        "preset_name_zh": preset.get("name_zh"),
        "is_demo": str(tags.get(DEMO_TAG, "")).lower() in ("1", "true", "yes"),
        "raster_note": tags.get("NOTE_ZH") or tags.get("TIFFTAG_IMAGEDESCRIPTION"),
    }


def class_shares(raster_path, polygons: dict, preset=None, classes=("forest",), engine: str = "auto") -> dict:
    """class_share for several polygons against one raster (opened once): {name: result}."""
    with rasterio.open(raster_path) as ds:
        if ds.crs is None:
            raise DataError(f"栅格没有坐标系：{raster_path}", f"raster has no CRS: {raster_path}")
        _check_transform(ds.transform)
        preset_d = resolve_preset(preset or ds.tags().get("LANDCOVER_PRESET"))
        codes = class_codes(preset_d, classes)
        info = _raster_info(ds, preset_d)
        ee = exactextract_version()
        out = {}
        for name, poly in polygons.items():
            st = _stats_for(ds, preset_d, codes, poly, engine)
            res = {
                "classes": list(classes) if not isinstance(classes, (str, int)) else [classes],
                "codes": codes,
                "class_names_zh": [preset_d["classes"][c]["name_zh"] for c in codes],
                **{k: v for k, v in st.items() if k != "area_note"},
                "method": _method_text(st["engine"], st["area_note"], ee),
                **info,
            }
            out[name] = res
        return out


def class_share(raster_path, polygon_lonlat, preset=None, classes=("forest",), engine: str = "auto") -> dict:
    """Share of the given land-cover classes inside a lon/lat polygon, with fractional boundary pixels.

    preset: "worldcover", "clcd", a preset dict, or None to use the GeoTIFF tag LANDCOVER_PRESET.
    classes: class keys (forest, cropland, …), aliases, or integer codes.

    Returns {"share_pct", "class_m2", "valid_m2", "nodata_m2", "covered_m2", "polygon_m2",
    "outside_raster_m2", "n_pixels", "n_partial_pixels", "by_class": [{code, key, name_zh, area_m2,
    share_pct}], "classes", "codes", "class_names_zh", "engine", "method", "warnings", "path", "crs",
    "pixel_size", "width", "height", "nodata_value", "preset", "preset_name_zh", "is_demo", "raster_note"}.
    Areas are ellipsoidal m² (GRS80); share_pct = class_m2 / valid_m2 × 100.
    """
    return class_shares(raster_path, {"polygon": polygon_lonlat}, preset, classes, engine)["polygon"]
