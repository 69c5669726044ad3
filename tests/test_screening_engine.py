"""Screening arithmetic on hand-built layers, against closed forms and pyproj Geod.

Also what an answer may say (issue 9): a point has no area, a sliver below the precision is
boundary contact, a line is measured by its length inside and its crossings, plane areas are
Gauss-Krüger areas, and a layer without full coverage is never "clear" (hand-made layer dicts).
"""
import inspect

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod, Proj, Transformer

from conftest import ROOT
from geo import screening, vocabulary
from geo.errors import ConfigError
from geo.screening import (DEFAULT_BANDS_M, RELATIONS, LocalFrame, check_relations, corridor_of, group_labels, index_kind, screen_kind,
                           site_summary, verdict)
from test_area import zone_area

GEOD = Geod(ellps="GRS80")
VOCAB = vocabulary.default()
WORDS = {k: v["label"] for k, v in VOCAB.statuses["verdict"].items()}


def make_kind(boxes, key="redline", extra=None):
    rows = []
    for i, b in enumerate(boxes):
        row = {"feature_id": f"f{i}", "name": f"区块{i}", "is_demo": 1, "adcode": "500111", "function": "水源涵养",
               "geometry": b if isinstance(b, shapely.Geometry) else shapely.box(*b)}
        row.update((extra or [{}] * len(boxes))[i])
        rows.append(row)
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=4490)
    return index_kind(key, "生态保护红线", gdf, ("function", "adcode", "zone"))


def run(kind, site, bands=DEFAULT_BANDS_M, group_by=None, labels=None, **options):
    c = site.centroid
    frame = LocalFrame(c.x, c.y)
    from geo.area import area_m2

    return screen_kind(kind, site, area_m2(site), frame, frame.to_m(site), bands, group_by, labels=labels, **options)


def summary_of(site, corridor=None):
    c = site.centroid
    return site_summary(site, [], {"as_read": "EPSG:4490"}, frame=LocalFrame(c.x, c.y), corridor=corridor)


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


def test_a_point_inside_has_no_area_figures():
    kind = make_kind([(105.70, 29.60, 105.72, 29.62)])
    site = shapely.Point(105.71, 29.61)
    out = run(kind, site)
    hit = out["hits"][0]
    assert hit["relation"] == "within"
    for field in ("overlap_m2", "overlap_ha", "overlap_plane_m2", "overlap_pct_of_site", "length_inside_m", "crossings"):
        assert hit[field] is None, field  # not 0 m², not 100 %
    assert out["total_overlap_m2"] is None and out["total_overlap_pct_of_site"] is None
    summary = summary_of(site)
    assert summary["site_type"] == "point"
    assert summary["area_m2"] is None and summary["plane_area_m2"] is None and summary["length_m"] is None
    v = verdict([out], summary, VOCAB)
    assert v["lines"] == ["位于生态保护红线内：区块0"] and v["level"] == WORDS["involved"]
    assert "m²" not in v["summary"] and "%" not in v["summary"] and "公顷" not in v["summary"]


def test_a_point_outside_says_the_distance():
    kind = make_kind([(105.80, 29.60, 105.81, 29.61)])
    site = shapely.Point(105.79, 29.605)
    out = run(kind, site)
    _, _, d = GEOD.inv(105.79, 29.605, 105.80, 29.605)
    v = verdict([out], summary_of(site), VOCAB)
    assert v["lines"] == [f"临近生态保护红线：未涉及，距最近的生态保护红线（区块0）{d:.0f} m"]
    assert out["hits"][0]["overlap_pct_of_site"] is None


# ------------------------------------------------------------------ slivers: boundary contact (边界接触)

SLIVER_FEATURE = (105.70, 29.60, 105.72, 29.62)


def sliver_site(target_m2: float):
    """A site reaching across the feature's east edge (lon 105.72) by exactly target_m2 (band formula)."""
    dlon = target_m2 / zone_area(29.605, 29.615, 1.0)  # the band area is linear in the longitude span
    return shapely.box(105.72 - dlon, 29.605, 105.73, 29.615)


