"""Ellipsoidal area against closed forms computed by hand, independent of pyproj."""
import math

import pytest
import shapely

from geo.area import area_m2, area_summary

A = 6378137.0
F = 1 / 298.257222101
E2 = F * (2 - F)
E = math.sqrt(E2)
B = A * (1 - F)


def zone_area(lat1, lat2, dlon_deg):
    """Area of the band between two parallels on the GRS80 ellipsoid (authalic closed form)."""
    def q(phi):
        s = math.sin(math.radians(phi))
        return s / (1 - E2 * s * s) + math.log((1 + E * s) / (1 - E * s)) / (2 * E)

    return B * B * math.radians(dlon_deg) / 2 * (q(lat2) - q(lat1))


@pytest.mark.parametrize("lat", [0.0, 29.5, 31.0, 45.0])
def test_small_box_matches_band_formula(lat):
    box = shapely.box(106.0, lat, 106.01, lat + 0.01)
    expected = zone_area(lat, lat + 0.01, 0.01)
    assert area_m2(box) == pytest.approx(expected, rel=1e-6)


def test_orientation_and_holes():
    outer = shapely.box(106.0, 29.0, 106.02, 29.02)
    hole = shapely.box(106.005, 29.005, 106.015, 29.015)
    ring_poly = shapely.Polygon(outer.exterior.coords[::-1], [hole.exterior.coords])  # clockwise shell, same-sense hole
    expected = zone_area(29.0, 29.02, 0.02) - zone_area(29.005, 29.015, 0.01)
    assert area_m2(ring_poly) == pytest.approx(expected, rel=1e-6)


def test_multipolygon_sums_parts_and_points_have_no_area():
    a = shapely.box(106.0, 29.0, 106.01, 29.01)
    b = shapely.box(106.1, 29.0, 106.11, 29.01)
    assert area_m2(shapely.MultiPolygon([a, b])) == pytest.approx(2 * zone_area(29.0, 29.01, 0.01), rel=1e-6)
    assert area_m2(shapely.Point(106, 29)) == 0.0


def test_units():
    s = area_summary(shapely.box(106.0, 29.0, 106.01, 29.01))
    assert s["area_ha"] == pytest.approx(s["area_m2"] / 10_000, abs=1e-3)
    assert s["area_mu"] == pytest.approx(s["area_m2"] * 15 / 10_000, abs=0.01)
    assert s["area_km2"] == pytest.approx(s["area_m2"] / 1e6, abs=1e-4)
