"""`flask air import`: air-quality monitoring data (daily or hourly, CSV/Excel) into the air store."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from cli import ctx, user_errors
from geo.air.measurements import stations_from_features
from services.context import Actor
from state.air_measurements import AirMeasurementStore, import_demo_if_empty, import_file

air_cli = AppGroup("air", help="环境空气质量：导入监测数据（日数据或小时数据）")


def air_store(services) -> AirMeasurementStore:
    """The services' air store once it is wired in (``services.air``), else one over the measurements database
    (the same SQLite file or PostgreSQL schema); either way the demo series is loaded first if it never was."""
    store = getattr(services, "air", None) or AirMeasurementStore(services.live.measurements.db)
    import_demo_if_empty(store, stations(services))
    return store


def stations(services) -> list[dict]:
    return stations_from_features(services.live.get().store.read_all("air_station"))


@air_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@user_errors
def air_import(path):
    """Import air-quality values (CSV UTF-8/GBK or .xlsx; daily or hourly); a file with any bad row is refused whole."""
    services = ctx()
    name, data = Path(path).name, Path(path).read_bytes()
    done = import_file(air_store(services), name, data, stations(services))
    services.record(Actor.cli(), "air_import", f"导入环境空气质量{done['resolution_zh']} {done['n_records']} 条（{name}）",
                    {"air_import": done["import_id"]}, data)
    click.echo(f"已导入{done['resolution_zh']} {done['n_records']} 条记录（{done['n_values']} 个数值，"
               f"替换原有数值 {done['n_replaced']} 个）：{len(done['stations'])} 个站点，{done['start']} 至 {done['end']}，"
               f"污染物 {'、'.join(done['pollutants'])}")
    if done["ignored_columns"]:
        click.echo(f"未导入的列（派生或说明列）：{'、'.join(done['ignored_columns'])}")
