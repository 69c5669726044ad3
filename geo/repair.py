"""Repairing an invalid polygon within a time budget.

GEOS's make_valid grows with the number of self-crossings: a 20,000-vertex zigzag took 137 s with the default
("linework") method and 2.2 s with "structure", and nothing in GEOS can be interrupted from Python. So small
polygons are repaired where they are, with the structure method (each ring's enclosed area kept whole: a loop
drawn over itself is not cut out of the site, which the even-odd linework method would do); larger ones in a
child process that is killed when the budget is spent, so one upload cannot hold a server thread.
"""
from __future__ import annotations

import subprocess
import sys

import shapely

from geo.errors import TooLargeError

INLINE_VERTICES = 2_000  # below this a repair takes milliseconds: no child process
METHOD_ZH = "make_valid（structure 方法：各环围成的范围取并集、减去洞）"
# the child imports shapely only (not this application): WKB in on stdin, the repaired WKB out on stdout
_CHILD = ("import sys, shapely; g = shapely.from_wkb(sys.stdin.buffer.read()); "
          "sys.stdout.buffer.write(shapely.to_wkb(shapely.make_valid(g, method='structure')))")


def _repair(geom):
    return shapely.make_valid(geom, method="structure")


def repair_within(geom, budget_s: float, what: str, setting: str = "REPAIR_BUDGET_SECONDS"):
    """The repaired geometry, or TooLargeError (naming the setting that sets the budget) when the repair would take
    longer than budget_s seconds."""
    if shapely.get_num_coordinates(geom) <= INLINE_VERTICES:
        return _repair(geom)
    try:
        done = subprocess.run([sys.executable, "-I", "-c", _CHILD], input=shapely.to_wkb(geom), capture_output=True,
                              timeout=budget_s + 1.0, check=True)  # + the child's start-up; killed when it is spent
        return shapely.from_wkb(done.stdout)
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError):  # over budget, or the child died (out of memory)
        pass
    raise TooLargeError(f"{what}：面自相交过多，{budget_s:g} 秒内未能修复（可由设置 {setting} 提高）；"
                        "请先在 GIS 软件中修复几何（如 QGIS“修复几何图形”）后再上传",
                        f"{what}: too many self-intersections to repair within {budget_s:g} s (setting {setting} raises it); "
                        "fix the geometry in a GIS first")
