"""Site screening (选址合规初筛): which protected zones a site falls in or near, and by how much.

The recipe is QGIS's overlap analysis: index the layers once, query candidates with a
spatial index, test with prepared geometries, dissolve the hits of one kind before
measuring (so overlapping zones are never counted twice), and measure on the ellipsoid.
Distances are geodesic, edge to edge: the nearest pair of points is found in the site's
Gauss-Krüger zone, then measured on the ellipsoid with Geod.inv.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
import shapely
from shapely.ops import nearest_points

from geo import vocabulary
from geo.area import M2_PER_HA, METHOD_AREA, area_m2, area_summary
from geo.crs import GEO_EPSG, GEOD, gk3_epsg, gk3_zone, lonlat_to_gk3, transformer

DEFAULT_BANDS_M = (0, 100, 500, 1000, 5000)
METHOD_DISTANCE = "测地线距离：站点边界到要素边界的最短距离（在所在 3° 带高斯投影中求最近点对，再以 GRS80 椭球 Geod.inv 量距）/ geodesic edge-to-edge distance"
METHOD_OVERLAP = "同类要素先融合（dissolve）再与项目求交，椭球面积 / overlaps dissolved per layer kind before measuring"
CAVEAT = "初筛结果，以主管部门审定的矢量数据为准。示意数据图层仅供演示，不能作为审查依据。"
CHINA_TZ = timezone(timedelta(hours=8))


@dataclass
class IndexedKind:
    """One layer kind over all districts, indexed once: the hot path only queries."""

    key: str
    name_zh: str
    ids: np.ndarray
    names: np.ndarray
    attrs: list[dict]
    geoms: np.ndarray
    tree: shapely.STRtree
    is_demo: bool
    projected: dict = field(default_factory=dict)  # GK EPSG -> features in that zone's metres, built on first use

    def in_frame(self, frame: "LocalFrame") -> np.ndarray:
        if frame.epsg not in self.projected:
            self.projected[frame.epsg] = np.array([frame.to_m(g) for g in self.geoms], dtype=object)
        return self.projected[frame.epsg]

    def edge_chunks(self, frame: "LocalFrame", size: int = 8):
        """Feature edges cut into short lines with an STRtree: nearest-edge queries stay cheap
        however many vertices a red-line polygon has. Returns (chunks, owner feature index, tree)."""
        key = ("chunks", frame.epsg)
        if key not in self.projected:
            chunks, owner = [], []
            for i, g in enumerate(self.in_frame(frame)):
                edges = g if g.geom_type in ("Point", "MultiPoint") else g.boundary
                for part in shapely.get_parts(edges):
                    xy = shapely.get_coordinates(part)
                    if part.geom_type == "Point" or len(xy) < 2:
                        chunks.append(part)
                        owner.append(i)
                        continue
                    for start in range(0, len(xy) - 1, size):
                        chunks.append(shapely.LineString(xy[start:start + size + 1]))
                        owner.append(i)
            chunks = np.array(chunks, dtype=object)
            self.projected[key] = (chunks, np.array(owner, dtype=np.int64), built_tree(chunks))
        return self.projected[key]


def index_kind(key: str, name_zh: str, gdf, attr_columns: tuple[str, ...]) -> IndexedKind:
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    # Not prepared: GEOS prepared geometries build their indexes lazily and are not safe to share
    # between the server's request threads (libgeos/geos#825). Each request prepares its own site.
    attrs = [{c: _plain(row[c]) for c in attr_columns if c in gdf.columns} for _, row in gdf.iterrows()]
    return IndexedKind(key, name_zh, gdf["feature_id"].to_numpy(), gdf["name"].to_numpy(), attrs, geoms,
                       built_tree(geoms), bool(gdf["is_demo"].astype(bool).any()) if len(gdf) else False)


def built_tree(geoms) -> shapely.STRtree:
    """An STRtree whose index is built now: GEOS builds it lazily on the first query, which is
    a race when that query comes from several request threads at once."""
    tree = shapely.STRtree(geoms)
    tree.query(shapely.box(0, 0, 0, 0))
    return tree


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def _search_box(geom, distance_m: float):
    """Lon/lat envelope of geom grown by at least distance_m in every direction."""
    minx, miny, maxx, maxy = geom.bounds
    lat = max(abs(miny), abs(maxy))
    dlat = distance_m / 110_500 * 1.05
    dlon = distance_m / (111_320 * max(math.cos(math.radians(lat)), 0.05)) * 1.05
    return shapely.box(minx - dlon, miny - dlat, maxx + dlon, maxy + dlat)


class LocalFrame:
    """The site's Gauss-Krüger 3° zone, used only to find the nearest pair of points.

    Conformal, so nearest-point search is faithful (scale error ≤ 0.035 % within a zone);
    the distance itself is then measured geodesically between that pair. Transformers are
    cached per zone, so no CRS object is built per request.
    """

    def __init__(self, lon: float, lat: float):
        self.epsg = gk3_epsg(gk3_zone(lon))
        self.fwd = transformer(GEO_EPSG, self.epsg)
        self.inv = transformer(self.epsg, GEO_EPSG)

    def to_m(self, geom):
        return shapely.transform(geom, lambda xy: np.column_stack(self.fwd.transform(xy[:, 0], xy[:, 1])))

    def distance_m(self, site_m, feature_m) -> float:
        a, b = nearest_points(site_m, feature_m)
        (lon1, lon2), (lat1, lat2) = self.inv.transform([a.x, b.x], [a.y, b.y])
        return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def band_label(distance_m: float, bands_m) -> str:
    for b in bands_m:
        if distance_m <= b:
            return "相交或接触" if b == 0 else f"≤{b:g} m"
    return f">{bands_m[-1]:g} m"


def screen_kind(kind: IndexedKind, site, site_area_m2: float, frame: LocalFrame, site_m, bands_m, group_by: str | None = None) -> dict:
    max_band = bands_m[-1]
    idx = kind.tree.query(_search_box(site, max_band), predicate="intersects")
    shapely.prepare(site)  # the request's own geometry: prepared here, used by this thread only
    hits, touching = [], []
    projected = kind.in_frame(frame) if len(idx) else None
    for i in idx:
        feat = kind.geoms[i]
        if shapely.intersects(site, feat):
            relation = "within" if shapely.covers(feat, site) else "intersects"
            overlap = shapely.intersection(feat, site)
            overlap_m2 = area_m2(overlap)
            distance_m = 0.0
            touching.append(i)
        else:
            distance_m = frame.distance_m(site_m, projected[i])
            if distance_m > max_band:
                continue
            relation, overlap, overlap_m2 = "near", None, 0.0
        hits.append({
            "id": str(kind.ids[i]),
            "name": str(kind.names[i]),
            "relation": relation,
            "overlap_m2": round(overlap_m2, 2),
            "overlap_ha": round(overlap_m2 / M2_PER_HA, 4),
            "overlap_pct_of_site": _pct_of_site(overlap_m2, site_area_m2, relation),
            "distance_m": round(distance_m, 1),
            "distance_band": band_label(distance_m, bands_m),
            "attributes": kind.attrs[i],
            "_overlap_geometry": overlap,  # kept out of JSON; used for the map, GeoJSON export and report
            "_feature_geometry": kind.geoms[i],
        })
    hits.sort(key=lambda h: (h["distance_m"], -h["overlap_m2"], h["name"]))
    total_m2 = _dissolved_overlap_m2(site, kind.geoms[touching])
    groups = {}
    if group_by:
        for value in sorted({kind.attrs[i].get(group_by) for i in idx}, key=str):
            members = [i for i in touching if kind.attrs[i].get(group_by) == value]
            m2 = _dissolved_overlap_m2(site, kind.geoms[members])
            groups[value] = {"total_overlap_m2": round(m2, 2), "total_overlap_ha": round(m2 / M2_PER_HA, 4),
                             "total_overlap_pct_of_site": _pct_of_site(m2, site_area_m2, "within" if members else "near")}
    return {
        "kind": kind.key,
        "name_zh": kind.name_zh,
        "is_demo": kind.is_demo,
        "hits": hits,
        "total_overlap_m2": round(total_m2, 2),
        "total_overlap_ha": round(total_m2 / M2_PER_HA, 4),
        "total_overlap_pct_of_site": _pct_of_site(total_m2, site_area_m2, "within" if touching else "near"),
        "group_by": group_by,
        "groups": groups,
        "max_band_m": max_band,
    }


def _dissolved_overlap_m2(site, geoms) -> float:
    return area_m2(shapely.intersection(site, shapely.union_all(geoms))) if len(geoms) else 0.0


def _pct_of_site(overlap_m2: float, site_area_m2: float, relation: str) -> float:
    """Share of the site's area; a point or line site (no area) is 100 % inside or 0 %."""
    if site_area_m2 > 0:
        return round(min(overlap_m2 / site_area_m2 * 100, 100.0), 3)
    return 100.0 if relation in ("within", "intersects") else 0.0


