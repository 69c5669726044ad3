"""`flask layers publish|rollback|history`: official layers from the shell."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from cli import ctx, user_errors
from services import layer_admin
from services.context import Actor

layers_cli = AppGroup("layers", help="正式图层：导入发布、历史、回退 / official layers")


@layers_cli.command("publish")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--district", required=True)
@click.option("--kind", required=True, help="图层类型，见 GET /api/layers（如 redline）")
@click.option("--crs", default=None)
@click.option("--map", "mapping_items", multiple=True, help="attr=源字段，如 name=BHMC")
@click.option("--user", default=None, help="审计中记录的操作者；默认 cli:<系统用户>")
@click.option("--yes", is_flag=True, help="校验通过后直接发布，不再确认")
@user_errors
def layers_publish(path, district, kind, crs, mapping_items, user, yes):
    """Validate a layer file, print the report, and publish it as the new current version."""
    actor = Actor.cli(user)
    staged = layer_admin.stage(ctx(), actor, Path(path).name, Path(path).read_bytes(), district, kind, crs)
    chosen = dict(item.split("=", 1) for item in mapping_items if "=" in item)
    _, _, rep = layer_admin.review(ctx(), staged.token, chosen)
    click.echo(f"要素 {rep['feature_count']} 个；几何 {rep['geometry_types']}；坐标系 {rep['crs'].get('assumed') or rep['crs'].get('as_read')}；"
               f"融合面积 {rep['dissolved_km2']} km²，占区县 {rep['share_of_district_pct']}%；修复 {len(rep['repaired'])} 个；重复 {len(rep['duplicates'])} 个")
    click.echo(f"字段映射：{rep['mapping']}")
    if not rep["ok"]:
        raise click.ClickException("校验未通过：" + "；".join(rep["problems"]))
    if not yes and not click.confirm("发布？"):
        return
    entry = layer_admin.publish(ctx(), actor, staged.token, chosen)
    click.echo(f"已发布 {entry['id']}")


@layers_cli.command("rollback")
@click.option("--district", required=True)
@click.option("--kind", required=True)
@click.option("--to", "version", required=True, help="版本号（如 v0002）或 demo")
@click.option("--user", default=None, help="审计中记录的操作者；默认 cli:<系统用户>")
@user_errors
def layers_rollback(district, kind, version, user):
    """Make an earlier version (or the demo layer) current again."""
    layer_admin.rollback(ctx(), Actor.cli(user), district, kind, version)
    click.echo(f"{district}/{kind} 当前版本：{version}")


@layers_cli.command("history")
@click.option("--district", default=None)
def layers_history(district):
    """Published versions, newest first (* marks the current one)."""
    for v in layer_admin.history(ctx(), district):
        click.echo(f"{'*' if v['current'] else ' '} {v['id']} {v['adcode']}/{v['kind']} {v['created_at']} {v.get('created_by', '')} "
                   f"{v['feature_count']} 个要素 {v['source_name']}")
