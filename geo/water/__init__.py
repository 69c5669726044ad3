"""Monitoring-section water quality under GB 3838-2002: table, classification, import, rollups.

Pure engine, no Flask. Callers use the package as one namespace (`from geo import water as wq`);
the stages live in their own modules:

- table: the Table 1 limits (data/gb3838_2002.yaml), validated on load; class and parameter names
- values: what counts as a measured value (shared by classify and measurements)
- classify: single-factor class of a sample, month or year, and 超标倍数
- measurements: reading a CSV/.xlsx of section × date rows, all or nothing
- rollup: sections from the plans, counts and shares by class, comparison with plan targets
"""
from geo.water.classify import classify, classify_periods, exceedance
from geo.water.measurements import parse_measurements
from geo.water.rollup import LEVELS, compare_with_plan, parse_target, rollup, section_id, sections_from_plans
from geo.water.table import (PARAMETER_KEYS, SCHEMA_PATH, TABLE_PATH, WATER_BODIES, WATER_BODY_ZH, WORSE_THAN_5,
                             canonical_parameter, class_info, class_name, class_num, expected_parameters,
                             limit_for, load_table, normalize_water_body)

__all__ = [
    "LEVELS", "PARAMETER_KEYS", "SCHEMA_PATH", "TABLE_PATH", "WATER_BODIES", "WATER_BODY_ZH", "WORSE_THAN_5",
    "canonical_parameter", "class_info", "class_name", "class_num", "classify", "classify_periods",
    "compare_with_plan", "exceedance", "expected_parameters", "limit_for", "load_table",
    "normalize_water_body", "parse_measurements", "parse_target", "rollup", "section_id", "sections_from_plans",
]
