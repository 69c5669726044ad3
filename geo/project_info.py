"""Project information (项目信息) a reviewer attaches to a screening: 项目名称, 建设单位, … as the vocabulary's
project_fields define them. All optional; what is given is checked here once and then travels with the result into
every output (result page, PDF and Word reports, Excel/CSV, the history of one's checks)."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from geo.errors import DataError

FORM_PREFIX = "project_"  # form field of a project field: project_name, project_builder, …
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")  # 2026-12-01, 2026/12/1, 2026年12月1日
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse(raw, fields: dict) -> dict:
    """The project fields given, in the vocabulary's order, stripped; {} when none. raw: a mapping of key → text
    (the API's project object) or None. Unknown keys, non-text values, over-long texts and bad dates are 400s."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise DataError("project 须为对象，如 {\"name\": \"某某项目\"}", "project must be an object, e.g. {\"name\": \"…\"}")
    unknown = sorted(str(k)[:40] for k in raw if k not in fields)
    if unknown:
        raise DataError(f"无法识别的项目信息字段：{'、'.join(unknown[:5])}（可用：{'、'.join(fields)}）",
                        f"unknown project field(s) {', '.join(unknown[:5])}; known: {', '.join(fields)}")
    out = {}
    for key, spec in fields.items():
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise DataError(f"项目信息“{spec['label']}”须为文字", f"project.{key} must be a string")
        value = _CONTROL.sub("", value).strip()
        if not value:
            continue
        if len(value) > spec["max_length"]:
            raise DataError(f"项目信息“{spec['label']}”最多 {spec['max_length']} 个字符（收到 {len(value)} 个）",
                            f"project.{key} is longer than {spec['max_length']} characters")
        if spec.get("format") == "date":
            match = _DATE.fullmatch(value)
            try:
                value = dt.date(*map(int, match.groups())).isoformat() if match else dt.date.fromisoformat(value).isoformat()
            except ValueError:
                raise DataError(f"项目信息“{spec['label']}”须为日期，如 2026-12-01（收到 {value[:20]}）",
                                f"project.{key} must be a date YYYY-MM-DD") from None
        out[key] = value
    return out


def from_form(form, fields: dict) -> dict:
    """The project fields of an HTML form or multipart request (project_name=…)."""
    return parse({key: form.get(FORM_PREFIX + key) for key in fields if form.get(FORM_PREFIX + key) is not None}, fields)


def rows(project: dict, fields: dict) -> list[tuple[str, str]]:
    """(label, value) of every field given, for a report's cover table."""
    return [(spec["label"], project[key]) for key, spec in fields.items() if project.get(key)]
