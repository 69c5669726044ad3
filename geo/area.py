"""Ellipsoidal measures on GRS80 (CGCS2000), the way 国土调查 reports 图斑椭球面积.

Planar area in lon/lat degrees or in Web Mercator is wrong for reporting; the reported area is
geodesic on the ellipsoid and says so (METHOD_AREA). Beside it, the Gauss-Krüger plane area in
the site's 3° zone (plane_area_m2, METHOD_PLANE_AREA) is what survey reports and 界址点 files
state, so a reviewer can compare like with like; lengths of linear sites are geodesic (length_m).
"""
from __future__ import annotations

import shapely

from geo.crs import GEO_EPSG, GEOD, reproject

METHOD_AREA = "椭球面积：CGCS2000/GRS80 椭球面上的测地线多边形面积（pyproj.Geod，Karney 算法） / ellipsoidal geodesic area on GRS80"
M2_PER_KM2 = 1_000_000.0
M2_PER_HA = 10_000.0
M2_PER_MU = 10_000.0 / 15.0
METHOD_PLANE_AREA = ("投影面积：项目所在 CGCS2000 高斯-克吕格 3° 带平面上的面积（坐标转换到该带后按平面多边形计算）；"
                     "勘测定界报告、界址点文件标注的面积都是这种平面面积，与之核对应看投影面积 / "
                     "plane area in the site's Gauss-Krüger 3° zone (what survey reports and 界址点 files state)")
METHOD_LENGTH = "线路长度：CGCS2000/GRS80 椭球面上的测地线长度（pyproj.Geod.geometry_length） / geodesic length on GRS80"


def area_m2(geom) -> float:
    """Ellipsoidal area of a lon/lat (Multi)Polygon in m²; 0 for points and lines."""
    if geom is None or geom.is_empty:
        return 0.0
    if geom.geom_type == "GeometryCollection":
        return sum(area_m2(g) for g in geom.geoms)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return 0.0
    # pyproj adds interior rings with their own sign: orient exteriors CCW, holes CW. Ring by ring, in the order and
    # with the sums of Geod.geometry_area_perimeter (the same float), from numpy coordinates (no .xy copies).
    total = 0.0
    for poly in shapely.get_parts(shapely.orient_polygons(geom)):
        rings = shapely.get_rings(poly)
        area = _ring_area(rings[0])
        for hole in rings[1:]:
            area += _ring_area(hole)
        total += area
    return abs(total)


def _ring_area(ring) -> float:
    xy = shapely.get_coordinates(ring)
    return GEOD.polygon_area_perimeter(xy[:, 0], xy[:, 1])[0]


def _polygonal(geom):
    """The (Multi)Polygon parts of a geometry, None when it has none."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def plane_area_m2(geom, epsg: int) -> float:
    """Plane area in m² of a lon/lat (Multi)Polygon transformed to a projected CRS (a Gauss-Krüger
    zone): the area survey reports (勘测定界) and 界址点 files state. 0 for points and lines."""
    poly = _polygonal(geom)
    if poly is None:
        return 0.0
    return float(reproject(poly, GEO_EPSG, epsg).area)


def length_m(geom) -> float:
    """Geodesic length in m of the linear parts of a lon/lat geometry on GRS80; 0 for points and polygons."""
    if geom is None or geom.is_empty:
        return 0.0
    lines = [p for p in shapely.get_parts(geom) if p.geom_type in ("LineString", "LinearRing")]
    return float(sum(GEOD.geometry_length(p) for p in lines))


def area_summary(geom, plane_epsg: int | None = None) -> dict:
    """Ellipsoidal area in m², km², ha and mu; with plane_epsg also the plane area in that CRS."""
    m2 = area_m2(geom)
    out = {
        "area_m2": round(m2, 2),
        "area_km2": round(m2 / M2_PER_KM2, 4),
        "area_ha": round(m2 / M2_PER_HA, 4),
        "area_mu": round(m2 / M2_PER_MU, 2),
    }
    if plane_epsg is not None:
        plane = plane_area_m2(geom, plane_epsg)
        out.update({"plane_area_m2": round(plane, 2), "plane_area_ha": round(plane / M2_PER_HA, 4),
                    "plane_area_mu": round(plane / M2_PER_MU, 2)})
    return out
