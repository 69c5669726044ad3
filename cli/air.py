"""`flask air import` / `flask air report`: air-quality monitoring data (daily or hourly, CSV/Excel) and a district's
stations, annual assessment and plan indicators."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from cli import ctx, user_errors
from services import air
from services.context import Actor

air_cli = AppGroup("air", help="环境空气质量：导入监测数据（日数据或小时数据），站点 AQI、年度评价与规划指标")


@air_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@user_errors
def air_import(path):
    """Import air-quality values (CSV UTF-8/GBK or .xlsx; daily or hourly); a file with any bad row is refused whole."""
    name, data = Path(path).name, Path(path).read_bytes()
    done = air.import_measurements(ctx(), Actor.cli(), name, data)
    click.echo(f"已导入{done['resolution_zh']} {done['n_records']} 条记录（{done['n_values']} 个数值，"
               f"替换原有数值 {done['n_replaced']} 个）：{len(done['stations'])} 个站点，{done['start']} 至 {done['end']}，"
               f"污染物 {'、'.join(done['pollutants'])}")
    if done["ignored_columns"]:
        click.echo(f"未导入的列（派生或说明列）：{'、'.join(done['ignored_columns'])}")


@air_cli.command("report")
@click.option("--district", required=True, help="行政区划代码，如 500111")
@click.option("--date", "day", default=None, help="日 AQI 的日期 YYYY-MM-DD（默认：有数据的最近一日）")
@click.option("--year", default=None, help="年度评价的年份（默认：有数据的最近一年）")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（与 GET /api/districts/{adcode}/air 相同）")
@user_errors
def air_report(district, day, year, as_json):
    """Stations' AQI on a day, their HJ 663 annual assessment and the plan's air indicators for one district."""
    result = air.air_report(ctx(), Actor.cli(), district, day, year, title="空气质量（命令行）")
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
        return
    if result["data"]["is_demo"]:
        click.echo("注意：数据含示意数据（非实测）")
    d, a = result["day"], result["annual"]
    click.echo(f"{d['date']} 日 AQI（{d['edition']['standards']['aqi'] if d['edition'] else '—'}）：")
    for s in d["stations"]:
        click.echo(f"  {s['name']}（{s['level']}）AQI {s['aqi'] if s['aqi'] is not None else '无数据'} {s['category'] or ''} "
                   f"首要污染物 {'、'.join(s['primary_pollutants_zh']) or '—'}")
    click.echo(f"{a['year']} 年评价：")
    for s in a["stations"]:
        click.echo(f"  {s['name']}：{s['status']}，PM2.5 年均 {s['pm25_annual'] if s['pm25_annual'] is not None else '—'} μg/m³，"
                   f"优良天数比例 {s['good_days_ratio'] if s['good_days_ratio'] is not None else '—'}%")
    click.echo(a["city_rule_zh"])
    for c in a["plan_indicators"]:
        click.echo(f"  规划指标 {c['name']}：目标 {c['target_text']}，{c['year']} 年 {c['value'] if c['value'] is not None else '—'} "
                   f"{c['value_unit']} → {c['status']}（规划第 {c['source_line']} 行）")
