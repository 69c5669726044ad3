"""District plan figures (data/plans/<adcode>.yaml), validated against data/plan.schema.json.

A plan file that fails validation stops start-up with the file and the field named:
a wrong figure here would be signed by a reviewer as if it came from the plan.
"""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from geo.errors import ConfigError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
PLAN_SCHEMA_PATH = DATA_DIR / "plan.schema.json"


def _field_path(error: jsonschema.ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(根)"


def load_plan(path: Path, schema: dict | None = None) -> dict:
    schema = schema or json.loads(PLAN_SCHEMA_PATH.read_text(encoding="utf-8"))
    try:
        plan = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "(文件)", f"不是有效的 UTF-8 YAML / not valid UTF-8 YAML: {exc}") from exc
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(plan), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        raise ConfigError(path, _field_path(e), e.message)
    if plan["adcode"] != path.stem:
        raise ConfigError(path, "adcode", f"{plan['adcode']} 与文件名 {path.stem} 不一致 / does not match the file name")
    keys = [i["key"] for i in plan["indicators"] if "key" in i]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise ConfigError(path, "indicators/key", f"重复的指标键 / duplicate indicator keys: {sorted(dupes)}")
    missing = [k for k in plan["headline"] if k not in keys]
    if missing:
        raise ConfigError(path, "headline", f"首页指标不在 indicators 中 / headline keys not in indicators: {missing}")
    return plan


def load_plans(plans_dir: Path) -> dict[str, dict]:
    """All plans keyed by adcode, in file-name order."""
    schema = json.loads(PLAN_SCHEMA_PATH.read_text(encoding="utf-8"))
    paths = sorted(Path(plans_dir).glob("*.yaml"))
    if not paths:
        raise ConfigError(plans_dir, "(目录)", "没有规划数据文件 / no plan files (*.yaml)")
    return {p.stem: load_plan(p, schema) for p in paths}


def indicator(plan: dict, key: str) -> dict | None:
    return next((i for i in plan["indicators"] if i.get("key") == key), None)