def site_summary(site, districts: list[dict], crs_info: dict, stated_area_ha: float | None = None) -> dict:
    areas = area_summary(site)
    a = areas["area_m2"]
    c = site.centroid if site.geom_type != "Point" else site
    gk = lonlat_to_gk3(c.x, c.y)
    out = {
        "geometry_type": site.geom_type,
        "area_m2": areas["area_m2"],
        "area_ha": areas["area_ha"],
        "area_mu": areas["area_mu"],
        "centroid": {"lon": round(c.x, 7), "lat": round(c.y, 7)},
        "centroid_gk3": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in gk.items()},
        "crs": crs_info,
        "districts": districts,
        "vertex_count": int(shapely.get_num_coordinates(site)),
    }
    if stated_area_ha is not None:
        out["stated_area_ha"] = stated_area_ha
        out["stated_vs_computed_pct"] = round((a / M2_PER_HA - stated_area_ha) / stated_area_ha * 100, 3) if stated_area_ha else None
    return out


def _verdict_groups(layer: dict):
    """(label, hits, dissolved overlap ha) per water-source zone level, else one per kind."""
    if layer["kind"] == "water_source_zone" and layer["hits"]:
        for zone in vocabulary.default().kinds["water_source_zone"].attribute("zone").values:
            hits = [h for h in layer["hits"] if h["attributes"].get("zone") == zone]
            if hits:
                yield f"饮用水水源{zone}", hits, layer["groups"].get(zone, {}).get("total_overlap_ha", 0.0)
    else:
        yield layer["name_zh"], layer["hits"], layer["total_overlap_ha"]


