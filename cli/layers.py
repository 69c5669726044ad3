"""`flask layers publish|rollback|history`: official layers from the shell."""
from __future__ import annotations

import os
from pathlib import Path

import click
from flask.cli import AppGroup

from cli import ctx, user_errors
from services import layer_admin
from services.context import Actor

layers_cli = AppGroup("layers", help="正式图层：导入发布、历史、回退 / official layers")


def _mapping(items) -> dict:
    """--map attr=源字段 items as a dict; an item without "=" is refused (it would otherwise be dropped silently)."""
    bad = [item for item in items if "=" not in item or not item.split("=", 1)[0].strip()]
    if bad:
        raise click.UsageError(f"--map 须写作 属性=源字段（如 name=BHMC），无法理解：{'、'.join(bad)} / "
                               f"--map takes attr=FIELD, e.g. name=BHMC; not understood: {', '.join(bad)}")
    return dict((k.strip(), v.strip()) for k, v in (item.split("=", 1) for item in items))


def _source(path, from_postgis, source_url, crs) -> tuple[str, bytes]:
    """(file name, bytes) to stage: the file given, or a PostGIS table or query read into a GeoPackage."""
    if (path is None) == (from_postgis is None):
        raise click.UsageError("请给出一个图层来源：文件 PATH 或 --from-postgis 表名/查询，二者只能选一 / "
                               "give exactly one layer source: a file PATH or --from-postgis TABLE|QUERY")
    if path is not None:
        if source_url:
            raise click.UsageError("--source-url 只与 --from-postgis 一起使用 / --source-url goes with --from-postgis")
        return Path(path).name, Path(path).read_bytes()
    url = source_url or ctx().config.get("DATABASE_URL") or os.environ.get("ZONING_DATABASE_URL")
    if not url:
        raise click.UsageError("未给出 PostGIS 连接：请加 --source-url postgresql://用户@主机/数据库，或设置 DATABASE_URL"
                               "（环境变量 ZONING_DATABASE_URL） / no PostGIS connection: give --source-url or set ZONING_DATABASE_URL")
    from layers.postgis_source import read_postgis_source

    name, data = read_postgis_source(url, from_postgis, crs_given=bool(crs), max_rows=ctx().publish_limits.max_features)
    click.echo(f"已从 PostGIS 读取 {from_postgis if len(from_postgis) <= 80 else from_postgis[:80] + '…'}，作为 {name} 校验"
               f"（{len(data) / 1024:.0f} KB）")
    return name, data


@layers_cli.command("publish")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--from-postgis", "from_postgis", default=None, metavar="SOURCE",
              help="从 PostGIS 读取图层（代替文件）：模式.表名、表名，或以 SELECT / WITH 开头的只读查询")
@click.option("--source-url", "source_url", default=None, metavar="URL",
              help="--from-postgis 的数据库连接，如 postgresql://用户@主机/数据库；默认 DATABASE_URL（ZONING_DATABASE_URL）")
@click.option("--district", required=True)
@click.option("--kind", required=True, help="图层类型，见 GET /api/layers（如 redline）")
@click.option("--crs", default=None)
@click.option("--map", "mapping_items", multiple=True, help="attr=源字段，如 name=BHMC")
@click.option("--admission-list", "admission_list", default=None, type=click.Path(exists=True, dir_okay=False), metavar="FILE.xlsx",
              help="准入清单 Excel（环境管控单元）：每个单元一行，按单元编码填入各维度（空间布局约束等）")
@click.option("--user", default=None, help="审计中记录的操作者；默认 cli:<系统用户>")
@click.option("--yes", is_flag=True, help="校验通过后直接发布，不再确认")
@click.option("--confirm-change", "confirm_change", is_flag=True,
              help="确认校验报告列出的重大变化（面积变化超过 PUBLISH_AREA_CHANGE_PCT，或与规划的占比核对变为不符合）")
