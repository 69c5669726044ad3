"""Air-quality API: the stateless AQI calculator (the standards themselves are tested in test_air_standards.py)."""
import math


def _iaqi(c, lo, hi, ilo, ihi):
    return math.ceil((ihi - ilo) / (hi - lo) * (c - lo) + ilo)  # HJ 633 6.2: IAQI rounded up to an integer


def test_calculator_switches_edition_on_2026_03_01(client):
    values = {"PM2.5": 70, "PM10": 50, "SO2": 10, "NO2": 40, "CO": 0.8, "O3_8h": 100}
    before = client.post("/api/air/aqi", json={"date": "2026-02-28", "values": values})
    after = client.post("/api/air/aqi", json={"date": "2026-03-01", "values": values})
    assert before.status_code == after.status_code == 200
    b, a = before.get_json(), after.get_json()
    # HJ 633-2012: PM2.5 24-h 35–75 µg/m³ ↦ IAQI 50–100; HJ 633-2026: 60–115 µg/m³ ↦ 100–150
    assert b["iaqi"]["PM2.5_24h"]["iaqi"] == _iaqi(70, 35, 75, 50, 100) == 94
    assert a["iaqi"]["PM2.5_24h"]["iaqi"] == _iaqi(70, 60, 115, 100, 150) == 110
    assert (b["aqi"], b["category"], b["primary_pollutants"]) == (94, "良", ["PM2.5_24h"])
    assert (a["aqi"], a["category"], a["color"]) == (110, "轻度污染", "#FF7E00")
    assert "HJ 633-2012" in b["edition"]["label_zh"] and "HJ 633-2026" in a["edition"]["label_zh"]


def test_calculator_refuses_unknown_pollutants_and_bad_bodies(client):
    r = client.post("/api/air/aqi", json={"date": "2025-06-01", "values": {"PM1": 80, "PM10": 100}})
    assert r.status_code == 400
    body = r.get_json()
    assert "PM1" in body["error"] and body["error_en"] and "PM2.5_24h" in body["details"]["known_indicators"]
    for bad in ({"values": {"PM2.5": 80}}, {"date": "2025-06-01"}, [1, 2], {"date": "2025-06-01", "values": {"PM2.5": -3}},
                {"date": "2025-06-01", "values": {"PM2.5": "many"}}, {"date": "not a date", "values": {"PM2.5": 3}}):
        r = client.post("/api/air/aqi", json=bad)
        assert r.status_code == 400, bad
        assert r.get_json()["error"]
