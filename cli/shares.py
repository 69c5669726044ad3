"""`flask shares`: area shares against the plans, with findings."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from cli import ctx, user_errors
from render.tables import write_table
from services import shares
from services.context import Actor


@click.command("shares")
@click.option("--district", default=None, help="adcode; default: all districts")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="report.xlsx | report.csv")
@with_appcontext
@user_errors
def shares_cli(district, out):
    """Area shares against the plans (红线、自然保护地、森林覆盖率) with findings."""
    reports = shares.shares_reports(ctx(), Actor.cli(), district)
    plans = ctx().live.get().districts.plans
    for code, result in reports.items():
        for r in result["indicators"]:
            pct = f"{r['computed_pct']:.3f}%" if r["computed_pct"] is not None else "—"
            click.echo(f"{plans[code]['name']} {r['name_zh']}：计算 {pct}，规划 {r['plan_pct'] if r['plan_pct'] is not None else '—'}，{r['status']}")
        for f in result["findings"]:
            click.echo(f"  · {f['text']}")
    if out:
        write_table(out, shares.indicator_rows(ctx(), reports), shares.TABLE_COLUMNS, "面积占比")
        click.echo(f"已写出 {out}")
