"""Area-share routes, page, home badges and CLI against independently computed figures."""
import pytest
import shapely
from pyproj import Geod

from conftest import ADCODES

GEOD = Geod(ellps="GRS80")


def m2(geom):
    return abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))[0])


@pytest.mark.parametrize("adcode", ADCODES)
def test_redline_share_row(client, service, adcode):
    body = client.get(f"/api/districts/{adcode}/shares").get_json()
    row = next(r for r in body["indicators"] if r["indicator"] == "redline_share")
    for key in ("computed_pct", "plan_pct", "diff_pct_points", "tolerance_pct_points", "status", "numerator_m2",
                "denominator_m2", "method", "source"):
        assert key in row
    district = service.store.read("district", adcode).geometry.union_all()
    red = service.store.read("redline", adcode).geometry.union_all()
    expected = m2(red.intersection(district)) / m2(district) * 100
    assert row["computed_pct"] == pytest.approx(expected, abs=0.001)
    assert row["diff_pct_points"] == pytest.approx(row["computed_pct"] - row["plan_pct"], abs=1e-9)
    assert row["source"]["line"] == service.plans[adcode]["redline"]["source"]["line"]
    assert "椭球" in row["method"]
    assert "geometry" not in next(iter(body["conflicts"].values()))


def test_qijiang_denominator_finding_and_alternative(client):
    body = client.get("/api/districts/500110/shares").get_json()
    main = next(r for r in body["indicators"] if r["indicator"] == "redline_share")
    alt = next(r for r in body["indicators"] if r["indicator"] == "redline_share_alt")
    assert main["status"] == "不符合" and alt["status"] == "符合"
    assert any("万盛" in f["text"] and "2186" in f["text"] for f in body["findings"])


def test_plan_statuses_of_the_demo(client):
    """The demo is calibrated to the plans: every stated red-line area and share agrees."""
    for adcode in ("500152", "500235", "500111", "500102"):
        row = next(r for r in client.get(f"/api/districts/{adcode}/shares").get_json()["indicators"] if r["indicator"] == "redline_share")
        assert row["status"] == "符合", adcode


def test_shares_page_home_badges_and_errors(client):
    html = client.get("/districts/500235/shares").get_data(as_text=True)
    assert "图层叠加矩阵" in html and "生态保护红线面积比例" in html and "冲突区域" in html
    home = client.get("/").get_data(as_text=True)
    assert "badge status-ok" in home
    assert client.get("/api/districts/999999/shares").status_code == 404
    assert client.get("/api/districts/500110/shares?geometry=1").get_json()["conflicts"]["reserve_outside_redline"]["geometry"]


def test_cli_shares(app, tmp_path):
    out = tmp_path / "shares.xlsx"
    result = app.test_cli_runner().invoke(args=["shares", "--district", "500111", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "大足区 生态保护红线面积比例" in result.output and out.read_bytes()[:2] == b"PK"
