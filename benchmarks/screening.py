"""Screening speed, as ratios against naive baselines measured in the same run.

    .venv/bin/python benchmarks/screening.py

1. One 200-vertex site against every layer over HTTP (waitress on 127.0.0.1), median of
   repeated requests. Target ≤ 20 ms. Baseline: the same site screened the naive way,
   geopandas.overlay per kind plus a reprojection for the area, no index reuse; the
   engine alone (no HTTP) must be ≥ 20× faster than that baseline.
2. Batch engine: point sites per second against all screened kinds, geodesic distances
   included. Target ≥ 50,000/s. Reference: bare STRtree point-in-polygon on one kind
   (no distances), and the naive per-site overlay baseline (target: ≥ 20× faster).
"""
from __future__ import annotations

import json
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from geo.screening import screen_points  # noqa: E402


def naive_screen(site, layers: dict) -> dict:
    """What a script would do without an index: overlay each whole layer, reproject, measure."""
    site_gdf = gpd.GeoDataFrame(geometry=[site], crs=4490)
    out = {}
    for key, gdf in layers.items():
        pieces = gpd.overlay(site_gdf, gdf[["geometry"]], how="intersection")
        out[key] = float(pieces.to_crs("+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=GRS80").area.sum())
        out[key + "_distance"] = float(gdf.to_crs(4523).distance(site_gdf.to_crs(4523).geometry.iloc[0]).min())
    return out


def main() -> None:
    from waitress.server import create_server

    app = create_app({"MEASUREMENTS_DB": str(ROOT / "benchmarks" / "results" / "bench.sqlite")})
    screening = app.extensions["services"].live.get().screening
    store = app.extensions["services"].live.get().districts.store
    centre = screening.kinds["redline"].geoms[0].representative_point()
    angles = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    site = shapely.Polygon(np.column_stack([centre.x + 0.01 * np.cos(angles), centre.y + 0.008 * np.sin(angles)]))
    body = json.dumps({"geometry": shapely.geometry.mapping(site), "crs": "EPSG:4490"}).encode()

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    port = server.effective_port
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}/api/screen"

    def post():
        req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as resp:
            assert resp.status == 200
            return resp.read()

    for _ in range(5):
        post()
    http_ms = []
    for _ in range(60):
        t = time.perf_counter()
        post()
        http_ms.append((time.perf_counter() - t) * 1000)
    # the server thread is a daemon and ends with the process

    from geo.sites import Site
    from services.screening import screen_sites

    engine_ms = []
    for _ in range(30):
        t = time.perf_counter()
        screen_sites(screening, [Site(site, {"as_read": "EPSG:4490"})])
        engine_ms.append((time.perf_counter() - t) * 1000)

    layers = {k: store.read_all(k) for k in screening.kinds}
    naive_ms = []
    for _ in range(5):
        t = time.perf_counter()
        naive_screen(site, layers)
        naive_ms.append((time.perf_counter() - t) * 1000)

    rng = np.random.default_rng(1)
    n = 200_000
    lons, lats = rng.uniform(105.47, 106.03, n), rng.uniform(29.38, 29.86, n)
    kinds = list(screening.kinds.values())
    screen_points(kinds, lons[:100], lats[:100], 5000)  # build the edge indexes once
    batch_s = min(_timed(lambda: screen_points(kinds, lons, lats, 5000)) for _ in range(3))
    pts = shapely.points(lons, lats)
    bare_s = min(_timed(lambda: screening.kinds["redline"].tree.query(pts, predicate="within")) for _ in range(3))

    http_median = statistics.median(http_ms)
    naive_median = statistics.median(naive_ms)
    batch_rate = n / batch_s
    naive_rate = 1000 / naive_median
    results = {
        "http_200_vertex_site_median_ms": round(http_median, 2),
        "http_p95_ms": round(sorted(http_ms)[int(len(http_ms) * 0.95)], 2),
        "naive_overlay_site_median_ms": round(naive_median, 1),
        "engine_200_vertex_site_median_ms": round(statistics.median(engine_ms), 2),
        "single_site_engine_speedup_vs_naive": round(naive_median / statistics.median(engine_ms), 1),
        "single_site_http_speedup_vs_naive": round(naive_median / http_median, 1),
        "batch_points_per_s_all_kinds_with_geodesic_distance": round(batch_rate),
        "bare_strtree_point_in_polygon_per_s_one_kind": round(n / bare_s),
        "batch_vs_bare_pip": round(batch_rate / (n / bare_s), 3),
        "batch_speedup_vs_naive_overlay_per_site": round(batch_rate / naive_rate),
        "targets": {"http_median_ms_max": 20, "batch_per_s_min": 50_000, "speedup_vs_naive_min": 20},
    }
    results["targets_met"] = (http_median <= 20 and batch_rate >= 50_000 and naive_median / statistics.median(engine_ms) >= 20)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "screening.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    for k, v in results.items():
        print(f"{k}: {v}")


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
