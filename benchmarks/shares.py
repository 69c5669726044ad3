"""Area-share timing, against a plain geopandas baseline measured in the same run.

    .venv/bin/python benchmarks/shares.py

Targets (issue "area shares"): all shares for all five districts from a cold cache ≤ 5 s (the process start and
app load before it are reported separately);
cached thereafter ≤ 50 ms per district page's data; raster share for a district ≤ 2 s on a
30 m grid. Baseline: dissolve + equal-area (Albers) reprojection with geopandas for the red
line and protected areas only, i.e. far less work than the full report, to show its cost.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLD = """
import time, sys
t = time.perf_counter()
sys.path.insert(0, {root!r})
from app import create_app
app = create_app({{"MEASUREMENTS_DB": ":memory:"}})
t_app = time.perf_counter()
app.extensions["services"].live.get().shares.all_districts()
print(t_app - t, time.perf_counter() - t_app)
"""


def main() -> None:
    startup_s, cold_s = map(float, subprocess.run([sys.executable, "-c", COLD.format(root=str(ROOT))], capture_output=True,
                                                   text=True, check=True).stdout.strip().splitlines()[-1].split())
    from app import create_app
    from geo.raster_share import class_share

    app = create_app({"MEASUREMENTS_DB": ":memory:"})
    shares = app.extensions["services"].live.get().shares
    store = app.extensions["services"].live.get().districts.store
    client = app.test_client()
    for adcode in shares.plans:
        shares.district(adcode)
    cached_ms = {}
    for adcode in shares.plans:
        t = time.perf_counter()
        client.get(f"/api/districts/{adcode}/shares")
        cached_ms[adcode] = round((time.perf_counter() - t) * 1000, 2)
    raster_s = {}
    for adcode in shares.plans:
        district = store.read("district", adcode).geometry.union_all()
        t = time.perf_counter()
        class_share(shares.raster_for(adcode), district)
        raster_s[adcode] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    for adcode in shares.plans:
        for kind in ("redline", "protected_area"):
            gdf = store.read(kind, adcode)
            gdf.dissolve().to_crs("+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=GRS80").area.sum()
    baseline_s = time.perf_counter() - t
    results = {
        "process_start_and_app_load_s": round(startup_s, 2),
        "cold_cache_all_five_districts_s": round(cold_s, 2),
        "cached_api_ms_per_district": cached_ms,
        "raster_share_s_per_district": raster_s,
        "baseline_geopandas_dissolve_albers_s": round(baseline_s, 3),
        "cached_vs_baseline_per_district": round(max(cached_ms.values()) / 1000 / (baseline_s / len(cached_ms)), 3),
        "targets": {"cold_start_s_max": 5, "cached_ms_max": 50, "raster_s_max": 2},
    }
    results["targets_met"] = cold_s <= 5 and max(cached_ms.values()) <= 50 and max(raster_s.values()) <= 2
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "shares.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    for k, v in results.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
