"""`flask sections import|report`: monitoring measurements in, water-quality reports out."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from cli import ctx, user_errors
from render.tables import write_table
from services import sections
from services.context import Actor

sections_cli = AppGroup("sections", help="监测断面：导入监测数据、输出水质报告")


@sections_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@user_errors
def sections_import(path):
    """Import measurements (CSV/Excel); a file with any bad row is refused whole."""
    done = sections.import_measurements(ctx(), Actor.cli(), Path(path).name, Path(path).read_bytes())
    click.echo(f"已导入 {done['n_records']} 条记录（{done['n_values']} 个数值）")


@sections_cli.command("report")
@click.option("--district", default=None, help="adcode")
@click.option("--period", default=None, help="YYYY-MM; default: latest month")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="report.xlsx | report.csv")
@user_errors
def sections_report(district, period, out):
    """Per-section classes for a month and the district rollup against the plan."""
    result = sections.sections_report(ctx(), Actor.cli(), district, period, title="断面水质报告")
    rows = sections.report_rows(result)
    for r in rows:
        click.echo(f"{r['district']} {r['section']}（{r['level']}）{r['period']}：{r['class'] or '无数据'}类，"
                   f"目标 {r['target_class'] or '未明确'}，{r['compliant']}")
    for c in result["plan_indicators"]:
        click.echo(f"{c['adcode']} {c['name']}：{c['status']}（{c['reason']}）")
    if out:
        write_table(out, rows, sections.REPORT_COLUMNS, "断面水质")
        click.echo(f"已写出 {out}")
