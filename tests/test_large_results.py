"""A screening of many sites stays cheap to look at: the result page comes in pages of PAGE_SITES, a PDF or Word
report shows a summary of every site and the REPORT_DETAIL_SITES most severe in full (the Excel table has them all),
and result pages and exports are rate-limited like screenings."""
import io
import subprocess

import docx
import numpy as np
import pytest

from conftest import csrf_token
from services import exports

N_SITES = 60


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    from conftest import create_app

    tmp = tmp_path_factory.mktemp("many")
    app = create_app({"MEASUREMENTS_DB": str(tmp / "m.sqlite"), "INSTANCE_DIR": str(tmp), "RATE_LIMIT_PER_MINUTE": 100_000})
    client = app.test_client()
    rng = np.random.default_rng(7)
    rows = ["name,lon,lat"] + [f"点{i + 1},{105.60 + 0.25 * rng.random():.5f},{29.55 + 0.25 * rng.random():.5f}" for i in range(N_SITES)]
    resp = client.post("/screen", data={"file": (io.BytesIO("\n".join(rows).encode()), "pts.csv"),
                                        "csrf_token": csrf_token(client, "/screen")})
    assert resp.status_code == 303
    return app, client, resp.headers["Location"]


def test_the_result_page_comes_in_pages(many):
    _, client, location = many
    first = client.get(location).get_data(as_text=True)
    assert first.count('<section class="site-result"') == exports.PAGE_SITES
    assert f"共 {N_SITES} 个地块，第 1 / 2 页" in first and "下一页" in first
    second = client.get(location + "?page=2").get_data(as_text=True)
    assert second.count('<section class="site-result"') == N_SITES - exports.PAGE_SITES and "<h2>点51：" in second and "上一页" in second
    assert client.get(location + "?page=999").get_data(as_text=True).count('<section class="site-result"') == N_SITES - exports.PAGE_SITES
    assert client.get(location + "?page=abc").status_code == 200


def test_reports_summarise_a_large_screening(many):
    _, client, location = many
    results = client.get(location + ".json").get_json()["sites"]
    levels = [r["verdict"]["level"] for r in results]
    pdf = client.get(location + ".pdf")
    assert pdf.status_code == 200
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.data, capture_output=True, check=True).stdout.decode()
    assert f"本次共初筛 {N_SITES} 个地块" in text and "初筛汇总" in text
    for label in set(levels):  # the counts per conclusion, computed here from the stored answers
        assert label in text
    document = docx.Document(io.BytesIO(client.get(location + ".docx").data))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading") and p.text.startswith("点")]
    assert len(headings) == exports.REPORT_DETAIL_SITES
    summary = next(t for t in document.tables if t.rows[0].cells[0].text == "序号")
    assert len(summary.rows) == 1 + N_SITES  # every site in the summary table (fewer than REPORT_SUMMARY_ROWS)
    xlsx = client.get(location + ".xlsx")
    assert xlsx.status_code == 200  # the full table


def test_the_most_severe_sites_are_shown_in_full(app):
    vocab = app.extensions["services"].vocab
    word = {k: vocab.statuses["verdict"][k]["label"] for k in exports.SEVERITY}
    results = [{"site": {"name": f"s{i}"}, "verdict": {"level": word["clear"], "summary": "不涉及"}} for i in range(30)]
    results[25]["verdict"] = {"level": word["involved"], "summary": "涉及生态保护红线" + "甲" * 300}
    results[3]["verdict"] = {"level": word["unknown"], "summary": "无法判定"}
    shown = exports.report_selection(results, vocab)
    assert shown["indices"][:2] == [1, 2] and 26 in shown["indices"] and 4 in shown["indices"]
    assert len(shown["indices"]) == exports.REPORT_DETAIL_SITES
    rows = shown["summary"]["rows"]
    assert [r["index"] for r in rows[:2]] == [26, 4] and len(rows[0]["summary"]) == 160
    assert dict(shown["summary"]["counts"]) == {word["involved"]: 1, word["unknown"]: 1, word["clear"]: 28}
    assert exports.report_selection(results[:5], vocab) == {"indices": [1, 2, 3, 4, 5], "summary": None}


def test_result_pages_and_exports_are_rate_limited(make_app):
    app = make_app(RATE_LIMIT_PER_MINUTE=3)
    client = app.test_client()
    seen = [client.get("/screen/results/" + "x" * 22 + fmt).status_code for fmt in ("", ".pdf", ".json", ".xlsx")]
    assert seen[:3] == [404, 404, 404] and seen[3] == 429
