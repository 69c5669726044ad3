"""The jobs of OGC API – Processes in the state database: one table that is both the queue every
worker claims from and the record a client polls, so jobs and results survive a restart and any
worker process (PostgreSQL) runs any job exactly once.

A claim is one atomic statement (SQLite: the write lock of BEGIN IMMEDIATE; PostgreSQL:
FOR UPDATE SKIP LOCKED), and every later write of a running job names the worker holding its
lease, so a dismissed or re-claimed job is never overwritten by a worker that lost it.
"""
from __future__ import annotations

import json
import secrets
import time
import zlib
from dataclasses import dataclass

STATUSES = ("accepted", "running", "successful", "failed", "dismissed")
MAX_ATTEMPTS = 3  # a job whose worker died this many times (e.g. killed for memory) fails instead of being claimed again
_COLUMNS = ("id, process_id, status, message, progress, created_at, started_at, finished_at, updated_at, owner, owner_role, "
            "base_url, result_id, error, worker, attempts")


@dataclass
class Job:
    id: str
    process_id: str
    status: str
    message: str
    progress: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    updated_at: float
    owner: str | None
    owner_role: str | None
    base_url: str
    result_id: str | None
    error: dict | None
    worker: str | None
    attempts: int

    @classmethod
    def of(cls, row) -> "Job":
        job = cls(*row)
        job.error = json.loads(job.error) if job.error else None
        return job


def pack(data: bytes) -> bytes:
    return zlib.compress(data, 6)


def unpack(body) -> bytes:
    return zlib.decompress(bytes(body))


