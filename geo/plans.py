"""District plan figures (data/plans/<adcode>.yaml), validated against data/plan.schema.json,
and the plan lines they cite (data/plans/evidence/<adcode>.yaml, data/plan_evidence.schema.json).

A plan file that fails validation stops start-up with the file and the field named:
a wrong figure here would be signed by a reviewer as if it came from the plan.

The full plan texts are not shipped. Each plan's evidence file holds the plan title, the text's
file name and SHA-256, and the exact text of every line the plan file cites (``source.line`` and
the "第N行" references in notes); data/build_plan_evidence.py writes it from the full texts.
Start-up checks that every cited line is in the evidence and every quote is on its line.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from geo.data_files import load_yaml
from geo.errors import ConfigError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
PLAN_SCHEMA_PATH = DATA_DIR / "plan.schema.json"
EVIDENCE_SCHEMA_PATH = DATA_DIR / "plan_evidence.schema.json"
EVIDENCE_DIRNAME = "evidence"


def load_plan(path: Path, schema: dict | None = None) -> dict:
    plan = load_yaml(path, schema or PLAN_SCHEMA_PATH, "规划数据")
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


def load_plans(plans_dir: Path, evidence_dir: Path | None = None) -> dict[str, dict]:
    """All plans keyed by adcode, in file-name order; their evidence is loaded and checked too.

    Use load_plans_and_evidence() to keep the evidence (for plan_citations())."""
    return load_plans_and_evidence(plans_dir, evidence_dir)[0]


def load_plans_and_evidence(plans_dir: Path, evidence_dir: Path | None = None) -> tuple[dict[str, dict], dict[str, dict]]:
    """(plans, evidence), both keyed by adcode in file-name order.

    ``evidence_dir`` defaults to ``<plans_dir>/evidence``. Raises ConfigError when a plan or its
    evidence file is missing or invalid, a cited line is not in the evidence, or a quote is not on
    its line."""
    plans_dir = Path(plans_dir)
    evidence_dir = Path(evidence_dir) if evidence_dir is not None else plans_dir / EVIDENCE_DIRNAME
    schema = json.loads(PLAN_SCHEMA_PATH.read_text(encoding="utf-8"))
    evidence_schema = json.loads(EVIDENCE_SCHEMA_PATH.read_text(encoding="utf-8"))
    paths = sorted(plans_dir.glob("*.yaml"))
    if not paths:
        raise ConfigError(plans_dir, "(目录)", "没有规划数据文件 / no plan files (*.yaml)")
    plans: dict[str, dict] = {}
    evidence: dict[str, dict] = {}
    for p in paths:
        plan = load_plan(p, schema)
        ev_path = evidence_dir / p.name
        ev = load_evidence(ev_path, evidence_schema)
        check_evidence(plan, ev, p, ev_path)
        plans[p.stem] = plan
        evidence[p.stem] = ev
    return plans, evidence


def load_evidence(path: Path, schema: dict | None = None) -> dict:
    """One evidence file, validated: {adcode, plan_title, seed, sha256, line_count, lines: [{line, text}]}."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(path, "(文件)", "缺少规划原文引用行文件，请用 data/build_plan_evidence.py <规划全文目录> 生成"
                          " / evidence file missing: run data/build_plan_evidence.py <plan-texts-dir>")
    evidence = load_yaml(path, schema or EVIDENCE_SCHEMA_PATH, "规划原文引用行")
    previous = 0
    for i, entry in enumerate(evidence["lines"]):
        if entry["line"] <= previous:
            raise ConfigError(path, f"lines/{i}/line", f"行号须严格递增 / line numbers must increase: {entry['line']} after {previous}")
        if entry["line"] > evidence["line_count"]:
            raise ConfigError(path, f"lines/{i}/line", f"第 {entry['line']} 行超出全文行数 {evidence['line_count']} / beyond line_count")
        previous = entry["line"]
    return evidence


def evidence_lines(evidence: dict) -> dict[int, str]:
    """{line number: exact line text} of one evidence file."""
    return {e["line"]: e["text"] for e in evidence["lines"]}


# "第452行", "第22、146行", "第372–373行" in notes and findings: plan lines cited in prose.
_PROSE_LINES = re.compile(r"第(\d+(?:\s*[、，,和及]\s*\d+|\s*[–—~～至-]\s*\d+)*)\s*行")
_PROSE_RANGE = re.compile(r"(\d+)\s*[–—~～至-]\s*(\d+)")


