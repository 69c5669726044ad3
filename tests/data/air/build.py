"""Write the small air-quality import samples in this folder (run once; the files are committed).

    .venv/bin/python tests/data/air/build.py

Values are made up (示意), laid out as the files reviewers get: see README.md here.
"""
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
DAZU = "大足区城区国控空气自动监测站（龙岗街道）"
SHUANGQIAO = "大足区双桥空气自动监测站"
YUNYANG = "云阳县城大气自动监测站（双江街道）"


def platform_daily_gbk():
    """A daily export of a provincial monitoring platform: GBK, CRLF, station code and name, AQI and its
    category, units in the headers as GBK can write them (μg/m3), blank = missing."""
    rows = [["城市", "站点名称", "站点编码", "日期", "AQI", "质量等级", "首要污染物", "PM2.5(μg/m3)", "PM10(μg/m3)",
             "SO2(μg/m3)", "NO2(μg/m3)", "CO(mg/m3)", "O3_8h(μg/m3)"]]
    vals = [(58, "良", "PM2.5", 42, 66, 9, 31, 0.9, 61), (75, "良", "PM2.5", 55, 82, 10, 35, 1.1, 48),
            (102, "轻度污染", "PM2.5", 77, 110, 12, 41, 1.3, 40)]
    for station, code in ((DAZU, "2937A"), (SHUANGQIAO, "2938A")):
        for i, v in enumerate(vals):
            d = date(2025, 1, 6) + timedelta(days=i)
            rows.append(["重庆市", station, code, d.strftime("%Y/%m/%d"), *map(str, v[:3]), *(str(x) for x in v[3:])])
    rows[-1][10] = ""  # one NO2 value missing at 双桥 on 2025-01-08
    text = "\r\n".join(",".join(r) for r in rows) + "\r\n"
    (HERE / "platform_daily_gbk.csv").write_bytes(text.encode("gbk"))


def daily_cn_headers_xlsx():
    """A sheet typed up in Excel: Chinese pollutant names, a unit row under the header, Excel date cells."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "日均值"
    ws.append(["站点", "日期", "细颗粒物", "可吸入颗粒物", "二氧化硫", "二氧化氮", "一氧化碳", "臭氧8小时"])
    ws.append(["单位", None, "μg/m³", "μg/m³", "μg/m³", "μg/m³", "mg/m³", "μg/m³"])
    for i, (pm25, pm10, so2, no2, co, o3) in enumerate([(21, 35, 6, 18, 0.6, 148), (18, 30, 6, 16, 0.5, 171), (25, 41, 7, 20, 0.6, 163)]):
        ws.append([YUNYANG, datetime(2025, 7, 20 + i), pm25, pm10, so2, no2, co, o3])
    for row in ws.iter_rows(min_row=3, min_col=2, max_col=2):
        row[0].number_format = "yyyy-mm-dd"
    wb.save(HERE / "daily_cn_headers.xlsx")


def hourly_csv():
    """An hourly export (UTF-8 with BOM): one date-time column, the 1-h values, and the derived moving averages
    such exports carry (PM2.5_24h, O3_8h), which are not imported."""
    lines = ["站点,日期时间,PM2.5,PM2.5_24h,PM10,SO2,NO2,CO,O3,O3_8h"]
    for h in range(24):
        o3 = [30, 28, 25, 22, 20, 18, 20, 28, 45, 70, 95, 120, 140, 158, 165, 160, 150, 130, 105, 80, 62, 50, 42, 36][h]
        pm = 30 + (h % 6)
        co = "" if h == 3 else f"0.{6 + h % 3}"  # the CO analyser missed 03:00
        lines.append(f"{DAZU},2025-07-15 {h:02d}:00,{pm},31,{pm + 18},7,{22 + h % 5},{co},{o3},{max(o3 - 10, 20)}")
    (HERE / "hourly.csv").write_bytes(("\n".join(lines) + "\n").encode("utf-8-sig"))


def hourly_date_hour_csv():
    """Hourly values with the date and the hour in separate columns (日期 + 小时, hours 0–23), UTF-8 without BOM."""
    lines = ["站点,日期,小时,PM2.5,O3"]
    for h in (0, 1, 2, 13):
        lines.append(f"{SHUANGQIAO},2025-07-15,{h},{28 + h},{40 + 5 * h}")
    (HERE / "hourly_date_hour.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def bad_rows_gbk():
    """A daily GBK file with one problem in each of rows 3–8 (row 2 is good)."""
    lines = ["站点,日期,PM2.5,PM10,SO2,NO2,CO,O3_8h",
             f"{DAZU},2025-02-01,40,62,8,30,0.9,55",      # 2 good
             "大足区不存在站,2025-02-01,40,62,8,30,0.9,55",  # 3 unknown station
             f"{DAZU},2025-02-30,40,62,8,30,0.9,55",      # 4 no such date
             f"{DAZU},2025-02-03,-4,62,8,30,0.9,55",      # 5 negative
             f"{DAZU},2025-02-04,40,—,8,30,0.9,55",       # 6 not a number
             f"{DAZU},2025-02-01,41,63,8,30,0.9,55",      # 7 same station and day as row 2
             f"{DAZU},2025-02-05,,,,,,"]                  # 8 nothing measured
    (HERE / "bad_rows_gbk.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))


if __name__ == "__main__":
    platform_daily_gbk()
    daily_cn_headers_xlsx()
    hourly_csv()
    hourly_date_hour_csv()
    bad_rows_gbk()
