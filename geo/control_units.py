"""三线一单 environmental control units (环境管控单元): the published figures each district's units are
checked against (data/control_units.yaml, validated by data/control_units.schema.json), and the
准入清单 of a unit read from its dimension attributes.

A requirement is one line of a dimension's text; a line starting 【level】 (a vocabulary
requirement_levels word) is of that level, any other line of the last level (单元), so an official
list typed as plain text stays readable and a list that names its levels keeps them.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from geo import vocabulary
from geo.data_files import load_yaml
from geo.errors import ConfigError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
PUBLISHED_PATH = DATA_DIR / "control_units.yaml"
SCHEMA_PATH = DATA_DIR / "control_units.schema.json"
KIND = "control_unit"  # the vocabulary kind these figures are for
CLASS_ATTRIBUTE = "unit_class"
PRIORITY_CLASS = "优先保护单元"  # the class the red line is expected to lie in
_LEVEL = re.compile(r"^\s*【([^】]{1,12})】\s*")


def load_published(path: Path | str = PUBLISHED_PATH, vocab=None) -> dict:
    """The published unit counts and shares per district, and the demo 准入清单; ConfigError naming the field
    when the file is invalid or names a class or dimension the vocabulary does not have."""
    path = Path(path)
    vocab = vocab or vocabulary.default()
    raw = load_yaml(path, SCHEMA_PATH, "管控单元公布数字")
    kind = vocab.kinds.get(KIND)
    if kind is None:
        return raw
    classes = set(kind.attribute(CLASS_ATTRIBUTE).values)
    for adcode, district in raw["districts"].items():
        unknown = set(district["classes"]) - classes
        if unknown:
            raise ConfigError(path, f"districts/{adcode}/classes", f"未知的管控类别 / unknown classes: {sorted(unknown)}")
        total = sum(c["share_pct"] for c in district["classes"].values())
        if abs(total - 100) > 0.15:
            raise ConfigError(path, f"districts/{adcode}/classes", f"各类单元占比之和为 {total:g}%，应为 100% / shares must add up to 100")
    for cls, dims in raw["demo_requirements"].items():
        if cls not in classes:
            raise ConfigError(path, f"demo_requirements/{cls}", "未知的管控类别 / unknown class")
        unknown = set(dims) - set(kind.admission_list)
        if unknown:
            raise ConfigError(path, f"demo_requirements/{cls}", f"未知的准入清单维度 / unknown dimensions: {sorted(unknown)}")
    return raw


@lru_cache(maxsize=1)
def published() -> dict:
    return load_published()


def requirements(text, levels: tuple[str, ...]) -> list[dict]:
    """[{"level", "text"}] of one dimension's text: one requirement per non-empty line."""
    out = []
    for line in str(text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        m = _LEVEL.match(line)
        level = m.group(1) if m and m.group(1) in levels else levels[-1]
        body = line[m.end():] if m and m.group(1) in levels else line
        if body.strip():
            out.append({"level": level, "text": body.strip()})
    return out


def admission_list(kind, attributes: dict, levels: tuple[str, ...] | None = None) -> list[dict]:
    """A unit's 准入清单 by dimension: [{"dimension", "label", "requirements": [{"level", "text"}]}], in
    the vocabulary's order; [] for a kind without one."""
    levels = levels or vocabulary.default().requirement_levels
    return [{"dimension": key, "label": kind.attribute(key).label, "requirements": requirements(attributes.get(key), levels)}
            for key in kind.admission_list]


def requirement_text(items: list[str]) -> str:
    """Demo requirement lines (already 【level】-prefixed) as one attribute value."""
    return "\n".join(items)
