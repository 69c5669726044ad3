"""Air-quality stations (环境空气质量监测站): the application services the page, the API and the CLI call.

The computation is geo.air (HJ 633 / GB 3095 / HJ 663, the edition chosen by each date); this module
joins it with the stations of the layer store and the stored daily values.
"""
from __future__ import annotations

from geo import air
from geo.errors import DataError


def calculate(payload) -> dict:
    """The stateless AQI calculator: {"date": "YYYY-MM-DD", "values": {"PM2.5": 80, ...}} (24-hour means; CO mg/m³)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("values"), dict) or not payload.get("date"):
        raise DataError('请求体须为 {"date": "YYYY-MM-DD", "values": {"PM2.5": 80, "PM10": 120, "SO2": 10, "NO2": 40, "CO": 0.8, "O3_8h": 150}}',
                        'body must be {"date": "YYYY-MM-DD", "values": {...}} with 24-hour means (CO in mg/m³)')
    return air.aqi(payload["values"], payload["date"])
