"""The shares and sections pages' own Excel and PDF downloads: Chinese headers, the page's figures (checked against
the JSON API of the same page), the plan title and line as 出处 (never the plan's file name), the 示意 flag."""
import io
import subprocess

import pytest
import yaml
from openpyxl import load_workbook

from conftest import ROOT


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()  # reading order


def test_shares_excel_and_pdf_from_the_page(client):
    page = client.get("/districts/500111/shares").get_data(as_text=True)
    assert 'href="/districts/500111/shares.xlsx"' in page and 'href="/districts/500111/shares.pdf"' in page
    plan = yaml.safe_load((ROOT / "data" / "plans" / "500111.yaml").read_text(encoding="utf-8"))
    assert plan["seed"] not in page  # 出处 is the plan's title, not its file
    api = client.get("/api/districts/500111/shares").get_json()
    resp = client.get("/districts/500111/shares.xlsx")
    assert resp.status_code == 200 and 'filename="shares-500111.xlsx"' in resp.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(resp.data))
    rows = list(wb.active.iter_rows(values_only=True))
    header = rows[0]
    assert header[:3] == ("指标", "计算值（%）", "规划值（%）") and "出处" in header and "数据状态" in header
    assert len(rows) - 1 == len(api["indicators"])
    for row, ind in zip(rows[1:], api["indicators"]):
        cell = dict(zip(header, row))
        assert cell["指标"] == ind["name_zh"] and cell["状态"] == ind["status"]
        if ind["computed_pct"] is not None:
            assert cell["计算值（%）"] == pytest.approx(ind["computed_pct"], abs=0.0005)
        if ind["source"] and ind["source"].get("line"):
            assert cell["出处"] == f"《{plan['plan_title']}》第 {ind['source']['line']} 行"
        assert cell["数据状态"] == ("示意数据" if ind["is_demo"] else "正式数据")
    about = dict(list(wb["说明"].iter_rows(values_only=True))[1:])
    assert about["规划"] == plan["plan_title"] and about["数据状态"] == "示意数据"
    text = pdf_text(client.get("/districts/500111/shares.pdf").data)
    red = next(i for i in api["indicators"] if i["indicator"] == "redline_share")
    flat = "".join(text.split())  # table cells wrap anywhere
    assert "大足区面积占比核对" in text and f"第{red['source']['line']}行" in flat and "示意数据" in text
    assert f"{red['computed_pct']:.2f}" in text
    main = text.split("附：")[0]
    assert "pyproj" not in main and "dissolve" not in main  # the method text is in the appendix
    assert client.get("/districts/500111/shares.doc").status_code == 404
    assert client.get("/districts/999999/shares.xlsx").status_code == 404


def test_sections_excel_and_pdf_from_the_page(client):
    api = client.get("/api/sections?district=500110").get_json()
    period = api["period"]
    page = client.get("/districts/500110/sections").get_data(as_text=True)
    assert f'href="/districts/500110/sections.xlsx?period={period}"' in page
    wb = load_workbook(io.BytesIO(client.get(f"/districts/500110/sections.xlsx?period={period}").data))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("区县", "断面", "级别") and "水质类别" in rows[0] and "超标倍数" in rows[0]
    by_name = {r["name"]: r for r in api["sections"]}
    assert len(rows) - 1 == len(api["sections"])
    for row in rows[1:]:
        cell = dict(zip(rows[0], row))
        section = by_name[cell["断面"]]
        assert (cell["水质类别"] or "") == (section["latest_class"] or "") and cell["月份"] == period
    text = pdf_text(client.get(f"/districts/500110/sections.pdf?period={period}").data)
    assert "监测断面水质" in text and "GB 3838-2002" in text
    assert all("".join(name.split()) in "".join(text.split()) for name in by_name)
