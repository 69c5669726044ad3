"""Build the demo water-quality series data/demo_measurements.csv (示意数据), reproducibly.

    .venv/bin/python data/build_demo_measurements.py

Monthly samples 2024-01 … 2025-12 for every monitoring section in data/plans/*.yaml, in the same
format that geo.water.parse_measurements imports (the file is checked by importing it).
The numbers are invented but plausible: each section sits at a quality level matching its plan
facts (2020 class, target class), pollutants rise and DO falls in the summer flood season, and a few
exceedances echo the plans: 大足 玉滩水库入口/出口 reach Ⅳ in some summer months (Ⅳ in 2020 per the
plan), 库心 touches Ⅳ occasionally, and 涪陵 木瓜洞 has one storm-runoff NH3-N peak (2024-07).
Noise is seeded per section (crc32 of its id), so adding a section does not change the others.
"""
from __future__ import annotations

import csv
import io
import math
import random
import sys
import zlib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.plans import load_plans  # noqa: E402
from geo.water import (PARAMETER_KEYS, class_name, classify_periods, load_table,  # noqa: E402
                       parse_measurements, sections_from_plans)

SEED = 2024
OUT = ROOT / "data" / "demo_measurements.csv"
MONTHS = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
COLUMNS = ["adcode", "district", "section", "date", *PARAMETER_KEYS]

# Value at class position 0 ("clean water") below the Ⅰ limit; positions 1–5 are the Table 1 limits.
CLEAN = {"DO": 9.0, "CODMn": 1.0, "COD": 8.0, "BOD5": 1.0, "NH3-N": 0.05, "TP": {"river": 0.01, "lake": 0.005}, "TN": 0.1}
# Typical position of each parameter relative to the section's level: TP usually decides in this basin.
OFFSET = {"DO": -1.2, "CODMn": -0.5, "COD": -0.7, "BOD5": -0.9, "NH3-N": -0.4, "TP": 0.0, "TN": -0.2}
RIVER_TN_OFFSET = 1.6  # rivers carry 1.5–3 mg/L TN; reported but not assessed for rivers
DECIMALS = {"DO": 1, "CODMn": 1, "COD": 0, "BOD5": 1, "NH3-N": 3, "TP": 3, "TN": 2, "pH": 2}
FLOOR = {"DO": 2.5, "CODMn": 0.5, "COD": 4, "BOD5": 0.5, "NH3-N": 0.025, "TP": 0.005, "TN": 0.05}

# (base level, summer amplitude) by section; level 1.5 = middle of class Ⅱ, 2.5 = middle of Ⅲ.
SPECIAL = {
    "500111:玉滩水库入口": (2.55, 0.6),
    "500111:玉滩水库出口": (2.5, 0.6),
    "500111:玉滩水库库心": (2.3, 0.45),
}
SPIKES = {("500102:木瓜洞", "2024-07"): {"NH3-N": 1.8}}  # storm runoff: NH3-N into Ⅳ for one month


def level_of(section: dict) -> tuple[float, float]:
    if section["id"] in SPECIAL:
        return SPECIAL[section["id"]]
    if section["class_2020"] == "Ⅱ" or section["target_class"] == "Ⅱ":
        return 1.5, 0.25
    if section["target_class"]:
        return 1.75, 0.3
    return 1.9, 0.3


def value_at(key: str, wb: str, q: float) -> float:
    """Interpolate between class limits: q in (k-1, k] lands in class k (piecewise linear)."""
    p = load_table()["parameters"][key]
    clean = CLEAN[key][wb] if isinstance(CLEAN[key], dict) else CLEAN[key]
    anchors = [clean, *p["limits"]["lake" if key == "TN" else wb]]
    for i in range(1, 5):  # shared limits (COD 15, BOD5 3 for Ⅰ and Ⅱ): spread the flat step, still Ⅰ
        if anchors[i] == anchors[i + 1]:
            anchors[i] = (anchors[i - 1] + anchors[i + 1]) / 2
    q = max(q, 0.0)
    k = min(int(q), 4)
    return anchors[k] + (q - k) * (anchors[k + 1] - anchors[k])


def sample(section: dict, month: str, rng: random.Random) -> dict:
    base, amp = level_of(section)
    y, m = int(month[:4]), int(month[5:])
    season = math.cos(2 * math.pi * (m - 7.5) / 12)  # +1 in Jul/Aug, −1 in Jan/Feb
    trend = -0.12 if y == 2025 else 0.0
    wb = section["water_body"]
    out = {}
    for key in PARAMETER_KEYS:
        if key == "pH":
            out[key] = round(rng.uniform(7.2, 8.3) - 0.15 * season, 2)
            continue
        offset = OFFSET[key] + (RIVER_TN_OFFSET if key == "TN" and wb == "river" else 0.0)
        q = base + offset + amp * season + trend + rng.gauss(0, 0.15)
        q += SPIKES.get((section["id"], month), {}).get(key, 0.0)
        v = max(value_at(key, wb, q), FLOOR[key])
        out[key] = round(v, DECIMALS[key])
    return out


def build() -> str:
    plans = load_plans(ROOT / "data" / "plans")
    sections = sections_from_plans(plans)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for s in sections:
        rng = random.Random(SEED ^ zlib.crc32(s["id"].encode("utf-8")))
        for month in MONTHS:
            day = rng.randint(5, 20)
            vals = sample(s, month, rng)
            w.writerow([s["adcode"], s["district"], s["name"], f"{month}-{day:02d}",
                        *[f"{vals[k]:.{DECIMALS[k]}f}" for k in PARAMETER_KEYS]])
    return buf.getvalue()


def main():
    text = build()
    OUT.write_text(text, encoding="utf-8")
    sections = sections_from_plans(load_plans(ROOT / "data" / "plans"))
    records = parse_measurements(OUT, OUT.name, sections)  # must import cleanly
    print(f"{OUT.relative_to(ROOT)}: {len(records)} rows, {OUT.stat().st_size / 1024:.1f} KB")
    for s in sections:
        res = classify_periods([r for r in records if r["section_id"] == s["id"]], s["water_body"], s["target_class"])
        months = Counter(m["class"] for m in res["monthly"])
        annual = ", ".join(f"{a['year']} {a['class']}" for a in res["annual"])
        print(f"  {s['id']:<16} target {s['target_class'] or '-'}  monthly "
              + " ".join(f"{class_name(n)}×{months[class_name(n)]}" for n in range(1, 7) if months[class_name(n)])
              + f"  annual {annual}")


if __name__ == "__main__":
    main()
