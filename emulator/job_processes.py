"""Step processes forked from a server that has the container's libraries already imported.

A SageMaker job runs in a container whose image holds numpy, pandas, scikit-learn and pyarrow;
the step's own code comes with the job. Importing those libraries costs a fresh interpreter
about 1.7 s, paid five times per training run. So steps start from a fork server (Python's
`multiprocessing` "forkserver") that imported them once, the way an image carries them
installed: each step is still its own process, with its own environment, working folder, log
and exit code, and can be killed. Nothing of the step's code or the runtime's is preloaded: the
child's import path is reset to the step's code folder and the interpreter's own path.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

# What the processing and training images ship; only third-party libraries.
IMAGE_LIBRARIES = ["numpy", "pandas", "pyarrow", "scipy.stats", "sklearn.ensemble", "joblib"]


@functools.cache
def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(IMAGE_LIBRARIES)
    return context


def warm_up() -> None:
    """Start the fork server now, in the background, as an image is pulled before the first
    job: its one import of the libraries then overlaps the runtime's own start."""
    import multiprocessing.forkserver
    import threading

    def start() -> None:
        _context()
        multiprocessing.forkserver.ensure_running()
        _interpreter_path()

    threading.Thread(target=start, name="step-fork-server", daemon=True).start()


@functools.cache
def _interpreter_path() -> tuple[str, ...]:
    """sys.path of a fresh interpreter without PYTHONPATH: what a step process had."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return tuple(json.loads(out))


def _step_main(argv: list[str], cwd: str, env: dict[str, str], log: str, path: list[str]) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.path[:] = path
    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")


class StepProcess:
    """A step's process: `poll()`, `kill()`, `returncode`, like `subprocess.Popen`."""

    def __init__(self, command: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> None:
        if command[0] != sys.executable:
            raise ValueError(f"a step runs on this interpreter, not {command[0]!r}")
        extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        path = [*extra, *_interpreter_path()]
        self._process = _context().Process(
            target=_step_main,
            args=(command[1:], str(cwd), env, str(log), path),
            daemon=False,  # a step may start processes of its own (joblib)
        )
        self._process.start()

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int | None:
        self._process.join(timeout)
        return self._process.exitcode

    def kill(self) -> None:
        self._process.kill()

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode
