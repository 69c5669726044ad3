"""Publishing an official layer at real size, against the naive dissolve-and-measure of the same data in the same run.

    .venv/bin/python benchmarks/publish.py

Publishes the 5 M-vertex synthetic red line of 大足 (benchmarks/postgis.py, 3,000 patches) through the
administrator's command-line path (`flask --app app layers publish … --yes --confirm-change`: staging, two reviews,
the version written, the snapshot rebuilt) into a fresh INSTANCE_DIR, then reads every district's shares once
(computed and kept on disk) and once more after a restart (read back). Baseline: what any script must do at the
least for the review's figures — `shapely.union_all` of the patches, its ellipsoidal area and the features' areas —
timed in the same run. Peak resident memory of each child process is reported.

Target (issue "official data at real size"): publishing a 5 M-vertex district ≤ 30 s on a 2-core machine.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

RUN = """
import resource, sys, time
sys.path.insert(0, {root!r})
from app import create_app
t = time.perf_counter()
app = create_app({{"INSTANCE_DIR": {inst!r}, "MEASUREMENTS_DB": {inst!r} + "/m.sqlite", "SHARES_PRECOMPUTE": False}})
step_s = time.perf_counter() - t  # a restart: the start-up
if {layer!r}:  # a publish: the administrator's command
    t = time.perf_counter()
    r = app.test_cli_runner().invoke(args=["layers", "publish", {layer!r}, "--district", "500111", "--kind", "redline",
                                           "--user", "基准测试", "--yes", "--confirm-change"])
    assert r.exit_code == 0, r.output
    step_s = time.perf_counter() - t
t = time.perf_counter()
app.extensions["services"].live.get().shares.all_districts()
print(step_s, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

NAIVE = """
import resource, sys, time
sys.path.insert(0, {root!r})
import pyogrio, shapely
from geo.area import area_m2
frame = pyogrio.read_dataframe({layer!r})
t = time.perf_counter()
union = shapely.union_all(frame.geometry.values)
dissolved = area_m2(union)
naive = sum(area_m2(g) for g in frame.geometry.values)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def child(code: str, **values) -> list[float]:
    out = subprocess.run([sys.executable, "-c", code.format(root=str(ROOT), **values)], capture_output=True, text=True, check=True)
    return [float(v) for v in out.stdout.strip().splitlines()[-1].split()]


def main() -> int:
    from postgis import SYNTHETIC, keep_results, synthetic_frame

    synthetic_frame()  # generated once, cached beside the other results
    with tempfile.TemporaryDirectory() as inst:
        publish_s, shares_s, publish_mb = child(RUN, inst=inst, layer=str(SYNTHETIC))
        start_s, kept_s, restart_mb = child(RUN, inst=inst, layer="")
    naive_s, naive_mb = child(NAIVE, layer=str(SYNTHETIC))
    results = {"layer": SYNTHETIC.name, "publish_s": round(publish_s, 1), "publish_peak_mb": round(publish_mb),
               "shares_all_districts_after_publish_s": round(shares_s, 1), "restart_start_s": round(start_s, 1),
               "restart_shares_read_back_s": round(kept_s, 2), "restart_peak_mb": round(restart_mb),
               "baseline_union_all_and_areas_s": round(naive_s, 1), "baseline_peak_mb": round(naive_mb),
               "publish_over_baseline": round(publish_s / naive_s, 2), "target_publish_s": 30, "target_met": publish_s <= 30}
    keep_results("publish", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
