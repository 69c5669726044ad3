"""The demo layers: calibrated to the plans, labelled as demo, valid and inside their district."""
import pytest
import shapely
from pyproj import Geod

from conftest import ADCODES
from test_plans import REDLINE_FIGURES

GEOD = Geod(ellps="GRS80")


def ellipsoidal_km2(geom):
    return abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))[0]) / 1e6


@pytest.mark.parametrize("adcode", ADCODES)
def test_dissolved_redline_equals_plan_figure(service, adcode):
    _, area, share = REDLINE_FIGURES[adcode]
    district = service.store.read("district", adcode).geometry.union_all()
    redline = service.store.read("redline", adcode).geometry.union_all()
    redline_km2 = ellipsoidal_km2(shapely.intersection(redline, district))
    if area is not None:
        assert redline_km2 == pytest.approx(area, abs=0.01)
    else:
        assert redline_km2 / ellipsoidal_km2(district) * 100 == pytest.approx(share, abs=0.001)


@pytest.mark.parametrize("adcode", ADCODES)
def test_demo_layers_are_labelled_and_inside(service, adcode):
    district = service.store.read("district", adcode).geometry.iloc[0]
    for kind in ("redline", "water_source_zone", "protected_area", "monitoring_section"):
        gdf = service.store.read(kind, adcode)
        assert len(gdf) > 0, kind
        assert (gdf["is_demo"] == 1).all()
        assert gdf["source"].str.contains("示意").all()
        assert gdf.geometry.is_valid.all()
        assert shapely.covers(district.buffer(1e-7), gdf.geometry.values).all(), kind


@pytest.mark.parametrize("adcode", ADCODES)
def test_named_features_come_from_the_plan(service, adcode):
    plan = service.plans[adcode]
    names = set(service.store.read("protected_area", adcode)["name"])
    planned = {p["name"] for p in plan["protected_areas"]}
    # stand-ins for areas a plan counts but does not name say so in their names
    assert planned <= names and all("规划未列名" in n for n in names - planned)
    assert set(service.store.read("monitoring_section", adcode)["name"]) == {s["name"] for s in plan["monitoring_sections"]}
    sources = set(service.store.read("water_source_zone", adcode)["source_name"])
    planned = {w["name"] for w in plan["water_sources"]}
    assert planned <= sources and all("规划未列名" in n for n in sources - planned)


def test_hj338_lake_zone_radius(service):
    """An unclipped reservoir 一级 zone is the 300 m water radius plus 200 m land: a 500 m disc (≈0.785 km²)."""
    zones = service.store.read("water_source_zone", "500110")
    lakes = zones[(zones["water_body"] == "湖库") & (zones["zone"] == "一级保护区")].geometry
    assert max(ellipsoidal_km2(g) for g in lakes) == pytest.approx(3.14159 * 0.5 ** 2, rel=0.01)
