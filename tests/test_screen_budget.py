"""One site's screening has a time budget (SCREEN_BUDGET_SECONDS): the search area of a complex site is built in
n log n (a capsule per edge) and, for large sites, in a child process killed when the budget is spent; what cannot
finish is a 413 naming the setting, while other requests are answered. Shapes come from the generators below."""
import time

import numpy as np
import pytest
import shapely
import shapely.geometry

from conftest import with_healthz_meanwhile
from geo import deadline, geos_work
from geo.errors import TooLargeError


def star(n: int, lon: float = 0.0, lat: float = 0.0, r: float = 1000.0):
    """A valid polygon of n/2 spikes half its radius deep: GEOS's own buffer of it grows with n² (every arc of the
    offset curve crosses every other), 1,000 vertices by 5 km took 4 s."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rr = r * (1 - 0.5 * (np.arange(n) % 2))
    return shapely.Polygon(np.c_[lon + rr * np.cos(t), lat + rr * np.sin(t)])


@pytest.mark.parametrize("n", [301, 1000])
@pytest.mark.parametrize("distance_m", [100.0, 5000.0])
def test_the_capsule_sum_is_the_buffer(n, distance_m):
    site = star(n)
    exact = shapely.buffer(site, distance_m, quad_segs=16)  # GEOS's own buffer, the reference
    fast = geos_work.buffer(site, distance_m, quad_segs=16)
    assert fast.is_valid and fast.symmetric_difference(exact).area / exact.area < 1e-3  # the arcs' discretisation only


def test_holes_lines_points_and_many_parts():
    ring = shapely.Polygon(star(400).exterior.coords, [star(400, r=600).exterior.coords[::-1]])
    assert ring.is_valid
    for geom, d in [(ring, 50.0), (ring, 500.0),  # a 50 m buffer keeps most of the hole; 500 m fills it
                    (shapely.LineString(np.c_[np.arange(500.0), 30 * (np.arange(500) % 2)]), 40.0),
                    (shapely.MultiPoint(np.c_[np.arange(400.0) * 10, np.zeros(400)]), 25.0),
                    (shapely.MultiPolygon([shapely.box(i * 30, 0, i * 30 + 20, 20) for i in range(150)]), 100.0)]:
        exact = shapely.buffer(geom, d, quad_segs=16)
        fast = geos_work.buffer(geom, d, quad_segs=16)
        assert fast.symmetric_difference(exact).area / exact.area < 1e-3, geom.geom_type


def test_a_parts_crossing_after_projection_is_repaired_before_the_union():
    bowtie = shapely.Polygon([(0, 0), (400, 400), (400, 0), (0, 400)] * 100)  # invalid part: as a projection may leave
    multi = shapely.MultiPolygon([bowtie, shapely.box(1000, 0, 1200, 200)])
    out = geos_work.buffer(multi, 100.0)
    exact = shapely.buffer(shapely.make_valid(multi, method="structure"), 100.0, quad_segs=16)  # both bow triangles
    assert out.is_valid and out.symmetric_difference(exact).area / exact.area < 1e-3


def test_large_work_is_killed_at_the_budget():
    started = time.monotonic()
    with pytest.raises(geos_work.OverBudget):
        geos_work.run_bounded("buffer", star(40_000), 1.0, distance_m=5000.0, quad_segs=16)
    assert time.monotonic() - started < 1.0 + geos_work.CHILD_START_S + 2.0
    done = geos_work.run_bounded("buffer", star(3000), 30.0, distance_m=100.0, quad_segs=16)  # in the child, finished
    assert done.symmetric_difference(geos_work.buffer(star(3000), 100.0)).area < 1.0


def test_the_deadline_names_its_setting():
    with deadline.within(0.05):
        deadline.check()
        time.sleep(0.1)
        assert deadline.remaining() == 0.0
        with pytest.raises(TooLargeError) as info:
            deadline.check()
    assert "SCREEN_BUDGET_SECONDS" in info.value.message_zh and "0.05 秒" in info.value.message_zh
    assert deadline.remaining() == deadline.UNSET_S  # outside any budget
    deadline.check()


def test_a_complex_site_is_refused_within_the_budget_while_others_are_answered(make_app):
    client = make_app(RATE_LIMIT_PER_MINUTE=100_000, SCREEN_BUDGET_SECONDS=2).test_client()
    heavy = star(40_000, 105.72, 29.70, r=0.01)  # valid, within the vertex limit: GEOS's buffer would run for minutes
    resp, elapsed, answered = with_healthz_meanwhile(client, lambda: client.post("/api/screen", json={"geometry": shapely.geometry.mapping(heavy)}))
    body = resp.get_json()
    assert resp.status_code == 413 and "SCREEN_BUDGET_SECONDS" in body["error"] and "SCREEN_BUDGET_SECONDS" in body["error_en"]
    assert elapsed < 15  # the 2 s budget, the child's start and the steps before it, not minutes
    assert answered == [200]


def test_a_complex_site_within_the_budget_is_answered_as_a_simple_one(make_app):
    """A 1,500-vertex star answered (GEOS's own buffer of it takes ~10 s at 5 km): its search area equals GEOS's."""
    client = make_app(RATE_LIMIT_PER_MINUTE=100_000).test_client()
    site = star(1500, 105.72, 29.70, r=0.01)
    resp = client.post("/api/screen", json={"geometry": shapely.geometry.mapping(site), "crs": "EPSG:4490"})
    assert resp.status_code == 200, resp.get_json()
    layer = resp.get_json()["layers"][0]
    from conftest import to_gk
    exact_km2 = shapely.buffer(to_gk(site), layer["coverage"]["radius_m"], quad_segs=16).area / 1e6
    assert layer["coverage"]["search_area_km2"] == pytest.approx(exact_km2, rel=2e-3)  # plane vs ellipsoid: ≤ 0.1 %
