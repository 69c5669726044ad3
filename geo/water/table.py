"""The GB 3838-2002 Table 1 limits (data/gb3838_2002.yaml) and the names that go with them.

The limits are data, not code, and are validated on load against data/gb3838_2002.schema.json
plus the checks a schema cannot express (limit order, finite numbers): a wrong limit would
silently mis-class every section a reviewer signs off, so a bad table stops start-up naming
the file and the field.

class_num is 1–5 for Ⅰ–Ⅴ and 6 for 劣Ⅴ. Values are mg/L except pH (dimensionless).
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import jsonschema

from geo.data_files import load_yaml
from geo.errors import ConfigError, DataError

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"
TABLE_PATH = DATA_DIR / "gb3838_2002.yaml"
SCHEMA_PATH = DATA_DIR / "gb3838_2002.schema.json"

PARAMETER_KEYS = ("DO", "CODMn", "COD", "BOD5", "NH3-N", "TP", "TN", "pH")
WATER_BODIES = ("river", "lake")
WORSE_THAN_5 = 6
_WATER_BODY_ALIASES = {
    "river": "river", "河流": "river", "河": "river",
    "lake": "lake", "湖库": "lake", "湖泊": "lake", "水库": "lake", "湖": "lake", "库": "lake",
    "lake/reservoir": "lake", "reservoir": "lake",
}
WATER_BODY_ZH = {"river": "河流", "lake": "湖库"}
_ROMAN_ASCII = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}


# ---------------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    listed = tuple(schema["properties"]["parameters"]["required"])
    if listed != PARAMETER_KEYS:  # the code assesses exactly these; the schema must agree
        raise ConfigError(SCHEMA_PATH, "properties/parameters/required",
                          f"应为 {list(PARAMETER_KEYS)} / must be {list(PARAMETER_KEYS)}: {list(listed)}")
    return jsonschema.Draft202012Validator(schema)


def _check_semantics(raw: dict, path: Path) -> None:
    """What the schema cannot say: finite numbers, limits monotonic from Ⅰ to Ⅴ, range low < high."""
    for key in PARAMETER_KEYS:
        p, where = raw["parameters"][key], f"parameters/{key}"
        if p["direction"] == "range":
            lo, hi = p["range"]
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ConfigError(path, f"{where}/range", "应为有限数 [下限, 上限]，下限小于上限 / "
                                                         f"must be finite [low, high] with low < high: {p['range']!r}")
            continue
        lim = p["limits"]
        for w, seq in (lim.items() if isinstance(lim, dict) else [(None, lim)]):
            field = f"{where}/limits" + (f"/{w}" if w else "")
            if not all(math.isfinite(v) for v in seq):
                raise ConfigError(path, field, f"限值应为有限数 / limits must be finite: {seq!r}")
            pairs = list(pairwise(seq))
            ordered = all(a <= b for a, b in pairs) if p["direction"] == "max" else all(a >= b for a, b in pairs)
            if not ordered:
                raise ConfigError(path, field, "限值顺序错误（污染物应逐类不减，溶解氧应逐类不增） / limits out of order "
                                               "(pollutants must not decrease from Ⅰ to Ⅴ, DO must not increase)")


def _normalise(raw: dict) -> dict:
    """Tuples instead of lists, floats instead of ints, applies_to filled in, parameters in code order."""
    params = {}
    for key in PARAMETER_KEYS:
        p = raw["parameters"][key]
        applies_to = tuple(p.get("applies_to", WATER_BODIES))
        entry = {"key": key, "name_zh": p["name_zh"], "unit": p["unit"], "direction": p["direction"],
                 "applies_to": applies_to, "limits": None, "range": None, "note": p.get("note")}
        if p["direction"] == "range":
            entry["range"] = tuple(float(v) for v in p["range"])
        else:
            lim = p["limits"]
            per_body = lim if isinstance(lim, dict) else {w: lim for w in applies_to}
            entry["limits"] = {w: tuple(float(v) for v in seq) for w, seq in per_body.items()}
        params[key] = entry
    classes = [{f: c[f] for f in ("num", "name", "color", "quality")} for c in raw["classes"]]
    return {"standard": raw.get("standard"), "title": raw.get("title"), "source": raw["source"].strip(),
            "classes": classes, "parameters": params}


@lru_cache(maxsize=8)
def _load_table_cached(path_str: str) -> dict:
    path = Path(path_str)
    raw = load_yaml(path, _validator().schema, "水质标准表")
    _check_semantics(raw, path)
    return _normalise(raw)


def load_table(path: Path | str | None = None) -> dict:
    """The validated GB 3838-2002 table (cached per path). Raises ConfigError naming the bad field."""
    return _load_table_cached(str(Path(path or TABLE_PATH).resolve()))


def _table() -> dict:
    return load_table()


_table()  # fail loudly at import if the shipped table is malformed


# ---------------------------------------------------------------------------------------------
# Classes, water bodies, parameter names
# ---------------------------------------------------------------------------------------------

def class_name(num: int) -> str:
    return _table()["classes"][num - 1]["name"]


def class_info(num: int) -> dict:
    """{'num', 'name', 'color', 'quality'} for class_num 1–6."""
    return dict(_table()["classes"][num - 1])


def class_num(name) -> int:
    """'Ⅲ', 'III', 'Ⅲ类', '3', 3 → 3; '劣Ⅴ' / '劣V' → 6. Raises DataError otherwise."""
    if isinstance(name, int) and not isinstance(name, bool) and 1 <= name <= 6:
        return name
    text = str(name).strip().removesuffix("类").strip() if name is not None else ""
    for c in _table()["classes"]:
        if text == c["name"]:
            return c["num"]
    ascii_text = text.upper()
    if ascii_text.startswith("劣") and ascii_text[1:] == "V":
        return WORSE_THAN_5
    if ascii_text in _ROMAN_ASCII:
        return _ROMAN_ASCII[ascii_text]
    if text.isdigit() and 1 <= int(text) <= 6:
        return int(text)
    raise DataError(f"无法识别的水质类别：{name!r}（应为Ⅰ–Ⅴ或劣Ⅴ）",
                    f"unrecognised water-quality class {name!r} (expected Ⅰ–Ⅴ or 劣Ⅴ)")


def target_num(target_class) -> int:
    """class_num of a target class; a target cannot be 劣Ⅴ."""
    num = class_num(target_class)
    if num == WORSE_THAN_5:
        raise DataError("目标类别不能是劣Ⅴ类", "the target class cannot be 劣Ⅴ")
    return num


def normalize_water_body(water_body) -> str:
    """'river' | 'lake' from river/lake/河流/湖库 (also 湖泊, 水库)."""
    wb = _WATER_BODY_ALIASES.get(str(water_body).strip().lower()) if water_body is not None else None
    if wb is None:
        raise DataError(f"水体类型应为 river/河流 或 lake/湖库，收到 {water_body!r}",
                        f"water_body must be river/河流 or lake/湖库, got {water_body!r}")
    return wb


@lru_cache(maxsize=1)
def _param_aliases() -> dict[str, str]:
    """Lower-case column/key spellings → canonical key: the key itself and its Chinese name."""
    out = {}
    for key, p in _table()["parameters"].items():
        out[key.lower()] = key
        zh = p["name_zh"]
        out[zh.lower()] = key
        out[re.split(r"[（(]", zh)[0].strip().lower()] = key
    return out


def canonical_parameter(name) -> str | None:
    """'nh3-n', 'NH3-N', '氨氮' → 'NH3-N'; None if unknown."""
    return _param_aliases().get(str(name).strip().lower())


def expected_parameters(water_body: str) -> list[str]:
    """Parameters assessed for this water body, in table order."""
    wb = normalize_water_body(water_body)
    return [k for k, p in _table()["parameters"].items() if wb in p["applies_to"]]


def limit_for(key: str, water_body: str, target_class_num: int):
    """The Table 1 limit of one parameter for a class (pH: its [6, 9] range); for drawing target lines."""
    p = _table()["parameters"][key]
    if p["direction"] == "range":
        return list(p["range"])
    return p["limits"][normalize_water_body(water_body)][target_num(target_class_num) - 1]
