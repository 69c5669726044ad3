"""Area-share timing, against a plain geopandas baseline measured in the same run.

    .venv/bin/python benchmarks/shares.py

Targets (issue "area shares"): all shares for all five districts from a cold cache ≤ 5 s (the process start and
app load before it are reported separately); after a restart the kept figures are read back (INSTANCE_DIR/derived/
shares), reported as "restart" against the cold computation in the same run, on the demo layers and on the
demo layers with 大足's red line replaced by the 5 M-vertex synthetic one (benchmarks/batch.py);
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
app = create_app({{"MEASUREMENTS_DB": ":memory:", "INSTANCE_DIR": {instance!r}, "SHARES_PRECOMPUTE": False, "LAYERS_GPKG": {layers!r},
                   "MAX_FEATURES": 100000}})
t_app = time.perf_counter()
app.extensions["services"].live.get().shares.all_districts()
print(t_app - t, time.perf_counter() - t_app)
"""


def start_and_shares(instance: Path, layers: Path) -> tuple[float, float]:
    """(process start and app load, every district's shares) in a new process on INSTANCE_DIR instance."""
    out = subprocess.run([sys.executable, "-c", COLD.format(root=str(ROOT), instance=str(instance), layers=str(layers))],
                         capture_output=True, text=True, check=True).stdout
    return tuple(map(float, out.strip().splitlines()[-1].split()))


def restart_rows() -> dict:
    """Cold computation, then a restart on the same INSTANCE_DIR that reads the kept figures back."""
    import tempfile

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from batch import DEMO, synthetic_layers

    rows = {}
    for size, layers in (("demo", DEMO), ("synthetic_5M_redline", synthetic_layers())):
        with tempfile.TemporaryDirectory() as inst:
            load_cold, cold = start_and_shares(Path(inst), layers)
            load_again, again = start_and_shares(Path(inst), layers)
        rows[size] = {"app_load_s": round(load_cold, 2), "cold_all_districts_s": round(cold, 2),
                      "restart_app_load_s": round(load_again, 2), "restart_all_districts_s": round(again, 3),
                      "cold_over_restart": round(cold / max(again, 1e-6), 1)}
    return rows


def main() -> None:
    restart = restart_rows()
    startup_s, cold_s = restart["demo"]["app_load_s"], restart["demo"]["cold_all_districts_s"]
    from app import create_app
    from geo.raster_share import class_share

    app = create_app({"MEASUREMENTS_DB": ":memory:", "SHARES_PRECOMPUTE": False})
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
        "restart_reads_kept_figures": restart,
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
