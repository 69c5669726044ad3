"""Screening arithmetic on hand-built layers, against closed forms and pyproj Geod."""
import geopandas as gpd
import pytest
import shapely
from pyproj import Geod

from geo.screening import DEFAULT_BANDS_M, LocalFrame, index_kind, screen_kind, verdict
from test_area import zone_area

GEOD = Geod(ellps="GRS80")


def make_kind(boxes, key="redline", extra=None):
    rows = []
    for i, b in enumerate(boxes):
        row = {"feature_id": f"f{i}", "name": f"区块{i}", "is_demo": 1, "adcode": "500111", "function": "水源涵养",
               "geometry": shapely.box(*b)}
        row.update((extra or [{}] * len(boxes))[i])
        rows.append(row)
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=4490)
    return index_kind(key, "生态保护红线", gdf, ("function", "adcode", "zone"))


def run(kind, site, bands=DEFAULT_BANDS_M, group_by=None):
    c = site.centroid
    frame = LocalFrame(c.x, c.y)
    from geo.area import area_m2

    return screen_kind(kind, site, area_m2(site), frame, frame.to_m(site), bands, group_by)


def test_partial_overlap_area_matches_band_formula():
    kind = make_kind([(105.70, 29.60, 105.72, 29.62)])
    site = shapely.box(105.71, 29.605, 105.73, 29.615)  # half of the site is inside
    out = run(kind, site)
    hit = out["hits"][0]
    expected = zone_area(29.605, 29.615, 0.01)
    assert hit["relation"] == "intersects"
    assert hit["overlap_m2"] == pytest.approx(expected, rel=1e-3)
    assert hit["overlap_pct_of_site"] == pytest.approx(50.0, abs=0.05)
    assert hit["distance_m"] == 0


def test_overlapping_features_are_dissolved_before_the_total():
    kind = make_kind([(105.70, 29.60, 105.72, 29.62), (105.71, 29.60, 105.73, 29.62)])
    site = shapely.box(105.705, 29.605, 105.725, 29.615)
    out = run(kind, site)
    naive = sum(h["overlap_m2"] for h in out["hits"])
    expected_union = zone_area(29.605, 29.615, 0.02)  # the whole site is covered once
    assert out["total_overlap_m2"] == pytest.approx(expected_union, rel=1e-3)
    assert naive > out["total_overlap_m2"] * 1.4
    assert out["total_overlap_pct_of_site"] == pytest.approx(100.0, abs=0.01)


def test_within_near_and_beyond_bands():
    kind = make_kind([(105.70, 29.60, 105.72, 29.62), (105.70, 29.63, 105.72, 29.64), (105.70, 29.80, 105.72, 29.81)])
    site = shapely.box(105.705, 29.605, 105.715, 29.615)
    out = run(kind, site)
    by = {h["id"]: h for h in out["hits"]}
    assert by["f0"]["relation"] == "within" and by["f0"]["overlap_pct_of_site"] == pytest.approx(100.0, abs=0.01)
    assert by["f1"]["relation"] == "near"
    _, _, d = GEOD.inv(105.71, 29.615, 105.71, 29.63)  # meridian gap between the facing edges
    assert by["f1"]["distance_m"] == pytest.approx(d, rel=1e-3)
    assert by["f1"]["distance_band"] == "≤5000 m"
    assert "f2" not in by  # ~20 km away: beyond the 5 km band


def test_east_west_distance_is_geodesic():
    kind = make_kind([(105.80, 29.60, 105.81, 29.61)])
    site = shapely.Point(105.79, 29.605)
    out = run(kind, site)
    _, _, d = GEOD.inv(105.79, 29.605, 105.80, 29.605)
    assert out["hits"][0]["distance_m"] == pytest.approx(d, rel=1e-3)
    assert out["hits"][0]["distance_band"] == "≤1000 m"


def test_point_inside_is_within_and_whole():
    kind = make_kind([(105.70, 29.60, 105.72, 29.62)])
    out = run(kind, shapely.Point(105.71, 29.61))
    hit = out["hits"][0]
    assert hit["relation"] == "within" and hit["overlap_pct_of_site"] == 100.0 and hit["overlap_m2"] == 0


def test_verdict_sentences_by_zone_level():
    zones = make_kind([(105.70, 29.60, 105.72, 29.62), (105.69, 29.59, 105.73, 29.63)], key="water_source_zone",
                      extra=[{"zone": "一级保护区"}, {"zone": "二级保护区"}])
    zones.name_zh = "饮用水水源保护区"
    site = shapely.box(105.725, 29.605, 105.735, 29.615)  # in 二级 only, 500 m from 一级
    out = run(zones, site, group_by="zone")
    v = verdict([out], 1.0e6)
    assert v["level"] == "涉及"
    assert any(line.startswith("涉及饮用水水源二级保护区") for line in v["lines"])
    assert any(line.startswith("不涉及饮用水水源一级保护区；距最近") for line in v["lines"])


def test_batch_engine_agrees_with_the_per_site_engine(app):
    """Random points over 大足: same containing feature and the same geodesic distance (±0.1 m)."""
    import numpy as np

    from geo.screening import screen_points

    kinds = list(app.extensions["services"].live.get().screening.kinds.values())
    rng = np.random.default_rng(7)
    lons, lats = rng.uniform(105.5, 106.0, 300), rng.uniform(29.4, 29.85, 300)
    batch = screen_points(kinds, lons, lats, 5000)
    for kind in kinds:
        for i in range(0, 300, 3):
            p = shapely.Point(lons[i], lats[i])
            frame = LocalFrame(p.x, p.y)
            one = screen_kind(kind, p, 0.0, frame, frame.to_m(p), DEFAULT_BANDS_M)
            best = min(one["hits"], key=lambda h: h["distance_m"], default=None)
            d = batch[kind.key]["distance_m"][i]
            if best is None:
                assert np.isnan(d)
            else:
                assert d == pytest.approx(best["distance_m"], abs=0.11)
                if best["relation"] != "near":
                    assert batch[kind.key]["within"][i] >= 0