def test_a_0_2_m2_sliver_is_boundary_contact_not_involvement():
    kind = make_kind([SLIVER_FEATURE])
    site = sliver_site(0.2)
    out = run(kind, site, sliver_m2=1.0)
    hit = out["hits"][0]
    assert hit["relation"] == "contact"
    assert hit["overlap_m2"] == pytest.approx(0.2, abs=0.005)
    assert out["total_overlap_m2"] == pytest.approx(0.2, abs=0.005)
    v = verdict([out], summary_of(site), VOCAB)
    assert v["level"] == WORDS["contact"] == "边界接触"
    assert v["lines"] == ["与生态保护红线边界接触（重叠 0.20 m²，小于精度 1 m²）：区块0"]
    assert v["contact"] == ["生态保护红线"] and v["involved"] == []
    assert not any(line.startswith("涉及") for line in v["lines"])


def test_the_precision_is_a_setting_and_an_exact_touch_is_contact():
    kind = make_kind([SLIVER_FEATURE])
    finer = run(kind, sliver_site(0.2), sliver_m2=0.1)
    assert finer["hits"][0]["relation"] == "intersects"
    assert verdict([finer], summary_of(sliver_site(0.2)), VOCAB)["lines"][0].startswith("涉及生态保护红线 0.20 m²（占项目")
    touch = shapely.box(105.72, 29.605, 105.73, 29.615)  # shares the edge, no area in common
    out = run(kind, touch)
    assert out["hits"][0]["relation"] == "contact" and out["hits"][0]["distance_m"] == 0
    assert verdict([out], summary_of(touch), VOCAB)["lines"] == ["与生态保护红线边界接触（仅边界相接，无重叠面积）：区块0"]
    big = run(kind, sliver_site(5000.0))  # 0.5 ha: involvement, stated in hectares
    assert big["hits"][0]["relation"] == "intersects"
    assert verdict([big], summary_of(sliver_site(5000.0)), VOCAB)["lines"][0].startswith("涉及生态保护红线 0.50 公顷")


# ------------------------------------------------------------------ linear sites

# a U open to the north: a line along 29.61°N crosses its west arm (105.70–105.71) and its east arm (105.72–105.73)
U_SHAPE = shapely.box(105.70, 29.60, 105.73, 29.62).difference(shapely.box(105.71, 29.605, 105.72, 29.625))
LINE = shapely.LineString([(105.69, 29.61), (105.74, 29.61)])


def test_a_line_crossing_a_red_line_twice():
    kind = make_kind([U_SHAPE])
    out = run(kind, LINE)
    # the intersection built by hand: two runs along the parallel, between the arms' meridian edges
    runs = [shapely.LineString([(105.70, 29.61), (105.71, 29.61)]), shapely.LineString([(105.72, 29.61), (105.73, 29.61)])]
    inside = sum(GEOD.geometry_length(r) for r in runs)
    total = GEOD.geometry_length(LINE)
    hit = out["hits"][0]
    assert hit["relation"] == "intersects" and hit["crossings"] == 2
    assert hit["length_inside_m"] == pytest.approx(inside, abs=0.01)
    assert out["total_crossings"] == 2
    assert out["total_length_inside_m"] == pytest.approx(inside, abs=0.01)
    assert out["total_length_pct_of_line"] == pytest.approx(inside / total * 100, abs=1e-3)
    assert hit["overlap_m2"] is None and hit["overlap_pct_of_site"] is None and out["total_overlap_m2"] is None
    summary = summary_of(LINE)
    assert summary["site_type"] == "line" and summary["length_m"] == pytest.approx(total, abs=0.01)
    assert summary["area_m2"] is None and summary["plane_area_m2"] is None
    v = verdict([out], summary, VOCAB)
    assert v["lines"] == [f"穿越生态保护红线 2 处，线路长度 {inside:.0f} m（占线路 {inside / total * 100:.1f}%）：区块0"]
    assert v["level"] == WORDS["involved"]


def test_crossings_are_counted_on_the_dissolved_zone():
    """Two overlapping features along the line: one run inside their union, not two."""
    kind = make_kind([(105.70, 29.60, 105.715, 29.62), (105.71, 29.60, 105.725, 29.62)])
    out = run(kind, LINE)
    inside = GEOD.geometry_length(shapely.LineString([(105.70, 29.61), (105.725, 29.61)]))
    assert out["total_crossings"] == 1
    assert out["total_length_inside_m"] == pytest.approx(inside, abs=0.01)
    assert sum(h["length_inside_m"] for h in out["hits"]) > out["total_length_inside_m"] * 1.1  # the naive sum double counts


