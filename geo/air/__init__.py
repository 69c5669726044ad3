"""Ambient air quality: AQI (HJ 633), limits (GB 3095) and annual assessment (HJ 663), both editions.

Pure engine, no Flask. The observation date picks the edition (2012 tables up to 2026-02-28, 2026
tables from 2026-03-01) and every result names the standards it used. Modules, one concept each:

- standards: the tables (data/air_standards.yaml), validated on load; edition_for(date); GB/T 8170 rounding
- aqi: IAQI per indicator, AQI, 首要污染物, class and colour
- ozone: 8-hour moving averages and the daily maximum 8-hour average (MDA8) with their validity
- annual: daily values from hourly data, annual assessment of a station or a city, 优良天数比例
"""
from geo.air.annual import (assess_city, assess_city_hourly, assess_station, assess_station_hourly, daily_from_hourly,
                            percentile)
from geo.air.aqi import aqi, aqi_arrays, aqi_class, canonical_indicator, iaqi
from geo.air.ozone import daily_mda8, moving_average_8h
from geo.air.standards import (SCHEMA_PATH, STANDARDS_PATH, edition_for, limits_for, load_standards, parse_date,
                               round_gbt8170)

__all__ = [
    "SCHEMA_PATH", "STANDARDS_PATH", "aqi", "aqi_arrays", "aqi_class", "assess_city", "assess_city_hourly",
    "assess_station", "assess_station_hourly", "canonical_indicator", "daily_from_hourly", "daily_mda8", "edition_for",
    "iaqi", "limits_for", "load_standards", "moving_average_8h", "parse_date", "percentile", "round_gbt8170",
]