def verdict(layers: list[dict], site_area_m2: float) -> dict:
    """Plain-Chinese sentences a reviewer can paste into a review."""
    lines, involved, near = [], [], []
    for layer in layers:
        for label, hits, total_ha in _verdict_groups(layer):
            inside = [h for h in hits if h["relation"] != "near"]
            if inside:
                names = "、".join(sorted({h["name"] for h in inside})[:5])
                if site_area_m2 > 0:
                    pct = total_ha * M2_PER_HA / site_area_m2 * 100
                    lines.append(f"涉及{label} {total_ha:.2f} 公顷（占项目 {pct:.1f}%）：{names}")
                else:
                    lines.append(f"位于{label}内：{names}")
                involved.append(label)
            elif hits:
                lines.append(f"不涉及{label}；距最近{label}（{hits[0]['name']}）{hits[0]['distance_m']:.0f} m")
                near.append(label)
            else:
                lines.append(f"不涉及{label}；{layer['max_band_m'] / 1000:g} km 范围内无{label}")
    level = vocabulary.status("verdict", "involved" if involved else ("near" if near else "clear"))
    return {"level": level, "involved": involved, "near": near, "lines": lines, "summary": "；".join(lines)}


def method_block(crs_info: dict, data_info: dict, bands_m) -> dict:
    return {
        "area": METHOD_AREA,
        "distance": METHOD_DISTANCE,
        "overlap": METHOD_OVERLAP,
        "distance_bands_m": list(bands_m),
        "crs": crs_info,
        "data": data_info,
        "checked_at": datetime.now(CHINA_TZ).isoformat(timespec="seconds"),
        "caveat": CAVEAT,
    }


def screen_points(kinds: list[IndexedKind], lons: np.ndarray, lats: np.ndarray, max_band_m: float) -> dict[str, dict]:
    """Vectorised screening of many point sites: the batch engine.

    Per kind and point: the feature it lies in (first by index, -1 if none), the nearest
    feature within max_band_m, and the geodesic distance to that feature's edge (0 inside,
    NaN beyond the band). Nearest candidates come from an STRtree over short edge chunks in
    one Gauss-Krüger zone (metres); the distance is then measured on the ellipsoid between
    the nearest pair of points.
    """
    lons, lats = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
    n = len(lons)
    pts = shapely.points(lons, lats)
    frame = LocalFrame(float(np.median(lons)), float(np.median(lats))) if n else None
    pts_m = shapely.points(*frame.fwd.transform(lons, lats)) if n else pts
    out = {}
    for kind in kinds:
        within = np.full(n, -1, dtype=np.int64)
        pt_idx, feat_idx = kind.tree.query(pts, predicate="within")
        first = np.unique(pt_idx, return_index=True)
        within[first[0]] = feat_idx[first[1]]
        distance = np.where(within >= 0, 0.0, np.nan)
        nearest = within.copy()
        outside = np.flatnonzero(within < 0)
        if len(outside) and len(kind.geoms):
            chunks, owner, tree_m = kind.edge_chunks(frame)
            # search slightly wider than the band: the zone's scale error is < 0.1 %
            (p_i, c_i), _ = tree_m.query_nearest(pts_m[outside], max_distance=max_band_m * 1.002, return_distance=True)
            p_first, at = np.unique(p_i, return_index=True)
            c_first = c_i[at]
            ends = shapely.get_coordinates(shapely.shortest_line(pts_m[outside][p_first], chunks[c_first]))[1::2]
            end_lon, end_lat = frame.inv.transform(ends[:, 0], ends[:, 1])
            _, _, d = GEOD.inv(lons[outside][p_first], lats[outside][p_first], end_lon, end_lat)
            d = np.where(d <= max_band_m, d, np.nan)
            distance[outside[p_first]] = d
            nearest[outside[p_first]] = np.where(np.isnan(d), -1, owner[c_first])
        out[kind.key] = {"within": within, "nearest": nearest, "distance_m": distance}
    return out
