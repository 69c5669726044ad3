"""Write data/demo_air_daily.csv: two years of demo (示意) daily air-quality values for every demo station.

    .venv/bin/python data/build_demo_air.py

NOT measured data. For each station of the air_station layer of data/demo.gpkg, 2024-01-01..2025-12-31,
daily PM2.5, PM10, SO2, NO2, CO (24-h means) and O3_8h (daily maximum 8-h average), drawn with a fixed seed
so every run writes the same file. The shape is what Chongqing's published figures look like, not any
station's record: PM2.5 annual means about 30–40 µg/m³ with a winter peak (January about 1.5×, July about
0.5× the annual mean), PM10 about 1.5–1.7× PM2.5, O3_8h peaking in July–August (the year's 90th percentile
near the 160 µg/m³ limit, above it at some stations), CO 0.6–1.2 mg/m³, SO2 and NO2 low with a winter rise.
One weather series per district (day-to-day persistence, AR(1) in log space) is shared by its stations, which
add their own noise and a level/type factor (micro-stations read a little high, regional points lower). A
few days per station and year are missing (rows left out, and some single cells blank); one micro-station
has a ten-day outage in March 2025, so its 2025 assessment is 无法判断. Values are rounded as monitoring
platforms publish them (integers; CO one decimal), keeping the file near 1.5 MB.
"""
from __future__ import annotations

import csv
import sys
import zlib
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyogrio

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "demo_air_daily.csv"
GPKG = ROOT / "data" / "demo.gpkg"
SEED = 20240101
START, END = date(2024, 1, 1), date(2025, 12, 31)
COLUMNS = ["站点", "日期", "PM2.5", "PM10", "SO2", "NO2", "CO", "O3_8h"]

# per district: PM2.5 annual mean at a 城区 point (µg/m³), O3_8h annual mean, SO2 and NO2 means, CO mean (mg/m³)
DISTRICTS = {
    "500102": {"pm25": 37.0, "o3": 92.0, "so2": 11.0, "no2": 30.0, "co": 0.95},  # 涪陵：化工园区
    "500110": {"pm25": 33.0, "o3": 86.0, "so2": 9.0, "no2": 26.0, "co": 0.85},   # 綦江
    "500111": {"pm25": 34.0, "o3": 94.0, "so2": 8.0, "no2": 25.0, "co": 0.8},    # 大足
    "500152": {"pm25": 33.0, "o3": 90.0, "so2": 7.0, "no2": 22.0, "co": 0.8},    # 潼南
    "500235": {"pm25": 29.0, "o3": 80.0, "so2": 7.0, "no2": 20.0, "co": 0.75},   # 云阳
}
# level/type factors: (PM, NO2, O3)
FACTORS = {("国控", "城市点"): (1.0, 1.0, 1.0), ("市控", "城市点"): (1.0, 0.95, 1.0), ("区控", "区域点"): (0.9, 0.75, 1.06),
           ("区控", "城市点"): (1.0, 0.95, 1.0), ("微站", "微站"): (1.06, 1.05, 0.98)}
OUTAGE = ("大足区回龙镇大气网格化监测微站", date(2025, 3, 10), 10)  # station, first day, days


def rng_for(*keys) -> np.random.Generator:
    return np.random.default_rng([SEED, *(zlib.crc32(str(k).encode()) for k in keys)])


def ar1(rng, n: int, sd: float, phi: float) -> np.ndarray:
    """Stationary AR(1) series with standard deviation sd."""
    e = rng.normal(0, sd * np.sqrt(1 - phi ** 2), n)
    x = np.empty(n)
    x[0] = rng.normal(0, sd)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


def build(gpkg: Path = GPKG, out: Path = OUT) -> dict:
    stations = pyogrio.read_dataframe(gpkg, layer="air_station", read_geometry=False)
    days = [START + timedelta(days=i) for i in range((END - START).days + 1)]
    n = len(days)
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=float)
    year_factor = np.where(np.array([d.year for d in days]) == 2025, 0.96, 1.0)
    winter = np.cos(2 * np.pi * (doy - 12) / 365.25)   # +1 mid-January, −1 mid-July
    summer = np.cos(2 * np.pi * (doy - 205) / 365.25)  # +1 late July
    weather = {a: (ar1(rng_for(a, "pm"), n, 0.38, 0.72), ar1(rng_for(a, "o3"), n, 0.20, 0.65)) for a in DISTRICTS}
    rows = []
    for st in stations.sort_values("feature_id").itertuples():
        p = DISTRICTS[st.adcode]
        f_pm, f_no2, f_o3 = FACTORS[(st.level, st.station_type)]
        rng = rng_for(st.feature_id)
        jitter = rng.uniform(0.94, 1.08)
        pm_w, o3_w = weather[st.adcode]
        pm_log = pm_w + rng.normal(0, 0.12, n)
        pm25 = p["pm25"] * f_pm * jitter * year_factor * (1 + 0.5 * winter) * np.exp(pm_log - (0.38 ** 2 + 0.12 ** 2) / 2)
        pm10 = pm25 * rng.uniform(1.45, 1.7) * np.exp(rng.normal(0, 0.08, n))
        so2 = p["so2"] * (1.3 if "园区" in st.name else 1.0) * (1 + 0.25 * winter) * np.exp(0.4 * pm_w + rng.normal(0, 0.2, n) - 0.05)
        no2 = p["no2"] * f_no2 * jitter * (1 + 0.3 * winter) * np.exp(0.5 * pm_w + rng.normal(0, 0.2, n) - 0.06)
        co = p["co"] * (1 + 0.3 * winter) * np.exp(0.4 * pm_w + rng.normal(0, 0.12, n) - 0.03)
        o3 = p["o3"] * f_o3 * rng.uniform(0.96, 1.05) * (1 + 0.45 * summer) * np.exp(o3_w + rng.normal(0, 0.1, n) - 0.025)
        values = {"PM2.5": np.maximum(np.rint(pm25), 3), "PM10": np.maximum(np.rint(pm10), 5), "SO2": np.maximum(np.rint(so2), 2),
                  "NO2": np.maximum(np.rint(no2), 3), "CO": np.maximum(np.round(co, 1), 0.2), "O3_8h": np.maximum(np.rint(o3), 5)}
        # missing: 2–5 whole days per year, and about 0.4 % of single values
        missing_days = set()
        for year in (2024, 2025):
            idx = [i for i, d in enumerate(days) if d.year == year]
            missing_days |= set(rng.choice(idx, int(rng.integers(2, 6)), replace=False).tolist())
        if st.name == OUTAGE[0]:
            first = (OUTAGE[1] - START).days
            missing_days |= set(range(first, first + OUTAGE[2]))
        blank = rng.random((n, len(values))) < 0.004
        for i, d in enumerate(days):
            if i in missing_days:
                continue
            cells = []
            for j, key in enumerate(values):
                v = values[key][i]
                cells.append("" if blank[i, j] else (f"{v:.1f}" if key == "CO" else f"{int(v)}"))
            if all(c == "" for c in cells):
                continue
            rows.append([st.feature_id, d.isoformat(), *cells])
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(rows)
    return {"stations": len(stations), "rows": len(rows), "bytes": out.stat().st_size}


if __name__ == "__main__":
    print(build(), file=sys.stderr)
