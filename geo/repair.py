"""Repairing an invalid polygon within a time budget.

GEOS's make_valid grows with the number of self-crossings: a 20,000-vertex zigzag took 137 s with the default
("linework") method and 2.2 s with "structure". The structure method keeps each ring's enclosed area whole (a loop
drawn over itself is not cut out of the site, which the even-odd linework method would do); large polygons are
repaired in a child process killed when the budget is spent (geo.geos_work).
"""
from __future__ import annotations

from geo.errors import TooLargeError
from geo.geos_work import OverBudget, run_bounded

METHOD_ZH = "make_valid（structure 方法：各环围成的范围取并集、减去洞）"


def repair_within(geom, budget_s: float, what: str, setting: str = "REPAIR_BUDGET_SECONDS"):
    """The repaired geometry, or TooLargeError (naming the setting that sets the budget) when the repair would take
    longer than budget_s seconds."""
    try:
        return run_bounded("repair", geom, budget_s)
    except OverBudget:
        pass
    raise TooLargeError(f"{what}：面自相交过多，{budget_s:g} 秒内未能修复（可由设置 {setting} 提高）；"
                        "请先在 GIS 软件中修复几何（如 QGIS“修复几何图形”）后再上传",
                        f"{what}: too many self-intersections to repair within {budget_s:g} s (setting {setting} raises it); "
                        "fix the geometry in a GIS first")