def test_a_line_wholly_inside_and_a_line_touching_only():
    kind = make_kind([(105.68, 29.60, 105.75, 29.62)])
    out = run(kind, LINE)
    assert out["hits"][0]["relation"] == "within" and out["total_length_pct_of_line"] == 100.0 and out["total_crossings"] == 1
    assert verdict([out], summary_of(LINE), VOCAB)["lines"][0] == f"线路全线位于生态保护红线内（{GEOD.geometry_length(LINE):.0f} m）：区块0"
    touching = make_kind([(105.70, 29.61, 105.72, 29.62)])
    edge = run(touching, shapely.LineString([(105.71, 29.60), (105.71, 29.61)]))  # ends on the south edge: 0 m inside
    assert edge["hits"][0]["relation"] == "contact" and edge["total_crossings"] == 0
    line = verdict([edge], summary_of(shapely.LineString([(105.71, 29.60), (105.71, 29.61)])), VOCAB)["lines"][0]
    assert line == "与生态保护红线边界接触（线路仅与边界相交或相接，未进入）：区块0"


def test_a_corridor_is_screened_as_a_polygon_beside_the_line():
    kind = make_kind([U_SHAPE])
    frame = LocalFrame(LINE.centroid.x, LINE.centroid.y)
    corridor = corridor_of(LINE, frame, 100.0)
    out = run(kind, LINE, corridor=corridor)
    # independently: the corridor as a rectangle in the GK zone (flat ends), back to lon/lat with pyproj
    fwd = Transformer.from_crs(4490, frame.epsg, always_xy=True)
    inv = Transformer.from_crs(frame.epsg, 4490, always_xy=True)
    (x0, x1), (y0, y1) = fwd.transform([105.69, 105.74], [29.61, 29.61])
    length_gk = float(np.hypot(x1 - x0, y1 - y0))
    summary = summary_of(LINE, corridor)
    assert summary["corridor"]["plane_area_m2"] == pytest.approx(100.0 * length_gk, abs=0.01)  # width × length, exactly
    rect = shapely.LineString([(x0, y0), (x1, y1)]).buffer(50, cap_style="flat")
    rect_ll = shapely.transform(rect, lambda xy: np.column_stack(inv.transform(xy[:, 0], xy[:, 1])))
    expected = abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(rect_ll.intersection(U_SHAPE)))[0])
    assert out["total_corridor_overlap_m2"] == pytest.approx(expected, rel=1e-6)
    assert out["hits"][0]["corridor_relation"] == "intersects"
    line = verdict([out], summary, VOCAB)["lines"][0]
    assert line.startswith("穿越生态保护红线 2 处") and "线路廊道（宽 100 m）涉及" in line and "占廊道" in line


def test_a_corridor_alone_can_involve_a_zone():
    kind = make_kind([(105.70, 29.6102, 105.72, 29.62)])  # ~22 m north of the line: the 100 m corridor enters
    corridor = corridor_of(LINE, LocalFrame(LINE.centroid.x, LINE.centroid.y), 100.0)
    out = run(kind, LINE, corridor=corridor)
    hit = out["hits"][0]
    assert hit["relation"] == "near" and hit["corridor_relation"] == "intersects" and hit["length_inside_m"] == 0
    v = verdict([out], summary_of(LINE, corridor), VOCAB)
    assert v["level"] == WORDS["involved"]
    assert v["lines"][0].startswith(f"线路未穿越生态保护红线（最近 {hit['distance_m']:.0f} m），线路廊道（宽 100 m）涉及生态保护红线")


# ------------------------------------------------------------------ plane area (投影面积)

def test_plane_area_of_a_rectangle_drawn_in_gauss_kruger_coordinates():
    """A 400 m × 250 m rectangle in CGCS2000 3° zone 35 (EPSG:4523), 130 km east of the central meridian:
    its plane area is exactly 100 000 m²; the ellipsoidal area is smaller by the zone's areal scale."""
    x0, y0 = 35_630_000.0, 3_280_000.0
    inv = Transformer.from_crs(4523, 4490, always_xy=True)
    corners = [(x0, y0), (x0 + 400, y0), (x0 + 400, y0 + 250), (x0, y0 + 250)]
    lon, lat = inv.transform([c[0] for c in corners], [c[1] for c in corners])
    site = shapely.Polygon(list(zip(lon, lat)))
    summary = summary_of(site)
    assert summary["plane_epsg"] == 4523 and summary["plane_zone"] == 35
    assert summary["plane_area_m2"] == pytest.approx(100_000.0, abs=1e-3)
    assert summary["plane_area_ha"] == pytest.approx(10.0, abs=1e-4)
    assert summary["area_m2"] == pytest.approx(abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(site))[0]), abs=0.01)
    k2 = Proj(4523).get_factors(float(np.mean(lon)), float(np.mean(lat))).areal_scale
    assert k2 > 1.0003  # far enough from the central meridian for the difference to show
    assert summary["plane_area_m2"] / summary["area_m2"] == pytest.approx(k2, rel=2e-5)


