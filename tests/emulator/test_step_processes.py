"""A step runs in its own process, forked from a server that holds the image's libraries: it
gets exactly its job's environment, folder and import path, its exit code, and can be killed."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from emulator.job_processes import StepProcess

PROBE = """
import json, os, sys
print(json.dumps({
    "env": dict(os.environ),
    "cwd": os.getcwd(),
    "first_path": sys.path[0],
    "pandas_preloaded": "pandas" in sys.modules,
    "runtime_modules": sorted(
        m for m in sys.modules if m.startswith("emulator.") and m != "emulator.job_processes"
    ),
    "tests_on_path": any(p.rstrip("/").endswith("tests") for p in sys.path),
}))
sys.exit(int(sys.argv[1]))
"""


def _run(tmp_path: Path, code: str, *args: str) -> tuple[StepProcess, Path]:
    script = tmp_path / "probe.py"
    script.write_text(code)
    log = tmp_path / "log.txt"
    env = {"PATH": "/usr/bin", "PYTHONPATH": str(tmp_path), "AWS_ACCESS_KEY_ID": "job-role"}
    proc = StepProcess([sys.executable, str(script), *args], cwd=tmp_path, env=env, log=log)
    return proc, log


def test_a_step_sees_only_its_job(tmp_path):
    proc, log = _run(tmp_path, PROBE, "3")
    assert proc.wait(60) == 3
    seen = json.loads(log.read_text().strip().splitlines()[-1])
    assert seen["env"] == {
        "PATH": "/usr/bin",
        "PYTHONPATH": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "job-role",
    }
    assert seen["cwd"] == str(tmp_path) and seen["first_path"] == str(tmp_path)
    assert seen["pandas_preloaded"] is True  # the image's libraries, imported once
    assert seen["runtime_modules"] == [] and seen["tests_on_path"] is False


def test_a_step_that_raises_fails_with_its_traceback_in_the_log(tmp_path):
    proc, log = _run(tmp_path, "raise ValueError('bad input column')\n")
    assert proc.wait(60) == 1
    assert "ValueError: bad input column" in log.read_text()


def test_a_step_can_be_killed(tmp_path):
    proc, _ = _run(tmp_path, "import time\ntime.sleep(60)\n")
    time.sleep(0.5)
    assert proc.poll() is None
    proc.kill()
    assert proc.wait(10) is not None and proc.returncode != 0