class JobStore:
    def __init__(self, db, retention_days: float):
        self.db = db
        self.retention_s = retention_days * 86400

    def create(self, process_id: str, inputs: bytes, owner: str | None, owner_role: str | None, base_url: str) -> Job:
        """A new accepted job; jobs older than the retention go, as screening results do."""
        now = time.time()
        job_id = secrets.token_urlsafe(16)
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM jobs WHERE created_at < ?", (now - self.retention_s,))
            row = tx.execute("INSERT INTO jobs (id, process_id, status, message, progress, created_at, updated_at, owner, owner_role, "
                             "base_url, inputs) VALUES (?, ?, 'accepted', ?, 0, ?, ?, ?, ?, ?, ?) RETURNING " + _COLUMNS,
                             (job_id, process_id, "已受理，等待执行 / accepted, waiting for a worker", now, now, owner, owner_role,
                              base_url, pack(inputs)))
        return Job.of(row[0])

    def get(self, job_id: str) -> Job | None:
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ? AND created_at >= ?",
                               (str(job_id)[:64], time.time() - self.retention_s))
        return Job.of(rows[0]) if rows else None

    def inputs(self, job_id: str) -> bytes:
        return unpack(self.db.execute("SELECT inputs FROM jobs WHERE id = ?", (job_id,))[0][0])

    def results(self, job_id: str) -> dict | None:
        rows = self.db.execute("SELECT results FROM jobs WHERE id = ? AND status = 'successful'", (str(job_id)[:64],))
        return json.loads(unpack(rows[0][0])) if rows and rows[0][0] is not None else None

    def list(self, owner: str | None, limit: int, everyone: bool = False) -> list[Job]:
        """The newest jobs of owner (everyone: all owners); dismissed jobs are off the list."""
        cutoff = time.time() - self.retention_s
        if everyone:
            rows = self.db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE status <> 'dismissed' AND created_at >= ? "
                                   "ORDER BY created_at DESC LIMIT ?", (cutoff, limit))
        else:
            rows = self.db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE owner = ? AND status <> 'dismissed' AND created_at >= ? "
                                   "ORDER BY created_at DESC LIMIT ?", (owner, cutoff, limit))
        return [Job.of(r) for r in rows]

    def claim(self, worker: str, lease_s: float) -> Job | None:
        """The oldest accepted job, or a running one whose lease expired, now running under worker's lease."""
        now = time.time()
        pick = ("SELECT id FROM jobs WHERE status = 'accepted' OR (status = 'running' AND lease_until < ?) "
                "ORDER BY created_at LIMIT 1" + (" FOR UPDATE SKIP LOCKED" if self.db.dialect == "postgres" else ""))
        with self.db.transaction() as tx:
            rows = tx.execute(
                "UPDATE jobs SET status = 'running', worker = ?, lease_until = ?, started_at = COALESCE(started_at, ?), updated_at = ?, "
                "attempts = attempts + 1, message = ? "
                f"WHERE id = ({pick}) AND (status = 'accepted' OR (status = 'running' AND lease_until < ?)) RETURNING {_COLUMNS}",
                (worker, now + lease_s, now, now, "执行中 / running", now, now))
        if not rows:
            return None
        job = Job.of(rows[0])
        if job.attempts > MAX_ATTEMPTS:
            self.finish(job.id, worker, "failed", message="多次执行中断，不再重试 / the job was interrupted too often",
                        error={"title": f"作业执行中断 {MAX_ATTEMPTS} 次（执行进程退出），不再重试，请重新提交",
                               "detail": f"the job's worker stopped {MAX_ATTEMPTS} times; submit it again", "status": 500})
            return self.claim(worker, lease_s)
        return job

    def renew(self, job_id: str, worker: str, lease_s: float, progress: int | None = None, message: str | None = None) -> bool:
        """Extend the lease (and write progress); False: the job is no longer this worker's (dismissed, re-claimed)."""
        now = time.time()
        rows = self.db.execute("UPDATE jobs SET lease_until = ?, updated_at = ?, progress = COALESCE(?, progress), "
                               "message = COALESCE(?, message) WHERE id = ? AND worker = ? AND status = 'running' RETURNING id",
                               (now + lease_s, now, progress, message, job_id, worker))
        return bool(rows)

    def release(self, job_id: str, worker: str) -> None:
        """A running job given back to the queue (its worker is being stopped)."""
        self.db.execute("UPDATE jobs SET status = 'accepted', worker = NULL, lease_until = NULL, attempts = attempts - 1, updated_at = ?, "
                        "message = ? WHERE id = ? AND worker = ? AND status = 'running'",
                        (time.time(), "已退回队列，等待执行 / back in the queue", job_id, worker))

    def finish(self, job_id: str, worker: str, status: str, *, message: str, results: dict | None = None,
               result_id: str | None = None, error: dict | None = None, inputs: bytes | None = None) -> bool:
        """The end of a running job; False when the worker no longer holds it (its outcome is discarded).
        inputs: the request as kept from now on (without large file contents)."""
        now = time.time()
        body = pack(json.dumps(results, ensure_ascii=False, allow_nan=True).encode()) if results is not None else None
        rows = self.db.execute(
            "UPDATE jobs SET status = ?, message = ?, progress = COALESCE(?, progress), finished_at = ?, updated_at = ?, results = ?, result_id = ?, "
            "error = ?, lease_until = NULL, inputs = COALESCE(?, inputs) WHERE id = ? AND worker = ? AND status = 'running' RETURNING id",
            (status, message, 100 if status == "successful" else None, now, now, body, result_id,
             json.dumps(error, ensure_ascii=False) if error else None, pack(inputs) if inputs is not None else None, job_id, worker))
        return bool(rows)

    def dismiss(self, job_id: str) -> tuple[Job, str | None] | None:
        """Dismissed, its results deleted; (job, the screening result id it had stored) or None if unknown."""
        now = time.time()
        with self.db.transaction() as tx:
            old = tx.execute("SELECT result_id FROM jobs WHERE id = ? AND created_at >= ?", (str(job_id)[:64], now - self.retention_s))
            if not old:
                return None
            rows = tx.execute("UPDATE jobs SET status = 'dismissed', message = ?, results = NULL, result_id = NULL, lease_until = NULL, "
                              "finished_at = COALESCE(finished_at, ?), updated_at = ? WHERE id = ? RETURNING " + _COLUMNS,
                              ("已撤销，结果已删除 / dismissed, results deleted", now, now, job_id))
            if old[0][0]:
                tx.execute("DELETE FROM results WHERE id = ?", (old[0][0],))
        return Job.of(rows[0]), old[0][0]

    def drop_result(self, result_id: str) -> None:
        """A screening result stored by a job that was dismissed while it ran."""
        self.db.execute("DELETE FROM results WHERE id = ?", (result_id,))

    def pending(self) -> bool:
        """Whether any job waits or runs: something a worker may have to claim (now or once a lease expires)."""
        return bool(self.db.execute("SELECT 1 FROM jobs WHERE status IN ('accepted', 'running') LIMIT 1"))
