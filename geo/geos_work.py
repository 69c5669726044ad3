"""GEOS work on a request's own geometry that can be stopped: repair of an invalid polygon and the buffer of a site.

Nothing in GEOS can be interrupted from Python, and both grow faster than the vertex count on hostile shapes (a
20,000-vertex zigzag took 137 s to repair with the "linework" method; a 1,000-spike star took 4 s to buffer by 5 km
and 2,000 spikes 17 s, as every arc of the raw offset curve crosses every other). So the buffer is built as the
union of the site and one capsule per edge (the Minkowski sum with a disc, in n log n: 2,000 spikes by 5 km in
0.3 s), and above INLINE_VERTICES either operation runs in a child process that is killed when its budget is spent,
so one upload cannot hold a server thread.

This file imports shapely only: the child runs it as a script (`python -I geo/geos_work.py OP`, WKB in on stdin, WKB
out on stdout), not the application.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import shapely

INLINE_VERTICES = 2_000  # below this the work takes well under a second: no child process
EXACT_BUFFER_VERTICES = 300  # up to this GEOS's own buffer is quick whatever the shape
CHILD_START_S = 1.0  # allowed for the child's start-up on top of the budget


def repair(geom):
    """make_valid's structure method: each ring's enclosed area kept whole (a loop over itself stays in the site)."""
    return shapely.make_valid(geom, method="structure")


def _capsule_sum(geom, distance_m: float, quad_segs: int):
    """geom ⊕ disc(distance_m): the polygons themselves and a round-ended capsule around every edge."""
    parts = shapely.get_parts(geom)
    if shapely.get_dimensions(geom) == 2:  # a projection can leave parts crossing by millimetres: GEOS's union refuses those
        bad = ~shapely.is_valid(parts)
        if bad.any():
            fixed = shapely.get_parts(shapely.make_valid(parts[bad], method="structure"))
            parts = np.concatenate([parts[~bad], fixed[shapely.get_type_id(fixed) == 3]])  # polygons only
    rings = shapely.get_rings(parts) if shapely.get_dimensions(geom) == 2 else parts
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[1:] == ring_of[:-1]  # consecutive vertices of one ring or line: an edge
    edges = shapely.linestrings(np.stack([xy[:-1][same], xy[1:][same]], axis=1)) if same.any() else shapely.points(xy)
    pieces = [shapely.buffer(edges, distance_m, quad_segs=quad_segs)]  # points: a multipoint's discs
    if shapely.get_dimensions(geom) == 2:
        pieces.append(parts)
    return shapely.union_all(np.concatenate(pieces))


def buffer(geom, distance_m: float, quad_segs: int = 16, cap_style: str = "round", join_style: str = "round"):
    """geom buffered by distance_m (> 0). Round buffers of complex shapes as a capsule sum; other styles (a line's
    flat-ended corridor) part by part with GEOS, then united."""
    if shapely.get_num_coordinates(geom) <= EXACT_BUFFER_VERTICES and shapely.get_num_geometries(geom) == 1:
        return shapely.buffer(geom, distance_m, quad_segs=quad_segs, cap_style=cap_style, join_style=join_style)
    if cap_style == "round" and join_style == "round":
        return _capsule_sum(geom, distance_m, quad_segs)
    return shapely.union_all(shapely.buffer(shapely.get_parts(geom), distance_m, quad_segs=quad_segs,
                                            cap_style=cap_style, join_style=join_style))


OPS = {"repair": repair, "buffer": buffer}


class OverBudget(Exception):
    """The work did not finish in its budget (or its process died, out of memory)."""


def run_bounded(op: str, geom, budget_s: float, **params):
    """OPS[op](geom, **params), in this process when geom is small, else in a child killed after budget_s."""
    n = shapely.get_num_coordinates(geom)
    flat = op == "buffer" and (params.get("cap_style", "round"), params.get("join_style", "round")) != ("round", "round")
    if n <= (EXACT_BUFFER_VERTICES if flat else INLINE_VERTICES):  # GEOS's flat-ended buffer has no quick form here
        return OPS[op](geom, **params)
    if budget_s <= 0:
        raise OverBudget(op)
    try:
        done = subprocess.run([sys.executable, "-I", __file__, op, json.dumps(params)], input=shapely.to_wkb(geom),
                              capture_output=True, timeout=budget_s + CHILD_START_S, check=True)
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError):
        raise OverBudget(op) from None
    return shapely.from_wkb(done.stdout)


if __name__ == "__main__":  # the child: one operation on the WKB given on stdin
    _op, _params = sys.argv[1], json.loads(sys.argv[2])
    sys.stdout.buffer.write(shapely.to_wkb(OPS[_op](shapely.from_wkb(sys.stdin.buffer.read()), **_params)))
