"""Write data/plans/evidence/<adcode>.yaml: the plan lines each plan file cites, from the full plan texts.

    .venv/bin/python data/build_plan_evidence.py <plan-texts-dir> [--plans-dir data/plans] [--out-dir DIR]

<plan-texts-dir> holds the full plan texts, one UTF-8 file per plan, named as the plan file's
``seed`` field. The texts are not part of the project; the evidence files are, so the service and
its tests check every cited quote without them. For each plan the evidence holds the plan title,
the text's file name and SHA-256, its line count, and the exact text of every line the plan file
cites (its ``source.line`` values and the "第N行" references in its notes), not the whole text.
Lines are counted as str.splitlines() does, from 1. The output is checked by loading it back
(geo.plans.load_plans_and_evidence).
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.plans import EVIDENCE_DIRNAME, cited_lines, load_plan, load_plans_and_evidence

HEADER = """\
# {name}（{adcode}）规划原文引用行：由 data/build_plan_evidence.py 从规划全文生成，请勿手工修改。
# 只收录 data/plans/{adcode}.yaml 引用到的行（source.line 及说明中的“第N行”），行文本与全文逐字一致；
# sha256 为规划全文文件字节的 SHA-256，line_count 为全文行数（行号从 1 起）。
"""


def build_evidence(plan: dict, text_bytes: bytes) -> dict:
    """The evidence dict for one plan, given its full text's bytes."""
    lines = text_bytes.decode("utf-8").splitlines()
    wanted = cited_lines(plan)
    beyond = [n for n in wanted if n > len(lines)]
    if beyond:
        raise SystemExit(f"{plan['adcode']}: cited lines {beyond} beyond the {len(lines)} lines of {plan['seed']}")
    return {
        "adcode": plan["adcode"],
        "plan_title": plan["plan_title"],
        "seed": plan["seed"],
        "sha256": hashlib.sha256(text_bytes).hexdigest(),
        "line_count": len(lines),
        "lines": [{"line": n, "text": lines[n - 1]} for n in wanted],
    }


def dump_evidence(plan: dict, evidence: dict) -> str:
    body = yaml.safe_dump(evidence, allow_unicode=True, sort_keys=False, width=1_000_000, default_flow_style=False)
    if yaml.safe_load(body) != evidence:
        raise SystemExit(f"{plan['adcode']}: evidence does not read back unchanged")
    return HEADER.format(name=plan["name"], adcode=plan["adcode"]) + body


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("texts_dir", type=Path, help="folder holding the full plan texts (<seed> file names)")
    ap.add_argument("--plans-dir", type=Path, default=ROOT / "data" / "plans", help="plan files (default: data/plans)")
    ap.add_argument("--out-dir", type=Path, default=None, help=f"output folder (default: <plans-dir>/{EVIDENCE_DIRNAME})")
    args = ap.parse_args(argv)
    out_dir = args.out_dir or args.plans_dir / EVIDENCE_DIRNAME
    plan_paths = sorted(args.plans_dir.glob("*.yaml"))
    if not plan_paths:
        raise SystemExit(f"no plan files in {args.plans_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in plan_paths:
        plan = load_plan(path)
        text_path = args.texts_dir / plan["seed"]
        if not text_path.is_file():
            raise SystemExit(f"{path.name}: plan text {plan['seed']} not found in {args.texts_dir}")
        evidence = build_evidence(plan, text_path.read_bytes())
        (out_dir / path.name).write_text(dump_evidence(plan, evidence), encoding="utf-8")
        print(f"{out_dir / path.name}: {len(evidence['lines'])} lines of {evidence['line_count']}, sha256 {evidence['sha256'][:12]}…")
    load_plans_and_evidence(args.plans_dir, out_dir)  # raises if a quote is not on its line
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
