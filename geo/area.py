"""Ellipsoidal measures on GRS80 (CGCS2000), the way 国土调查 reports 图斑椭球面积.

Planar area in lon/lat degrees or in a conformal projection is wrong for reporting;
every figure here is geodesic on the ellipsoid and says so (METHOD_AREA).
"""
from __future__ import annotations

import shapely

from geo.crs import GEOD

METHOD_AREA = "椭球面积：CGCS2000/GRS80 椭球面上的测地线多边形面积（pyproj.Geod，Karney 算法） / ellipsoidal geodesic area on GRS80"
M2_PER_KM2 = 1_000_000.0
M2_PER_HA = 10_000.0
M2_PER_MU = 10_000.0 / 15.0


def area_m2(geom) -> float:
    """Ellipsoidal area of a lon/lat (Multi)Polygon in m²; 0 for points and lines."""
    if geom is None or geom.is_empty:
        return 0.0
    if geom.geom_type == "GeometryCollection":
        return sum(area_m2(g) for g in geom.geoms)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return 0.0
    # pyproj adds interior rings with their own sign: orient exteriors CCW, holes CW.
    area, _ = GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))
    return abs(area)


def area_summary(geom) -> dict:
    m2 = area_m2(geom)
    return {
        "area_m2": round(m2, 2),
        "area_km2": round(m2 / M2_PER_KM2, 4),
        "area_ha": round(m2 / M2_PER_HA, 4),
        "area_mu": round(m2 / M2_PER_MU, 2),
    }
