"""Where the screening has data (覆盖范围): "不涉及" and "x km 范围内无…" are only true where
the site and its whole search radius lie inside districts whose layer of that kind is loaded.

The loaded coverage of a layer kind is the union of the boundaries of the districts that have
that kind loaded (demo or published). A site is buffered by the largest distance band in its
Gauss-Krüger 3° zone (conformal, scale error ≤ 0.035 % in a zone, so a buffer there is a
faithful geodesic disc); the part of that search area outside the coverage is measured on the
ellipsoid. Neighbouring district boundaries never align exactly, so an uncovered remainder up
to the tolerance — the smaller of 1 % of the search area and 1 ha — is treated as covered.

Shared geometries are never GEOS-prepared (not thread-safe, libgeos/geos#825); boundary edges
sit in STRtrees built at start-up, so a site far from any boundary is decided by one index
query and one point-in-polygon test.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import numpy as np
import shapely

from geo import deadline, geos_work
from geo.area import M2_PER_KM2, area_m2
from geo.screening import built_tree, edge_chunks_of, nearest_within

TOLERANCE_PCT = 1.0  # of the search area
TOLERANCE_M2 = 10_000.0  # 1 ha
CHUNK_VERTICES = 16
BUFFER_QUAD_SEGS = 16  # 64 vertices a circle: within 0.05 % of a true disc's area
INSCRIBED = math.cos(math.pi / (4 * BUFFER_QUAD_SEGS))  # the search polygon holds the disc of this share of the radius
CORE_QUAD_SEGS = 8


def search_area_m(site_m, radius_m: float):
    """The site and everything within radius_m of it (plane metres), within the screening's time budget."""
    if radius_m <= 0:
        return site_m
    deadline.check()
    try:
        return geos_work.run_bounded("buffer", site_m, deadline.remaining(), distance_m=float(radius_m), quad_segs=BUFFER_QUAD_SEGS)
    except geos_work.OverBudget:
        raise deadline.spent() from None


def core_margin_m() -> float:
    """The radius of a disc whose ellipsoidal area surely exceeds any search area's tolerance (at most 1 ha):
    more than it after the zone's areal scale (≤ 1.0007), with 0.2 % and half a metre to spare."""
    return math.sqrt(TOLERANCE_M2 * 1.0007 * 1.002 / math.pi) + 0.5


def tolerance_m2(search_area_m2: float) -> float:
    """Uncovered area below which the search area counts as covered: min(1 % of it, 1 ha)."""
    return min(search_area_m2 * TOLERANCE_PCT / 100, TOLERANCE_M2)


@dataclass
class _Group:
    """The districts loaded for one or more layer kinds, and their union per GK zone."""

    adcodes: tuple[str, ...]
    names: tuple[str, ...]
    geoms: tuple  # lon/lat, one per district
    union: object  # lon/lat
    tree: shapely.STRtree | None  # lon/lat, over geoms
    projected: dict = field(default_factory=dict)  # EPSG -> (union in metres, boundary chunks tree)
    local: threading.local = field(default_factory=threading.local)  # this thread's prepared copies

    def prepared(self, key, geom):
        """geom as a GEOS-prepared copy owned by this thread (a prepared geometry is not safe to share)."""
        copies = self.local.__dict__.setdefault("copies", {})
        if key not in copies:
            copies[key] = shapely.from_wkb(shapely.to_wkb(geom))
            shapely.prepare(copies[key])
        return copies[key]

    def in_frame(self, frame):
        if frame.epsg not in self.projected:
            union_m = frame.to_m(self.union)
            chunks = _chunks(shapely.boundary(union_m)) if not union_m.is_empty else np.array([], dtype=object)
            self.projected[frame.epsg] = (union_m, built_tree(chunks) if len(chunks) else None)
        return self.projected[frame.epsg]

    def core_in_frame(self, frame, radius_m: float):
        """Where no data are loaded, more than core_margin_m() from the coverage (metres of frame's zone), and its
        boundary chunks in an STRtree. A search polygon that reaches a point of it holds a disc of that
        radius that is all uncovered: more than the tolerance, so the search area is surely incomplete with
        no overlay. (The buffer is grown by 1 m: its chords lie inside the true offset by < 0.3 m.)"""
        key = ("core", frame.epsg, float(radius_m))
        if key not in self.projected:
            margin_m = core_margin_m()
            union_m, _ = self.in_frame(frame)
            minx, miny, maxx, maxy = union_m.bounds
            pad = 2 * radius_m + 10_000  # beyond any search area that reaches the coverage
            core = shapely.difference(shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad),
                                      shapely.buffer(union_m, margin_m + 1.0, quad_segs=CORE_QUAD_SEGS))
            chunks = _chunks(shapely.boundary(core))
            self.projected[key] = (core, built_tree(chunks) if len(chunks) else None)
        return self.projected[key]