def _prose_lines(text: str) -> set[int]:
    out: set[int] = set()
    for m in _PROSE_LINES.finditer(text):
        group = m.group(1)
        for a, b in _PROSE_RANGE.findall(group):
            out.update(range(int(a), int(b) + 1))
        out.update(int(n) for n in re.findall(r"\d+", _PROSE_RANGE.sub("", group)))
    return out


def _walk(node, path: str = "") -> Iterator[tuple[str, object]]:
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{path}/{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}/{i}" if path else str(i))


def _source_nodes(plan: dict) -> Iterator[tuple[str, dict]]:
    """(path, node) of every citation node ({line, quote?}) in a plan, in file order."""
    for path, node in _walk(plan):
        if isinstance(node, dict) and isinstance(node.get("line"), int) and not isinstance(node["line"], bool):
            yield path, node


def cited_lines(plan: dict) -> list[int]:
    """Every plan-text line a plan file cites: its source lines and the "第N行" in its prose."""
    lines = {node["line"] for _, node in _source_nodes(plan)}
    for _, node in _walk(plan):
        if isinstance(node, str):
            lines |= _prose_lines(node)
    return sorted(lines)


def check_evidence(plan: dict, evidence: dict, plan_path: Path, evidence_path: Path) -> None:
    """ConfigError unless the evidence belongs to the plan, holds every cited line, and every quote is on its line."""
    for field in ("adcode", "seed", "plan_title"):
        if evidence[field] != plan[field]:
            raise ConfigError(evidence_path, field, f"{evidence[field]!r} 与规划数据 {plan[field]!r} 不一致 / does not match {plan_path}")
    lines = evidence_lines(evidence)
    for path, node in _source_nodes(plan):
        line = node["line"]
        if line not in lines:
            raise ConfigError(evidence_path, "lines", f"缺少 {plan_path} 中 {path} 引用的第 {line} 行，请重新生成 / "
                                                      f"line {line} cited at {path} is missing: regenerate")
        quote = node.get("quote")
        if quote is not None and quote not in lines[line]:
            raise ConfigError(plan_path, f"{path}/quote", f"引文 {quote!r} 不在原文第 {line} 行 {lines[line]!r} 中 / "
                                                          f"quote not on line {line} of {evidence['seed']}")
    missing = [n for n in cited_lines(plan) if n not in lines]
    if missing:
        raise ConfigError(evidence_path, "lines", f"缺少说明文字中引用的行 {missing}，请重新生成 / lines cited in notes are missing: regenerate")


# --- every figure the service uses from a plan, with the plan line it comes from ------------------

_SECTIONS = {
    "redline": "生态保护红线",
    "protected_area_share": "自然保护地",
    "indicators": "规划指标",
    "protected_areas": "自然保护地",
    "water_sources": "饮用水水源地",
    "monitoring_sections": "地表水监测断面",
    "control_rules": "管控要求",
    "findings": "规划文本自身的不一致",
}
_WATER_BODY = {"河流": "河流型", "湖库": "湖库型", "地下水": "地下水型"}
UNSTATED = "规划未写明"


def _num(v) -> str:
    if v is None:
        return UNSTATED
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _or_unstated(v) -> str:
    return UNSTATED if v in (None, "") else str(v)


