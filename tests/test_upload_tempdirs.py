"""Temporary upload folders: private, removed after each upload, and those of a worker killed mid-upload (whose
clean-up never ran) removed at the next start-up; a live process's folder is left alone."""
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from geo.uploads import TEMP_PREFIX, remove_orphan_temp_dirs, temp_dir

ROOT = Path(__file__).resolve().parents[1]


def test_a_killed_workers_folder_is_removed_and_a_live_ones_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    # a worker that made its folder and is then killed (SIGKILL: no finally, no atexit)
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; sys.path.insert(0, sys.argv[1]);"
                              "import tempfile; tempfile.tempdir = sys.argv[2];"
                              "from geo.uploads import temp_dir\n"
                              "with temp_dir() as d:\n (d / 'site.zip').write_bytes(b'x' * 1000); print(d, flush=True); time.sleep(60)",
                              str(ROOT), str(tmp_path)], stdout=subprocess.PIPE, text=True)
    left = Path(child.stdout.readline().strip())
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert left.is_dir() and left.name.startswith(f"{TEMP_PREFIX}{child.pid}-")
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        kept = tmp_path / f"{TEMP_PREFIX}{alive.pid}-upload-x"
        kept.mkdir()
        other = tmp_path / "not-ours-123"
        other.mkdir()
        with temp_dir() as mine:  # this process's own folder, in use
            assert oct(mine.stat().st_mode & 0o777) == "0o700"
            removed = remove_orphan_temp_dirs()
            assert removed == [left.name] and not left.exists()
            assert mine.exists() and kept.exists() and other.exists()
        assert not mine.exists()
    finally:
        alive.kill()


def test_start_up_removes_them(make_app, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    time.sleep(0.1)
    orphan = tmp_path / f"{TEMP_PREFIX}{dead.pid}-upload-abc"
    orphan.mkdir()
    (orphan / "big.shp").write_bytes(b"0" * 1000)
    make_app()
    assert not orphan.exists()
