"""The worker's lower CPU priority (WORKER_NICE): jobs use what the web server leaves."""

import subprocess
import sys

SCRIPT = (
    "import os, sys; from school_points.ops.worker import lower_priority; before = os.nice(0); "
    "lower_priority(int(sys.argv[1])); print(os.nice(0) - before)"
)


def raised_by(niceness):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(niceness)], capture_output=True, text=True, check=True)
    return int(out.stdout)


def test_the_worker_lowers_its_priority_by_worker_nice():
    assert raised_by(10) == 10


def test_worker_nice_zero_leaves_the_priority_alone():
    assert raised_by(0) == 0


def test_the_default_is_ten(tmp_path, monkeypatch):
    from school_points.platform.config import load_config

    monkeypatch.delenv("WORKER_NICE", raising=False)
    assert load_config(str(tmp_path))["WORKER_NICE"] == 10
    monkeypatch.setenv("WORKER_NICE", "0")
    assert load_config(str(tmp_path))["WORKER_NICE"] == 0
