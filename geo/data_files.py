"""The project's YAML data files (vocabulary, plans, standards, published figures), each validated by its
JSON schema: a file that fails stops start-up with the file and the first bad field named, since a wrong
word or figure here would reach a reviewer as if it were right."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from geo.errors import ConfigError


def field_path(error: jsonschema.ValidationError) -> str:
    """The offending field: for a missing or unexpected key, that key itself."""
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        parts += [k for k in error.validator_value if k not in error.instance][:1]
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {})
        parts += sorted(str(k) for k in error.instance if k not in allowed)[:1]
    return "/".join(parts) or "(根)"


def load_yaml(path: Path | str, schema: dict | Path | str, what: str = "数据文件 / data file"):
    """The file's content if it is UTF-8 YAML valid against schema (a dict, or the path of a JSON schema)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "(文件)", f"{what}无法读取为 UTF-8 YAML / cannot read as UTF-8 YAML: {exc}") from exc
    if not isinstance(schema, dict):
        schema = json.loads(Path(schema).read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        hint = e.schema.get("description") if isinstance(e.schema, dict) else None
        raise ConfigError(path, field_path(e), f"{e.message} ({hint})" if hint else e.message)
    return raw