def _describe(path: str, owner: dict, key: str, rule_labels: dict[str, str]) -> list[tuple[str, str, str, object, str, str | None]]:
    """Rows (path, section_zh, label_zh, value, value_zh, note) for one citation node under ``owner``."""
    parts = path.split("/")
    top = parts[0]
    section = _SECTIONS.get(top, "其他")
    note = owner.get("note")
    if top == "redline" and len(parts) == 1:
        rows = []
        area = owner.get("area_km2")
        area_row = ("redline/area_km2", section, "生态保护红线面积（平方公里）", area, f"{_num(area)} 平方公里", None)
        if key == "area_source":
            return [area_row]
        if area is not None and "area_source" not in owner:
            rows.append(area_row)
        share = owner.get("share_pct")
        rows.append(("redline/share_pct", section, "生态保护红线面积占辖区面积比例（%）", share,
                     f"{_num(share)}%" if share is not None else UNSTATED, note))
        return rows
    if top == "protected_area_share":
        value = {k: owner.get(k) for k in ("share_pct", "area_km2", "target")}
        bits = [f"占比 {_num(owner.get('share_pct'))}%" if owner.get("share_pct") is not None else f"占比 {UNSTATED}"]
        if owner.get("area_km2") is not None:
            bits.append(f"面积 {_num(owner['area_km2'])} 平方公里")
        bits.append(f"2025年目标 {_or_unstated(owner.get('target'))}")
        return [("protected_area_share", section, "自然保护地面积占辖区面积比例（%）", value, "；".join(bits), note)]
    if top == "indicators" and len(parts) == 2:
        unit = owner.get("unit") or ""
        label = f"{owner['name']}（{unit}）" if unit else owner["name"]
        value = {"value_2020": owner.get("value_2020"), "target_2025": owner.get("target_2025"),
                 "unit": unit, "category": owner.get("category")}
        value_zh = f"2020年现状：{_or_unstated(owner.get('value_2020'))}；2025年目标：{_or_unstated(owner.get('target_2025'))}"
        if owner.get("category"):
            value_zh += f"（{owner['category']}）"
        return [(path, section, label, value, value_zh, note)]
    if top == "protected_areas" and len(parts) == 2:
        value = {"name": owner["name"], "type": owner["type"], "level": owner.get("level"), "area_km2": owner.get("area_km2")}
        value_zh = f"{owner.get('level') or ''}{owner['type']}"
        if owner.get("area_km2") is not None:
            value_zh += f"，面积 {_num(owner['area_km2'])} 平方公里"
        return [(path, section, f"自然保护地：{owner['name']}", value, value_zh, note)]
    if top == "water_sources" and len(parts) == 2:
        value = {"name": owner["name"], "scale": owner["scale"], "water_body": owner["water_body"], "river": owner.get("river")}
        value_zh = f"{owner['scale']}集中式，{_WATER_BODY.get(owner['water_body'], owner['water_body'])}"
        if owner.get("river"):
            value_zh += f"（{owner['river']}）"
        return [(path, section, f"集中式饮用水水源地：{owner['name']}", value, value_zh, note)]
    if top == "monitoring_sections" and len(parts) == 2:
        value = {"name": owner["name"], "river": owner.get("river"), "level": owner["level"],
                 "target_class": owner.get("target_class"), "class_2020": owner.get("class_2020")}
        where = f"（{owner['river']}）" if owner.get("river") else ""
        tc, c20 = owner.get("target_class"), owner.get("class_2020")
        value_zh = (f"{owner['level']}断面；水质目标：{tc + '类' if tc else UNSTATED}；"
                    f"2020年水质：{c20 + '类' if c20 else UNSTATED}")
        return [(path, section, f"监测断面：{owner['name']}{where}", value, value_zh, note)]
    if top == "control_rules" and len(parts) == 3:
        return [(path, section, f"管控要求（{rule_labels.get(parts[1], parts[1])}）", owner["text"], owner["text"], None)]
    if top == "findings" and len(parts) == 2:
        return [(path, section, "规划文本中的不一致或疑点", owner["text"], owner["text"], None)]
    # a citation node the labels above do not know: show the node's own fields
    value = {k: v for k, v in owner.items() if not isinstance(v, (dict, list))}
    return [(path, section, path, value, "；".join(f"{k}：{v}" for k, v in value.items()), None)]


def plan_citations(plan: dict, evidence: dict, rule_labels: dict[str, str]) -> list[dict]:
    """Every figure the service uses from ``plan``, in file order, with the plan line it comes from.

    Each item is plain data: {"path", "section_zh", "label_zh", "value", "value_zh", "note",
    "quote", "line", "line_text", "plan_title", "seed"}. ``value`` is the figure as stored (a number,
    a string, or a small dict for indicators and named features); ``value_zh`` is the same in words;
    ``line_text`` is the cited line's full text from the evidence. ``rule_labels`` names each
    control_rules key (the vocabulary's kinds: ``Vocabulary.rule_labels``)."""
    lines = evidence_lines(evidence)
    out: list[dict] = []
    for path, node in _source_nodes(plan):
        owner_path, _, key = path.rpartition("/")
        owner = plan
        for part in owner_path.split("/") if owner_path else []:
            owner = owner[int(part)] if isinstance(owner, list) else owner[part]
        if node["line"] not in lines:
            raise ConfigError(f"{EVIDENCE_DIRNAME}/{plan['adcode']}.yaml", "lines", f"缺少第 {node['line']} 行 / line {node['line']} missing")
        for row_path, section, label, value, value_zh, note in _describe(owner_path, owner, key, rule_labels):
            out.append({
                "path": row_path,
                "section_zh": section,
                "label_zh": label,
                "value": value,
                "value_zh": value_zh,
                "note": note,
                "quote": node.get("quote"),
                "line": node["line"],
                "line_text": lines[node["line"]],
                "plan_title": plan["plan_title"],
                "seed": plan["seed"],
            })
    return out


def indicator(plan: dict, key: str) -> dict | None:
    return next((i for i in plan["indicators"] if i.get("key") == key), None)
