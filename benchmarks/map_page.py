"""Map page weight and build time, against a naive baseline measured in the same run.

    .venv/bin/python benchmarks/map_page.py

Baseline: the same district drawn the obvious Folium way, every layer inlined with
folium.GeoJson at full precision. Target (issue "district 一张图"): the page a browser
loads stays under 1.5 MB of HTML + inline data for every district; the layer data the
page then fetches is reported too (display copies: simplified to ~5 m, 6 decimals).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import folium  # noqa: E402

from app import create_app  # noqa: E402
from geo.vocabulary import default as _vocabulary

KINDS = _vocabulary().kinds

LIMIT_BYTES = 1_500_000


def naive_page_bytes(service, adcode: str) -> int:
    minx, miny, maxx, maxy = service.bounds(adcode)
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=10)
    for kind in KINDS:
        folium.GeoJson(service.layer_geojson(adcode, kind, False), name=kind).add_to(m)
    return len(m.get_root().render().encode())


def main() -> None:
    app = create_app()
    service = app.extensions["services"].live.get().districts
    client = app.test_client()
    rows = []
    for adcode in service.plans:
        t0 = time.perf_counter()
        page = client.get(f"/districts/{adcode}").data
        page_s = time.perf_counter() - t0
        fetched = sum(len(client.get(f"/api/districts/{adcode}/layers/{k}?display=1").data) for k in KINDS)
        full = sum(len(client.get(f"/api/districts/{adcode}/layers/{k}").data) for k in KINDS)
        t0 = time.perf_counter()
        naive = naive_page_bytes(service, adcode)
        naive_s = time.perf_counter() - t0
        rows.append({
            "adcode": adcode, "name": service.plans[adcode]["name"],
            "page_bytes": len(page), "naive_page_bytes": naive, "page_vs_naive": round(len(page) / naive, 4),
            "layer_bytes_display": fetched, "layer_bytes_full": full, "display_vs_full": round(fetched / full, 3),
            "page_build_s": round(page_s, 4), "naive_build_s": round(naive_s, 4),
            "build_time_vs_naive": round(page_s / naive_s, 3),
            "page_under_limit": len(page) < LIMIT_BYTES,
        })
    print(f"{'区县':<6}{'页面 B':>10}{'朴素内嵌 B':>12}{'比值':>8}{'图层(显示) B':>14}{'图层(全精度) B':>16}{'比值':>7}{'≤1.5MB':>8}")
    for r in rows:
        print(f"{r['name']:<6}{r['page_bytes']:>10}{r['naive_page_bytes']:>12}{r['page_vs_naive']:>8}"
              f"{r['layer_bytes_display']:>14}{r['layer_bytes_full']:>16}{r['display_vs_full']:>7}{str(r['page_under_limit']):>8}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "map_page.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    if not all(r["page_under_limit"] for r in rows):
        raise SystemExit("a district page is over 1.5 MB")


if __name__ == "__main__":
    main()