@user_errors
def layers_publish(path, from_postgis, source_url, district, kind, crs, mapping_items, admission_list, user, yes, confirm_change):
    """Validate a layer file (or a PostGIS table or query), print the report, and publish it as the new current version."""
    chosen = _mapping(mapping_items)
    actor = Actor.cli(user)
    filename, data = _source(path, from_postgis, source_url, crs)
    admission = (Path(admission_list).name, Path(admission_list).read_bytes()) if admission_list else None
    staged = layer_admin.stage(ctx(), actor, filename, data, district, kind, crs, admission)
    _, _, rep = layer_admin.review(ctx(), staged.token, chosen)
    click.echo(f"要素 {rep['feature_count']} 个；几何 {rep['geometry_types']}；坐标系 {rep['crs'].get('assumed') or rep['crs'].get('as_read')}；"
               f"融合面积 {rep['dissolved_km2']} km²，占区县 {rep['share_of_district_pct']}%；修复 {len(rep['repaired'])} 个；重复 {len(rep['duplicates'])} 个")
    click.echo(f"字段映射：{rep['mapping']}")
    prev = rep["previous"]
    change = f"{prev['area_change_pct']:+.2f}%" if prev["area_change_pct"] is not None else "—"
    click.echo(f"现行版本 {prev['version_label']}：{prev['feature_count']} 个要素，融合面积 {prev['dissolved_km2']} km²；面积变化 {change}"
               f"（阈值 ±{prev['area_change_threshold_pct']:g}%），范围重叠 {prev['bbox_overlap_pct']}%")
    if rep["plan"]:
        p = rep["plan"]
        share = f"{p['computed_pct']:.3f}%" if p["computed_pct"] is not None else "—"
        area = f"，面积 {p['computed_area_km2']:.4f} km² 对规划 {p['plan_area_km2']} km²：{p['area_status']}" if p["plan_area_km2"] else ""
        click.echo(f"与规划比对：占比 {share} 对规划 {p['plan_figure'] or '—'}%：{p['share_status']}{area}")
    _echo_tiling(rep.get("tiling"))
    _echo_admission(rep.get("admission"))
    for w in rep.get("warnings", []):
        click.echo(f"提示：{w}")
    if not rep["ok"]:
        raise click.ClickException("校验未通过：" + "；".join(rep["problems"]))
    for c in rep["changes"]:
        click.echo(f"重大变化：{c['text_zh']}")
    if rep["needs_confirmation"] and not confirm_change:
        raise click.ClickException("与现行版本或规划相比有重大变化（见上），未发布；核对后加 --confirm-change 确认发布")
    if not yes and not click.confirm("发布？"):
        return
    entry = layer_admin.publish(ctx(), actor, staged.token, chosen, rep["confirm_code"] if confirm_change else None)
    click.echo(f"已发布 {entry['id']}：{entry['message_zh']}")


def _echo_tiling(t: dict | None) -> None:
    if not t:
        return
    click.echo(f"铺满检查（容差 {t['tolerance_m2']:g} m²）：单元覆盖区县 {t['coverage_pct']}%；缝隙 {t['gaps_count']} 处 {t['gaps_m2']} m²，"
               f"外缘未覆盖 {t['uncovered_count']} 处 {t['uncovered_m2']} m²，重叠 {t['overlaps_count']} 处 {t['overlaps_m2']} m²；"
               f"区县外 {t['outside_district_m2']} m²")
    for what, rows in (("重叠", t["overlaps"]), ("缝隙", t["gaps"]), ("外缘未覆盖", t["uncovered"])):
        for e in rows[:20]:
            click.echo(f"  {what} {e['area_m2']} m² 于 {e['lon']:.6f}, {e['lat']:.6f}：{'、'.join(e['ids'])}{'等' if e['n_ids'] > len(e['ids']) else ''}")


def _echo_admission(a: dict | None) -> None:
    if not a or a.get("unmatched"):
        return
    click.echo(f"准入清单 {a['source_name']}（工作表 {a['sheet']}，{a['rows']} 行，编码列“{a['code_header']}”，维度列 "
               f"{'、'.join(a['columns'].values())}）：{a['matched_units']} 个单元按编码填入")
    if a["not_in_layer"]:
        click.echo("  清单中有、图层中没有的编码：" + "、".join(f"{m['code']}（第 {m['row']} 行）" for m in a["not_in_layer"]))
    if a["missing_in_list"]:
        click.echo("  图层中有、清单中没有的单元：" + "、".join(m["code"] for m in a["missing_in_list"]))
    if a["duplicates"]:
        click.echo("  清单中重复的编码：" + "、".join(f"{d['code']}（第 {'、'.join(map(str, d['rows']))} 行）" for d in a["duplicates"]))


@layers_cli.command("rollback")
@click.option("--district", required=True)
@click.option("--kind", required=True)
@click.option("--to", "version", required=True, help="任一保留的版本号（如 v0002，较早或较新）或 demo")
@click.option("--user", default=None, help="审计中记录的操作者；默认 cli:<系统用户>")
@user_errors
def layers_rollback(district, kind, version, user):
    """Make any kept version (earlier or later) or the demo layer current."""
    done = layer_admin.rollback(ctx(), Actor.cli(user), district, kind, version)
    click.echo(f"{district}/{kind} 当前版本：{version}（{done['message_zh']}）")


@layers_cli.command("history")
@click.option("--district", default=None)
def layers_history(district):
    """Published versions, newest first (* marks the current one)."""
    for v in layer_admin.history(ctx(), district):
        click.echo(f"{'*' if v['current'] else ' '} {v['id']} {v['adcode']}/{v['kind']} {v['created_at']} {v.get('created_by', '')} "
                   f"{v['feature_count']} 个要素 {v['source_name']}")