def test_overlap_totals_carry_the_plane_area():
    kind = make_kind([(105.70, 29.60, 105.72, 29.62)])
    site = shapely.box(105.71, 29.605, 105.73, 29.615)
    out = run(kind, site)
    fwd = Transformer.from_crs(4490, 4523, always_xy=True)
    piece = shapely.box(105.71, 29.605, 105.72, 29.615)
    plane = shapely.transform(piece, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1]))).area
    assert out["total_overlap_plane_m2"] == pytest.approx(plane, abs=0.01)
    assert out["hits"][0]["overlap_plane_m2"] == pytest.approx(plane, abs=0.01)
    assert out["total_overlap_m2"] == pytest.approx(zone_area(29.605, 29.615, 0.01), rel=1e-6)


# ------------------------------------------------------------------ coverage contract (hand-made layer dicts)

def layer(name="生态保护红线", hits=(), complete=True, note="项目或其 5 km 检索范围有 3.20 km² 位于本系统未加载数据的区域（大足区以外）", **totals):
    return {"kind": "redline", "name_zh": name, "hits": list(hits), "max_band_m": 5000, "group_by": None, "groups": {},
            "sliver_m2": 1.0, "length_precision_m": 1.0, "total_overlap_m2": totals.get("m2", 0.0), "total_overlap_pct_of_site": totals.get("pct", 0.0),
            "coverage": {"complete": complete, "note_zh": note, "note_en": "..."}}


def hit(relation, name="甲", distance=0.0):
    return {"id": name, "name": name, "relation": relation, "distance_m": distance, "attributes": {}}


POLY = {"site_type": "polygon", "area_m2": 10_000.0}


def test_an_incomplete_layer_with_no_hit_is_unknown_never_clear():
    v = verdict([layer(complete=False)], POLY, VOCAB)
    assert v["level"] == WORDS["unknown"] == "无法判定"
    assert v["lines"] == ["无法判定生态保护红线：项目或其 5 km 检索范围有 3.20 km² 位于本系统未加载数据的区域（大足区以外）"]
    assert "不涉及" not in v["summary"] and "范围内无" not in v["summary"]


def test_an_incomplete_layer_with_a_near_hit_is_unknown_and_names_the_nearest():
    v = verdict([layer(hits=[hit("near", "乙", 812.0)], complete=False)], POLY, VOCAB)
    assert v["level"] == "无法判定" and v["near"] == []
    assert v["lines"][0].startswith("无法判定生态保护红线：") and v["lines"][0].endswith("已加载数据范围内距最近生态保护红线（乙）812 m")
    assert "不涉及" not in v["summary"]


def test_hits_inside_coverage_are_still_reported_and_the_unknown_comes_first():
    layers = [layer(name="饮用水水源保护区"), layer(hits=[hit("intersects")], complete=False, m2=2500.0, pct=25.0)]
    v = verdict(layers, POLY, VOCAB)
    assert v["level"] == "涉及"  # something is involved: that outranks the unknown rest
    assert v["lines"][0].startswith("无法判定生态保护红线（已加载数据范围以外）：")
    assert "涉及生态保护红线 0.25 公顷（占项目 25.0%）：甲" in v["lines"]
    assert "不涉及饮用水水源保护区；5 km 范围内无饮用水水源保护区" in v["lines"]
    assert v["summary"].startswith("无法判定")


def test_unknown_outranks_contact_near_and_clear():
    layers = [layer(name="生态保护红线", hits=[hit("near", "丙", 300.0)]), layer(name="自然保护地", complete=False),
              layer(name="饮用水水源保护区", hits=[hit("contact")], m2=0.3)]
    v = verdict(layers, POLY, VOCAB)
    assert v["level"] == "无法判定" and v["lines"][0].startswith("无法判定自然保护地")
    assert v["contact"] == ["饮用水水源保护区"] and v["near"] == ["生态保护红线"]
    complete = verdict([layers[0], layers[2]], POLY, VOCAB)
    assert complete["level"] == "边界接触"