def _chunks(boundary) -> np.ndarray:
    """A boundary cut into lines of CHUNK_VERTICES edges: index queries stay cheap however long a ring is."""
    return edge_chunks_of(np.array([boundary], dtype=object), CHUNK_VERTICES)[0]


class CoverageIndex:
    """Loaded coverage per layer kind over a fixed set of district boundaries.

    districts: (adcode, name, lon/lat geometry) of every district boundary in the store;
    loaded: layer kind -> adcodes whose layer of that kind is loaded.
    """

    def __init__(self, districts, loaded: dict[str, set[str]]):
        by_code = {str(a): (str(n), g) for a, n, g in districts}
        groups: dict[frozenset, _Group] = {}
        self.kind_group: dict[str, _Group] = {}
        for kind, adcodes in loaded.items():
            key = frozenset(a for a in map(str, adcodes) if a in by_code)
            if key not in groups:
                codes = tuple(sorted(key))
                geoms = tuple(by_code[a][1] for a in codes)
                groups[key] = _Group(codes, tuple(by_code[a][0] for a in codes), geoms,
                                     shapely.union_all(geoms) if geoms else shapely.Polygon(),
                                     built_tree(np.array(geoms, dtype=object)) if geoms else None)
            self.kind_group[kind] = groups[key]
        self.groups = list(groups.values())

    def prepare(self, frame) -> None:
        """Project every coverage into frame's zone now (start-up), not in a request."""
        for g in self.groups:
            g.in_frame(frame)

    def loaded_adcodes(self, kind: str) -> tuple[str, ...]:
        return self.kind_group[kind].adcodes

    def check(self, kind: str, site, site_m, frame, radius_m: float) -> dict:
        """{"complete", "uncovered_km2", "note_zh", "note_en", "radius_m", "search_area_km2", "tolerance_m2"}
        for one lon/lat site (site_m: the same in frame's metres) and the largest band radius_m."""
        return self._check(self.kind_group[kind], site, site_m, frame, radius_m)

    def check_all(self, kinds, site, site_m, frame, radius_m: float, *, measure: bool = True) -> dict[str, dict]:
        """check() for several kinds, computing the search area once and each distinct coverage once.
        measure=False (batch rows): where a bound decides, say so without measuring (see check_points)."""
        done: dict[int, dict] = {}
        out = {}
        search_m = None
        for kind in kinds:
            g = self.kind_group[kind]
            if id(g) not in done:
                quick = None
                if not measure:
                    complete, incomplete, wholly = self._bounded(g, np.array([site_m]), frame, radius_m)
                    if complete[0] or incomplete[0]:
                        quick = self._bounded_answer(g, bool(complete[0]), radius_m, bool(wholly[0]))
                if quick is None:
                    search_m = search_m if search_m is not None else search_area_m(site_m, radius_m)
                    quick = self._check(g, site, site_m, frame, radius_m, search_m)
                done[id(g)] = quick
            out[kind] = dict(done[id(g)])
        return out

    def _check(self, g: _Group, site, site_m, frame, radius_m: float, search_m=None) -> dict:
        radius_m = float(radius_m)
        search_m = search_m if search_m is not None else search_area_m(site_m, radius_m)
        search_ll = frame.to_lonlat(search_m)
        search_area = area_m2(search_ll)
        tol = tolerance_m2(search_area)
        touched = self._touched(g, search_ll)
        if not g.adcodes:
            uncovered_m2, inside = search_area, False
        else:
            union_m, chunks = g.in_frame(frame)
            crosses = chunks is not None and len(chunks.query(search_m, predicate="intersects")) > 0
            if not crosses:
                # wholly inside or wholly outside the coverage: one point decides
                inside = bool(shapely.intersects(union_m, shapely.points(shapely.get_coordinates(site_m)[0])))
                uncovered_m2 = 0.0 if inside else search_area
            else:
                rest = shapely.difference(search_m, union_m)
                uncovered_m2 = area_m2(frame.to_lonlat(rest)) if not rest.is_empty else 0.0
                inside = bool(shapely.covers(union_m, site_m)) if search_area == 0 else True
        if search_area > 0:
            complete = uncovered_m2 <= tol
        else:  # a point or line with no search radius: covered or not
            complete = inside
            uncovered_m2 = 0.0
        return {"complete": bool(complete), "uncovered_km2": round(uncovered_m2 / M2_PER_KM2, 4),
                **_notes(complete, uncovered_m2, search_area, radius_m, touched, g.names),
                "radius_m": radius_m, "search_area_km2": round(search_area / M2_PER_KM2, 4), "tolerance_m2": round(tol, 1)}

    def check_points(self, kind: str, lons, lats, frame, radius_m: float) -> list[dict | None]:
        """Batch form for point sites: None where the point and its radius lie wholly inside the
        coverage, else the check of that point (see _bounded: the full check only where the search
        disc grazes the coverage edge)."""
        g = self.kind_group[kind]
        lons, lats = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
        out: list[dict | None] = [None] * len(lons)
        if not len(lons):
            return out
        pts_m = shapely.points(np.column_stack(frame.fwd.transform(lons, lats)))
        complete, incomplete, wholly = self._bounded(g, pts_m, frame, radius_m)
        for i in np.flatnonzero(incomplete):
            out[i] = self._bounded_answer(g, False, radius_m, wholly[i])
        for i in np.flatnonzero(~complete & ~incomplete):
            out[i] = self._check(g, shapely.points(lons[i], lats[i]), pts_m[i], frame, radius_m)
        return out

    def _bounded(self, g: _Group, sites_m: np.ndarray, frame, radius_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(surely complete, surely incomplete, wholly outside) per site (metres), from index queries alone;
        neither where only the overlay can tell.

        Complete: no coverage edge within the radius and the site inside. Wholly outside: no edge within it and
        the site outside. Surely incomplete: also where a point more than core_margin_m from the coverage lies
        within the search polygon (see _Group.core_in_frame): more than the tolerance is uncovered."""
        radius_m = float(radius_m)
        n = len(sites_m)
        xy, owner = shapely.get_coordinates(sites_m, return_index=True)
        _, at_first = np.unique(owner, return_index=True)
        x, y = xy[at_first, 0], xy[at_first, 1]  # each site's first vertex
        near_edge = np.zeros(n, dtype=bool)  # the coverage's edge within the radius
        if not g.adcodes:
            return np.zeros(n, dtype=bool), np.ones(n, dtype=bool), np.ones(n, dtype=bool)
        union_m, chunks = g.in_frame(frame)
        inside = shapely.contains_xy(g.prepared(frame.epsg, union_m), x, y)
        if chunks is not None:
            near_edge[nearest_within(chunks, sites_m, radius_m)[0] if radius_m > 0
                      else chunks.query(sites_m, predicate="intersects")[0]] = True
        wholly = ~inside & ~near_edge  # the whole search area outside the coverage
        incomplete = wholly.copy()
        reach = radius_m * INSCRIBED - core_margin_m()  # within this of the site: inside its search polygon, disc and all
        if reach > 0 and near_edge.any():
            at = np.flatnonzero(near_edge)
            core, core_tree = g.core_in_frame(frame, radius_m)
            hit = shapely.intersects(g.prepared(("core", frame.epsg, radius_m), core), sites_m[at])
            if core_tree is not None:
                hit[nearest_within(core_tree, sites_m[at], reach)[0]] = True
            incomplete[at[hit]] = True
        return inside & ~near_edge, incomplete, wholly

    @staticmethod
    def _bounded_answer(g: _Group, complete: bool, radius_m: float, wholly: bool) -> dict:
        """The check where a bound decided it: what is known, and no figure that was not measured (the
        single-site screening measures the uncovered area; a batch row says more than the tolerance)."""
        return {"complete": complete, "uncovered_km2": 0.0 if complete else None, "search_area_km2": None, "radius_m": float(radius_m),
                **_notes(complete, 0.0 if complete else None, None, float(radius_m), None, g.names, wholly=wholly)}

    def _touched(self, g: _Group, search_ll) -> tuple[str, ...]:
        if g.tree is None:
            return ()
        idx = g.tree.query(search_ll, predicate="intersects")
        return tuple(g.names[i] for i in sorted(idx))


def _notes(complete: bool, uncovered_m2: float | None, search_area: float | None, radius_m: float, touched, loaded_names,
           wholly: bool = False) -> dict:
    km = f"{radius_m / 1000:g} km"
    both_zh, either_zh = (f"项目及其 {km} 检索范围", f"项目或其 {km} 检索范围") if radius_m > 0 else ("项目", "项目")
    both_en, either_en = ((f"the site and its {km} search radius", f"the site or its {km} search radius") if radius_m > 0
                          else ("the site", "the site"))
    inside = "、".join(touched or ())
    loaded = "、".join(loaded_names) or "无"
    if complete and touched is None:  # decided by a bound: the districts it touches are not listed
        return {"note_zh": f"{both_zh}均在已加载数据的区县内", "note_en": f"{both_en} lie wholly inside districts whose data are loaded"}
    if complete:
        return {"note_zh": f"{both_zh}均在已加载数据的区县内（{inside}）",
                "note_en": f"{both_en} lie wholly inside districts whose data are loaded ({inside})"}
    if search_area == 0:
        return {"note_zh": f"{both_zh}不在本系统已加载数据的区县内（已加载：{loaded}）",
                "note_en": f"{both_en} is not inside any district whose data are loaded (loaded: {loaded})"}
    if uncovered_m2 is None and radius_m <= 0:
        return {"note_zh": f"{both_zh}不在本系统已加载数据的区县内（已加载：{loaded}）",
                "note_en": f"{both_en} is not inside any district whose data are loaded (loaded: {loaded})"}
    if uncovered_m2 is None:  # decided by a bound, not measured: wholly outside, or more than the tolerance outside
        if wholly:
            return {"note_zh": f"{both_zh}全部位于本系统未加载数据的区域（已加载：{loaded}）",
                    "note_en": f"all of {both_en} lie where no data are loaded (loaded: {loaded})"}
        return {"note_zh": f"{either_zh}有超过 {TOLERANCE_M2:.0f} m² 位于本系统未加载数据的区域（已加载：{loaded}）",
                "note_en": f"more than {TOLERANCE_M2:.0f} m² of {either_en} lies where no data are loaded (loaded: {loaded})"}
    amount = _amount(uncovered_m2)
    if not touched or uncovered_m2 >= search_area * 0.999:
        return {"note_zh": f"{both_zh}（{amount}）全部位于本系统未加载数据的区域（已加载：{loaded}）",
                "note_en": f"all of {both_en} ({amount}) lie where no data are loaded (loaded: {loaded})"}
    return {"note_zh": f"{either_zh}有 {amount} 位于本系统未加载数据的区域（{inside}以外）",
            "note_en": f"{amount} of {either_en} lies where no data are loaded (outside {inside})"}


def _amount(m2: float) -> str:
    return f"{m2 / M2_PER_KM2:.2f} km²" if m2 >= 10_000 else f"{m2:.0f} m²"
