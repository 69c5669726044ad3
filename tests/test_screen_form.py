"""The screening form keeps what was typed and chosen after an error, and reads typed 纬度,经度 the right way round."""
import html
import re

from conftest import ROOT, csrf_token


def _value(page: str, name: str) -> str | None:
    m = re.search(r'<input name="%s"[^>]*value="([^"]*)"' % re.escape(name), page)
    return html.unescape(m.group(1)) if m else None


def _one(body: dict) -> dict:
    """A stored result's JSON: one site's result, or {"sites": [...]} for several."""
    return body["sites"][0] if "sites" in body else body


def test_an_error_keeps_the_coordinates_and_every_option(client):
    typed = "105.70,29.70\n105.71,29.70"  # two points: neither a point nor a polygon
    resp = client.post("/screen", data={
        "csrf_token": csrf_token(client, "/screen"), "coordinates": typed, "coord_source": "gcj02", "csv_mode": "parcel",
        "crs_code": "", "district": "500111", "bands": "0,200,1000", "corridor_width_m": "30",
        "project_name": "双桥物流园<一期>"})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "至少 3 个点" in page
    assert html.unescape(re.search(r'<textarea name="coordinates"[^>]*>(.*?)</textarea>', page, re.S).group(1)) == typed
    assert re.search(r'value="gcj02" checked', page) and len(re.findall(r'name="coord_source" value="\w+" checked', page)) == 1
    assert re.search(r'<option value="parcel" selected>', page)
    assert re.search(r'<option value="500111" selected>', page)
    assert _value(page, "bands") == "0,200,1000" and _value(page, "corridor_width_m") == "30"
    assert _value(page, "project_name") == "双桥物流园<一期>" and "<一期>" not in page  # kept, and escaped


def test_an_uploaded_file_that_fails_is_asked_for_again_by_name(client):
    resp = client.post("/screen", data={"csrf_token": csrf_token(client, "/screen"), "coord_source": "gps",
                                        "file": ((ROOT / "tests" / "data" / "site_dazu_jzd.txt").open("rb"), "坏文件.exe")},
                       content_type="multipart/form-data")
    assert resp.status_code in (400, 415)
    page = resp.get_data(as_text=True)
    assert "请重新选择“坏文件.exe”" in page and re.search(r'value="gps" checked', page)


def test_latitude_typed_first_is_detected_and_said(client):
    """29.70,105.72 cannot be a longitude first (longitudes in China are 73–136): read as 纬度,经度, with a note."""
    resp = client.post("/screen", data={"csrf_token": csrf_token(client, "/screen"), "coordinates": "29.70,105.72", "coord_source": "gps"})
    assert resp.status_code == 303
    body = _one(client.get(resp.headers["Location"] + ".json").get_json())
    assert body["site"]["centroid"]["lon"] == 105.72 and body["site"]["centroid"]["lat"] == 29.7
    assert any("为纬度" in n and "为经度" in n for n in body["site"]["notes"])
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "为纬度" in page
    # in the expected order nothing is said
    resp = client.post("/screen", data={"csrf_token": csrf_token(client, "/screen"), "coordinates": "105.72,29.70", "coord_source": "gps"})
    body = _one(client.get(resp.headers["Location"] + ".json").get_json())
    assert not any("纬度" in n for n in body["site"]["notes"])


def test_survey_order_typed_polygon_is_read_north_first():
    """X(北),Y(东) as a surveyor writes them, zone prefix on Y: the same polygon as typed east first."""
    from geo import sites

    north_first = sites.sites_from_text("3290000,35560000\n3290000,35561000\n3291000,35561000")
    east_first = sites.sites_from_text("35560000,3290000\n35561000,3290000\n35561000,3291000")
    assert north_first[0].geometry.equals_exact(east_first[0].geometry, 1e-9)
    assert any("北坐标" in n for n in north_first[0].notes) and not east_first[0].notes


def test_downloads_are_named_after_the_project_or_the_site(client):
    from urllib.parse import quote, unquote

    geometry = {"type": "Polygon", "coordinates": [[[105.70, 29.70], [105.71, 29.70], [105.71, 29.71], [105.70, 29.70]]]}
    rid = client.post("/api/screen", json={"geometry": geometry, "project": {"name": "双桥/物流园:一期"}}).get_json()["result_id"]
    for fmt, suffix in (("pdf", ".pdf"), ("xlsx", ".xlsx"), ("shp", "-shp.zip"), ("docx", ".docx")):
        cd = client.get(f"/screen/results/{rid}.{fmt}").headers["Content-Disposition"]
        assert f'filename="screening-{rid}{suffix}"' in cd  # ASCII name for old clients
        assert f"filename*=UTF-8''{quote(f'双桥 物流园 一期-选址初筛-{rid[:6]}{suffix}', safe='')}" in cd, cd
    cd = client.get(f"/screen/results/{rid}.csv?table=summary").headers["Content-Disposition"]
    assert unquote(cd.split("filename*=UTF-8''")[1]) == f"双桥 物流园 一期-选址初筛-汇总表-{rid[:6]}.csv"
    feature = {"type": "Feature", "properties": {"name": "龙水镇 A 地块"}, "geometry": geometry}
    rid = client.post("/api/screen", json={"geometry": feature}).get_json()["result_id"]
    cd = client.get(f"/screen/results/{rid}.kml").headers["Content-Disposition"]
    assert unquote(cd.split("filename*=UTF-8''")[1]) == f"龙水镇 A 地块-选址初筛-{rid[:6]}.kml"
    rid = client.post("/api/screen", json={"geometry": geometry}).get_json()["result_id"]
    assert client.get(f"/screen/results/{rid}.pdf").headers["Content-Disposition"] == f'attachment; filename="screening-{rid}.pdf"'