# ------------------------------------------------------------------ the engine's words come from what it is given

def test_grouping_comes_from_the_vocabulary_passed_in():
    zones = make_kind([(105.70, 29.60, 105.72, 29.62), (105.69, 29.59, 105.73, 29.63)], key="water_source_zone",
                      extra=[{"zone": "一级保护区"}, {"zone": "二级保护区"}])
    zones.name_zh = "饮用水水源保护区"
    site = shapely.box(105.725, 29.605, 105.735, 29.615)
    group_by, labels = group_labels(VOCAB.kinds["water_source_zone"])
    renamed = {value: f"测试{value}" for value in labels}  # a deployment's own group labels
    out = run(zones, site, group_by="zone", labels=renamed)
    assert list(out["groups"]) == ["一级保护区", "二级保护区"]  # vocabulary order
    v = verdict([out], summary_of(site), VOCAB)
    assert any(line.startswith("涉及测试二级保护区") for line in v["lines"])
    assert any(line.startswith("临近测试一级保护区：未涉及，距最近") for line in v["lines"])
    ungrouped = verdict([run(zones, site)], summary_of(site), VOCAB)  # no group_by: one answer for the kind
    assert ungrouped["lines"][0].startswith("涉及饮用水水源保护区")
    source = inspect.getsource(screening)
    assert "water_source_zone" not in source and "vocabulary.default" not in source and "import vocabulary" not in source


def test_relation_keys_are_the_engines_and_the_vocabulary_labels_them():
    assert set(VOCAB.relations) == set(RELATIONS)
    check_relations(VOCAB)

    class Partial:
        path = ROOT / "test-vocabulary.yaml"
        relations = {k: v for k, v in VOCAB.relations.items() if k != "contact"}

    with pytest.raises(ConfigError) as info:
        check_relations(Partial())
    assert info.value.field == "relations"


def test_verdict_sentences_by_zone_level():
    zones = make_kind([(105.70, 29.60, 105.72, 29.62), (105.69, 29.59, 105.73, 29.63)], key="water_source_zone",
                      extra=[{"zone": "一级保护区"}, {"zone": "二级保护区"}])
    zones.name_zh = "饮用水水源保护区"
    site = shapely.box(105.725, 29.605, 105.735, 29.615)  # in 二级 only, 500 m from 一级
    group_by, labels = group_labels(VOCAB.kinds["water_source_zone"])
    out = run(zones, site, group_by=group_by, labels=labels)
    v = verdict([out], summary_of(site), VOCAB)
    assert v["level"] == "涉及"
    assert any(line.startswith("涉及饮用水水源二级保护区") for line in v["lines"])
    assert any(line.startswith("临近饮用水水源一级保护区：未涉及，距最近") for line in v["lines"])


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


@pytest.mark.parametrize("size", [1, 3, 8, 16])
def test_edge_chunks_cut_every_edge_once_in_order(size):
    """edge_chunks_of against the plain reading of it: per geometry, per part of its edges, runs of `size` edges."""
    from geo.screening import edge_chunks_of

    rng = np.random.default_rng(size)
    star = shapely.Polygon([(np.cos(t) * r, np.sin(t) * r) for t, r in zip(np.linspace(0, 2 * np.pi, 41)[:-1], rng.uniform(5, 10, 40))])
    geoms = np.array([shapely.box(0, 0, 30, 30).difference(shapely.box(10, 10, 20, 20)), shapely.Point(1, 2),
                      shapely.MultiPoint([(0, 0), (5, 5)]), star, shapely.MultiPolygon([shapely.box(50, 0, 51, 1), shapely.box(60, 0, 62, 2)]),
                      shapely.LineString([(0, 0), (1, 1), (2, 0), (3, 1)])], dtype=object)
    expected, owners = [], []
    for i, g in enumerate(geoms):
        for part in shapely.get_parts(g.boundary if g.geom_type.endswith("Polygon") else g):
            xy = shapely.get_coordinates(part)
            if len(xy) < 2:
                expected.append(part)
                owners.append(i)
            for start in range(0, len(xy) - 1, size):
                expected.append(shapely.LineString(xy[start:start + size + 1]))
                owners.append(i)
    chunks, owner = edge_chunks_of(geoms, size)
    assert len(chunks) == len(expected) and shapely.equals_exact(chunks, np.array(expected, dtype=object), 0).all()
    assert owner.tolist() == owners
