"""Server-side SVG of a station's year: daily AQI by class over PM2.5 against its 24-h limit, and a calendar of
daily AQI classes. Drawn on the server so the page needs no chart library, prints as it shows and works offline;
every text is escaped (station names come from uploaded layers)."""
from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape

NO_DATA = "#e6e6e6"
MONTHS_ZH = ("1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月")


def _x(d: str, start: date, days: int, left: float, width: float) -> float:
    return left + width * ((date.fromisoformat(d) - start).days + 0.5) / days


def trend_svg(series: dict) -> Markup:
    """Two panels over the same days: AQI bars coloured by class (with the 50/100/150/200 class lines), and the
    PM2.5 24-h mean with the 24-h limit in force each day dashed (it steps where the GB 3095 edition changes)."""
    days = series["days"]
    W, L, R, T, PANEL, GAP, B = 900, 46, 12, 22, 120, 34, 26
    H = T + PANEL + GAP + PANEL + B
    start, end = date.fromisoformat(series["start"]), date.fromisoformat(series["end"])
    n = (end - start).days + 1
    width = W - L - R
    out = [f'<svg class="air-trend" role="img" viewBox="0 0 {W} {H}" width="{W}" height="{H}" xmlns="http://www.w3.org/2000/svg">',
           f'<title>{escape(series["station"]["name"])} {series["start"]}–{series["end"]} 日 AQI 与 PM2.5</title>']
    top = max([200] + [d["aqi"] for d in days if d["aqi"] is not None])
    y1 = lambda v: T + PANEL * (1 - v / top)  # noqa: E731
    out.append(f'<text x="{L}" y="{T - 8}" font-size="12" font-weight="bold">日 AQI（柱色为空气质量指数类别）</text>')
    for v in (50, 100, 150, 200, 300):
        if v <= top:
            out.append(f'<line x1="{L}" x2="{W - R}" y1="{y1(v):.1f}" y2="{y1(v):.1f}" stroke="#bbb" stroke-width="0.6"/>'
                       f'<text x="{L - 4}" y="{y1(v) + 4:.1f}" font-size="10" text-anchor="end">{v}</text>')
    bar = max(width / n - 0.3, 0.6)
    for d in days:
        if d["aqi"] is None:
            continue
        x = _x(d["date"], start, n, L, width) - bar / 2
        out.append(f'<rect x="{x:.2f}" y="{y1(d["aqi"]):.1f}" width="{bar:.2f}" height="{T + PANEL - y1(d["aqi"]):.1f}" '
                   f'fill="{escape(d["color"])}" stroke="#666" stroke-width="0.15"><title>{d["date"]} AQI {d["aqi"]} {escape(d["category"] or "")}</title></rect>')
    out.append(f'<line x1="{L}" x2="{W - R}" y1="{T + PANEL}" y2="{T + PANEL}" stroke="#555"/>')
    # PM2.5 panel
    t2 = T + PANEL + GAP
    pm = [d for d in days if d["pm25"] is not None]
    top2 = max([d["pm25_limit_24h"] for d in days] + [d["pm25"] for d in pm] + [10]) * 1.1
    y2 = lambda v: t2 + PANEL * (1 - v / top2)  # noqa: E731
    out.append(f'<text x="{L}" y="{t2 - 8}" font-size="12" font-weight="bold">PM2.5 日平均（μg/m³），虚线为 GB 3095 二级 24 小时平均浓度限值</text>')
    for v in range(0, int(top2) + 1, 50 if top2 > 150 else 25):
        out.append(f'<line x1="{L}" x2="{W - R}" y1="{y2(v):.1f}" y2="{y2(v):.1f}" stroke="#eee" stroke-width="0.6"/>'
                   f'<text x="{L - 4}" y="{y2(v) + 4:.1f}" font-size="10" text-anchor="end">{v}</text>')
    if days:  # the limit as a step line: one segment per run of days with the same limit
        runs, cur = [], None
        for d in days:
            if cur is None or cur[2] != d["pm25_limit_24h"]:
                cur = [d["date"], d["date"], d["pm25_limit_24h"]]
                runs.append(cur)
            cur[1] = d["date"]
        for a, b, lim in runs:
            xa, xb = _x(a, start, n, L, width) - bar / 2, _x(b, start, n, L, width) + bar / 2
            out.append(f'<line class="air-limit" x1="{xa:.1f}" x2="{xb:.1f}" y1="{y2(lim):.1f}" y2="{y2(lim):.1f}" stroke="#c00000" '
                       f'stroke-width="1.4" stroke-dasharray="5 3"><title>24 小时平均浓度限值 {lim} μg/m³</title></line>'
                       f'<text x="{xb - 2:.1f}" y="{y2(lim) - 4:.1f}" font-size="10" fill="#c00000" text-anchor="end">限值 {lim}</text>')
    if pm:
        pts = " ".join(f"{_x(d['date'], start, n, L, width):.1f},{y2(d['pm25']):.1f}" for d in pm)
        out.append(f'<polyline class="air-pm25" points="{pts}" fill="none" stroke="#1f4e79" stroke-width="1"/>')
    out.append(f'<line x1="{L}" x2="{W - R}" y1="{t2 + PANEL}" y2="{t2 + PANEL}" stroke="#555"/>')
    # month ticks under both panels
    m = date(start.year, start.month, 1)
    while m <= end:
        if m >= start:
            x = L + width * (m - start).days / n
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{t2 + PANEL}" y2="{t2 + PANEL + 4}" stroke="#555"/>'
                       f'<text x="{x + 2:.1f}" y="{t2 + PANEL + 16}" font-size="10">{m.month}月</text>')
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    if not days:
        out.append(f'<text x="{W / 2}" y="{T + PANEL / 2}" font-size="14" text-anchor="middle" fill="#777">该时段没有监测数据</text>')
    out.append("</svg>")
    return Markup("".join(out))


def calendar_svg(series: dict, year: int) -> Markup:
    """A calendar of the year: one row per month, one cell per day, coloured by the day's AQI class (grey: no AQI)."""
    by_day = {d["date"]: d for d in series["days"]}
    C, L, T = 22, 40, 24
    W, H = L + 31 * C + 4, T + 12 * C + 4
    out = [f'<svg class="air-calendar" role="img" viewBox="0 0 {W} {H}" width="{W}" height="{H}" xmlns="http://www.w3.org/2000/svg">',
           f'<title>{escape(series["station"]["name"])} {year} 年逐日空气质量指数类别</title>']
    for day in range(1, 32):
        out.append(f'<text x="{L + (day - 0.5) * C:.0f}" y="{T - 8}" font-size="10" text-anchor="middle">{day}</text>')
    for mi, name in enumerate(MONTHS_ZH):
        y = T + mi * C
        out.append(f'<text x="{L - 6}" y="{y + C * 0.68:.0f}" font-size="11" text-anchor="end">{name}</text>')
        for day in range(1, 32):
            try:
                d = date(year, mi + 1, day).isoformat()
            except ValueError:
                continue
            rec = by_day.get(d)
            fill = rec["color"] if rec and rec["aqi"] is not None else NO_DATA
            tip = f'{d} AQI {rec["aqi"]} {rec["category"]}' if rec and rec["aqi"] is not None else f"{d} 无数据"
            out.append(f'<rect x="{L + (day - 1) * C + 1}" y="{y + 1}" width="{C - 2}" height="{C - 2}" fill="{escape(fill)}" '
                       f'stroke="#999" stroke-width="0.4" data-date="{d}"><title>{escape(tip)}</title></rect>')
    out.append("</svg>")
    return Markup("".join(out))
