"""Bounded load test on loopback: concurrent clients against /api/screen and the map pages.

    .venv/bin/python benchmarks/load.py [--clients 20] [--seconds 30]

Runs the production server (waitress) in this process on 127.0.0.1, sends traffic only there,
and stops by itself. Reports requests, errors, 5xx, p50/p95 latency, throughput, and the
server's resident memory at start, middle and end (it should stay flat). Baseline for the
ratios: the same requests sent one at a time, measured first in the same run.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    import logging
    import tempfile

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # queue-depth notices are expected under load

    from waitress.server import create_server

    from app import create_app

    tmp = tempfile.mkdtemp(prefix="load-")
    app = create_app({"INSTANCE_DIR": tmp, "MEASUREMENTS_DB": ":memory:", "RATE_LIMIT_PER_MINUTE": 100_000})
    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    base = f"http://127.0.0.1:{server.effective_port}"
    threading.Thread(target=server.run, daemon=True).start()

    site = (ROOT / "tests" / "data" / "site_dazu_cgcs2000.geojson").read_text(encoding="utf-8")
    screen_body = json.dumps({"geometry": json.loads(site), "crs": "EPSG:4490"}).encode()
    requests = [("POST", "/api/screen", screen_body), ("GET", "/districts/500111", None),
                ("GET", "/api/districts/500111/layers/redline?display=1", None), ("GET", "/", None)]

    def send(method, path, body):
        req = urllib.request.Request(base + path, data=body, method=method, headers={"Content-Type": "application/json"} if body else {})
        t = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                resp.read()
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except Exception:
            status = -1
        return status, (time.perf_counter() - t) * 1000

    for r in requests:  # warm caches (shares on the home page, indexes)
        send(*r)
    serial = [send(*requests[i % len(requests)])[1] for i in range(40)]

    lock = threading.Lock()
    samples: list[tuple[int, float]] = []
    memory = [rss_mb()]
    deadline = time.monotonic() + args.seconds

    def client(n: int):
        i = n
        while time.monotonic() < deadline:
            result = send(*requests[i % len(requests)])
            i += 1
            with lock:
                samples.append(result)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(args.seconds / 2)
    memory.append(rss_mb())
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    memory.append(rss_mb())

    latencies = sorted(ms for _, ms in samples)
    statuses = [s for s, _ in samples]
    results = {
        "clients": args.clients, "seconds": round(elapsed, 1), "requests": len(samples),
        "throughput_rps": round(len(samples) / elapsed, 1),
        "errors": sum(1 for s in statuses if s < 0 or s >= 400), "http_5xx": sum(1 for s in statuses if s >= 500),
        "p50_ms": round(statistics.median(latencies), 1), "p95_ms": round(latencies[int(len(latencies) * 0.95)], 1),
        "serial_median_ms": round(statistics.median(serial), 1),
        "p50_vs_serial": round(statistics.median(latencies) / statistics.median(serial), 2),
        "rss_mb_start_mid_end": [round(m, 1) for m in memory],
        "rss_growth_pct_mid_to_end": round((memory[2] - memory[1]) / memory[1] * 100, 1),
    }
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "load.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    for k, v in results.items():
        print(f"{k}: {v}")
    if results["http_5xx"] or results["errors"]:
        raise SystemExit("errors under load")


if __name__ == "__main__":
    main()
