"""Bounded load test on loopback: concurrent clients against /api/screen, the map pages and a large result.

    .venv/bin/python benchmarks/load.py [--clients 20] [--seconds 30]

Runs the production server (waitress, as `app.py` serves it) in a separate process on 127.0.0.1, so the clients
(threads of this process) neither share its interpreter nor count in its memory; sends traffic only there and stops
by itself. Reports requests, errors, 5xx, p50/p95 latency, throughput, and the server process's resident memory
sampled every second (it should stay flat). Baseline for the ratios: the same requests sent one at a time, measured
first in the same run. The mix includes the page and the Excel table of a 200-site screening.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


SERVER = """
import logging, sys
sys.path.insert(0, {root!r})
logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # queue-depth notices are expected under load
from waitress.server import create_server
from app import create_app
app = create_app({{"INSTANCE_DIR": {inst!r}, "MEASUREMENTS_DB": ":memory:", "RATE_LIMIT_PER_MINUTE": 100_000}})
server = create_server(app, host="127.0.0.1", port=0, threads=8)
print(server.effective_port, flush=True)
server.run()
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    import subprocess
    import tempfile

    tmp = tempfile.mkdtemp(prefix="load-")
    proc = subprocess.Popen([sys.executable, "-c", SERVER.format(root=str(ROOT), inst=tmp)], stdout=subprocess.PIPE, text=True)
    try:
        run(args, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run(args, proc) -> None:
    base = f"http://127.0.0.1:{int(proc.stdout.readline())}"
    site = (ROOT / "tests" / "data" / "site_dazu_cgcs2000.geojson").read_text(encoding="utf-8")
    screen_body = json.dumps({"geometry": json.loads(site), "crs": "EPSG:4490"}).encode()
    points = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": f"点{i}"}, "geometry": {"type": "Point", "coordinates": [105.6 + 0.25 * (i * 0.618 % 1), 29.55 + 0.25 * (i * 0.382 % 1)]}}
        for i in range(200)]}
    big = urllib.request.urlopen(urllib.request.Request(base + "/api/screen", data=json.dumps({"geometry": points, "crs": "EPSG:4490"}).encode(),
                                                        headers={"Content-Type": "application/json"}), timeout=300)
    rid = json.loads(big.read())["result_id"]
    requests = [("POST", "/api/screen", screen_body), ("GET", "/districts/500111", None),
                ("GET", "/api/districts/500111/layers/redline?display=1", None), ("GET", "/", None),
                ("GET", f"/screen/results/{rid}?page=2", None), ("GET", f"/screen/results/{rid}.xlsx", None)]

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
    memory = [rss_mb(proc.pid)]
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
    while time.monotonic() < deadline:  # the server's memory, once a second
        time.sleep(1.0)
        memory.append(rss_mb(proc.pid))
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    memory.append(rss_mb(proc.pid))
    mid = memory[len(memory) // 2]

    latencies = sorted(ms for _, ms in samples)
    statuses = [s for s, _ in samples]
    results = {
        "clients": args.clients, "seconds": round(elapsed, 1), "requests": len(samples),
        "throughput_rps": round(len(samples) / elapsed, 1),
        "errors": sum(1 for s in statuses if s < 0 or s >= 400), "http_5xx": sum(1 for s in statuses if s >= 500),
        "p50_ms": round(statistics.median(latencies), 1), "p95_ms": round(latencies[int(len(latencies) * 0.95)], 1),
        "serial_median_ms": round(statistics.median(serial), 1),
        "p50_vs_serial": round(statistics.median(latencies) / statistics.median(serial), 2),
        "server_rss_mb_per_second": [round(m) for m in memory],
        "server_rss_mb_start_mid_end": [round(memory[0], 1), round(mid, 1), round(memory[-1], 1)],
        "rss_growth_pct_mid_to_end": round((memory[-1] - mid) / mid * 100, 1),
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
