"""`flask jobs work [--once]`: a standalone worker for OGC API – Processes jobs (e.g. beside web
processes started with JOB_WORKERS=0); it claims jobs from the same database queue as they do."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from cli import ctx, user_errors


@click.group("jobs")
def jobs_cli():
    """OGC API – Processes jobs (作业)."""


@jobs_cli.command("work")
@click.option("--once", is_flag=True, help="run the jobs waiting now, then exit (default: keep polling until Ctrl+C)")
@with_appcontext
@user_errors
def work(once):
    """Claim and run queued jobs in this process (独立作业进程)."""
    ctx()
    runner = current_app.extensions["ogc_jobs"]
    n = runner.work(once=once)
    click.echo(f"已执行 {n} 个作业 / {n} jobs run")
